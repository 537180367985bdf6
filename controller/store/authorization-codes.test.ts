import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { authorizationCodeId, authorizationCodes, type AuthorizationCodeRecord, type AuthorizationCodes } from './authorization-codes.ts';
import { openHandles, type StoreHandles } from './handles.ts';
import { Sweeper } from './sweeper.ts';
import { tokenState, type AccessTokenRecord, type FamilyRecord, type RefreshTokenRecord, type TokenState } from './token-state.ts';

let dir: string;
let store: StoreHandles;
let codes: AuthorizationCodes;
let tokens: TokenState;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mergekey-codes-'));
  store = openHandles(dir);
  codes = authorizationCodes(store);
  tokens = tokenState(store);
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const code = (value: string, exp = 1060): AuthorizationCodeRecord => ({
  v: 1, id: authorizationCodeId(value), app: 'web', clientId: 'web-client', redirectUri: 'https://app.test/cb', codeChallenge: 'c'.repeat(43),
  sub: 'user:alice', scope: 'openid', aud: ['https://as.test'], authTime: 990, iat: 1000, exp, keepUntil: exp, issuedUnder: { application: 0, grants: 0, user: 0 },
});
const grant = (n: number) => {
  const family: FamilyRecord = { v: 1, id: `f${n}`, sub: 'user:alice', iat: 1000, exp: 5000 };
  const refresh: RefreshTokenRecord = { v: 1, id: `r${n}`, clientId: 'web-client', sub: 'user:alice', scope: 'openid', iat: 1000, exp: 5000, family: family.id };
  const access: AccessTokenRecord = { v: 1, jti: `a${n}`, clientId: 'web-client', sub: 'user:alice', scope: 'openid', aud: ['https://as.test'], iat: 1000, exp: 1900, family: family.id };
  return { family, refresh, access };
};

describe('authorization codes', () => {
  it('are kept under their hash only', async () => {
    await codes.issue(code('the-code'));
    expect(store.authorizationCodes.get('the-code')).toBeUndefined();
    expect((await codes.find(authorizationCodeId('the-code')))?.clientId).toBe('web-client');
  });

  it('redeem exactly once among 20 concurrent attempts, writing the winner\'s grant; the replays revoke it', async () => {
    await codes.issue(code('x'));
    const id = authorizationCodeId('x');
    const outcomes = await Promise.all(Array.from({ length: 20 }, (_, n) => codes.redeem(id, 1010, 'web', grant(n))));
    const won = outcomes.findIndex((o) => o.outcome === 'redeemed');
    expect(outcomes.filter((o) => o.outcome === 'redeemed')).toHaveLength(1);
    expect(outcomes.filter((o) => o.outcome === 'replayed')).toHaveLength(19);
    // Only the winner's records were written, and the replays revoked them.
    expect((await tokens.family('web', `f${won}`))?.revokedAt).toBe(1010);
    expect(await tokens.accessTokenRevoked('web', `a${won}`)).toBe(true);
    expect(await tokens.family('web', `f${(won + 1) % 20}`)).toBeUndefined();
    expect(await codes.find(id)).toMatchObject({ redeemedAt: 1010, issued: { app: 'web', jti: `a${won}`, exp: 1900, family: `f${won}` }, keepUntil: 5000 });
  });

  it('refuse an expired or unknown code and write nothing', async () => {
    await codes.issue(code('old', 1060));
    expect(await codes.redeem(authorizationCodeId('old'), 1060, 'web', grant(1))).toEqual({ outcome: 'expired' });
    expect(await codes.redeem(authorizationCodeId('none'), 1000, 'web', grant(2))).toEqual({ outcome: 'unknown' });
    expect([await tokens.family('web', 'f1'), await tokens.family('web', 'f2')]).toEqual([undefined, undefined]);
  });

  it('are swept once expired, and a redeemed one only once what it issued has expired', async () => {
    await codes.issue(code('unused', 1060));
    await codes.issue(code('used', 1060));
    await codes.redeem(authorizationCodeId('used'), 1010, 'web', grant(1));
    const sweeper = new Sweeper(store);
    await sweeper.sweep(1100);
    expect(await codes.find(authorizationCodeId('unused'))).toBeUndefined();
    expect(await codes.find(authorizationCodeId('used'))).toBeDefined();
    await sweeper.sweep(5000);
    expect(await codes.find(authorizationCodeId('used'))).toBeUndefined();
  });
});
