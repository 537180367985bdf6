// Authorization codes on PostgreSQL behave as on LMDB: the same cases against both implementations
// (sweeping, LMDB's own, stays in ../authorization-codes.test.ts). Then, against a real server
// (test/support/postgres.ts), what only a shared database can show: one code redeemed through two
// pools (two replicas) at once, and a server that cannot be reached.
import { describe, expect, it } from 'vitest';
import { sharedDatabases } from '../../../test/support/shared-db.ts';
import { authorizationCodeId, authorizationCodes, type AuthorizationCodeRecord, type AuthorizationCodes } from '../authorization-codes.ts';
import { StoreError } from '../errors.ts';
import { cutOffs, tokenState, type AccessTokenRecord, type FamilyRecord, type RefreshTokenRecord, type TokenState } from '../token-state.ts';
import { postgresAuthorizationCodes } from './authorization-codes.ts';
import { openPool, parseStateUrl } from './connect.ts';
import { sharedDb, type SharedDb } from './db.ts';
import { postgresTokenState } from './token-state.ts';

const pg = sharedDatabases();
const { onCleanup } = pg;

/** A fresh migrated database and `pools` SharedDbs on it, as that many replicas would open. */
async function sharedDatabase(pools = 1): Promise<SharedDb[]> {
  return (await pg.freshDatabase()).replicas(pools);
}

const implementations: { name: string; open(): Promise<{ codes: AuthorizationCodes; tokens: TokenState }> }[] = [
  {
    name: 'LMDB',
    async open() {
      const store = pg.lmdbStore();
      return { codes: authorizationCodes(store), tokens: tokenState(store) };
    },
  },
  {
    name: 'PostgreSQL',
    async open() {
      const [db] = await sharedDatabase();
      return { codes: postgresAuthorizationCodes(db!), tokens: postgresTokenState(db!, { cutOffs: cutOffs(pg.lmdbStore()) }) };
    },
  },
];

const code = (value: string, exp = 1060, sub = 'user:alice', app = 'web'): AuthorizationCodeRecord => ({
  v: 1, id: authorizationCodeId(value), app, clientId: 'web-client', redirectUri: 'https://app.test/cb', codeChallenge: 'c'.repeat(43),
  sub, scope: 'openid', aud: ['https://as.test'], nonce: 'n-1', authTime: 990, iat: 1000, exp, keepUntil: exp, issuedUnder: { application: 0, grants: 0, user: 0 },
});
const grant = (n: number) => {
  const family: FamilyRecord = { v: 1, id: `f${n}`, sub: 'user:alice', iat: 1000, exp: 5000 };
  const refresh: RefreshTokenRecord = { v: 1, id: `r${n}`, clientId: 'web-client', sub: 'user:alice', scope: 'openid', iat: 1000, exp: 5000, family: family.id };
  const access: AccessTokenRecord = { v: 1, jti: `a${n}`, clientId: 'web-client', sub: 'user:alice', scope: 'openid', aud: ['https://as.test'], iat: 1000, exp: 1900, family: family.id };
  return { family, refresh, access };
};

describe.each(implementations)('authorization codes on $name', ({ open }) => {
  it('keep the record as given, found by its hash only', async () => {
    const { codes } = await open();
    await codes.issue(code('the-code'));
    expect(await codes.find('the-code')).toBeUndefined();
    expect(await codes.find(authorizationCodeId('the-code'))).toEqual(code('the-code'));
  });

  it('keep a nonce with any characters the client sent, a NUL included (jsonb refuses \\u0000 as text)', async () => {
    const { codes } = await open();
    const hostile = { ...code('nul-code'), nonce: 'n\u0000-\u0001-\\u0000-\u{1F600}' };
    await codes.issue(hostile);
    expect(await codes.find(authorizationCodeId('nul-code'))).toEqual(hostile);
    expect((await codes.redeem(authorizationCodeId('nul-code'), 1001, 'web', grant(9))).outcome).toBe('redeemed');
    expect(await codes.find(authorizationCodeId('nul-code'))).toMatchObject({ nonce: hostile.nonce, redeemedAt: 1001 });
  });

  it('redeem exactly once among 20 concurrent attempts, writing the winner\'s grant; the replays revoke it', async () => {
    const { codes, tokens } = await open();
    await codes.issue(code('x'));
    const id = authorizationCodeId('x');
    const outcomes = await Promise.all(Array.from({ length: 20 }, (_, n) => codes.redeem(id, 1010, 'web', grant(n))));
    const won = outcomes.findIndex((o) => o.outcome === 'redeemed');
    expect(outcomes.filter((o) => o.outcome === 'redeemed')).toHaveLength(1);
    expect(outcomes.filter((o) => o.outcome === 'replayed')).toHaveLength(19);
    expect((await tokens.family('web', `f${won}`))?.revokedAt).toBe(1010);
    expect(await tokens.accessTokenRevoked('web', `a${won}`)).toBe(true);
    expect(await tokens.accessToken('web', `a${won}`)).toBeUndefined();
    expect(await tokens.family('web', `f${(won + 1) % 20}`)).toBeUndefined();
    expect(await codes.find(id)).toEqual({ ...code('x'), redeemedAt: 1010, issued: { app: 'web', jti: `a${won}`, exp: 1900, family: `f${won}` }, keepUntil: 5000 });
  });

  it('write the grant with the redemption, and a later replay revokes it', async () => {
    const { codes, tokens } = await open();
    await codes.issue(code('y'));
    const id = authorizationCodeId('y');
    expect(await codes.redeem(id, 1010, 'web', grant(1))).toEqual({ outcome: 'redeemed' });
    expect(await tokens.family('web', 'f1')).toEqual(grant(1).family);
    expect(await tokens.refreshToken('web', 'r1')).toEqual(grant(1).refresh);
    expect(await tokens.accessToken('web', 'a1')).toEqual(grant(1).access);
    expect(await codes.redeem(id, 1020, 'web', grant(2))).toEqual({ outcome: 'replayed' });
    expect((await tokens.family('web', 'f1'))?.revokedAt).toBe(1020);
    expect(await tokens.accessTokenRevoked('web', 'a1')).toBe(true);
    expect(await tokens.family('web', 'f2')).toBeUndefined();
    // Everything it issued is revoked already: nothing more to revoke.
    expect(await codes.revokeIssued(id, 1030)).toBe(false);
    expect(await codes.revokeIssued(authorizationCodeId('none'), 1030)).toBe(false);
  });

  it('redeem a code for an access token alone (no refresh token), and a replay revokes that', async () => {
    const { codes, tokens } = await open();
    await codes.issue(code('z'));
    const id = authorizationCodeId('z');
    const { access } = grant(3);
    const alone = { access: { ...access, family: undefined } };
    delete alone.access.family;
    expect(await codes.redeem(id, 1010, 'web', alone)).toEqual({ outcome: 'redeemed' });
    expect(await tokens.accessToken('web', 'a3')).toEqual(alone.access);
    expect((await codes.find(id))?.issued).toEqual({ app: 'web', jti: 'a3', exp: 1900 });
    expect(await codes.revokeIssued(id, 1020)).toBe(true);
    expect(await tokens.accessTokenRevoked('web', 'a3')).toBe(true);
  });

  it('refuse an expired or unknown code and write nothing', async () => {
    const { codes, tokens } = await open();
    await codes.issue(code('old', 1060));
    expect(await codes.redeem(authorizationCodeId('old'), 1060, 'web', grant(1))).toEqual({ outcome: 'expired' });
    expect(await codes.redeem(authorizationCodeId('none'), 1000, 'web', grant(2))).toEqual({ outcome: 'unknown' });
    expect([await tokens.family('web', 'f1'), await tokens.family('web', 'f2'), await tokens.accessToken('web', 'a1')]).toEqual([undefined, undefined, undefined]);
    expect((await codes.find(authorizationCodeId('old')))?.redeemedAt).toBeUndefined();
  });

  it('forget the unredeemed codes a person gave one application, and only those', async () => {
    const { codes } = await open();
    await codes.issue(code('c1'));
    await codes.issue(code('c2'));
    await codes.issue(code('spent'));
    await codes.issue(code('other-app', 1060, 'user:alice', 'billing'));
    await codes.issue(code('other-person', 1060, 'user:bob'));
    await codes.redeem(authorizationCodeId('spent'), 1010, 'web', grant(1));
    expect(await codes.forgetUnredeemed('user:alice', 'web')).toBe(2);
    expect(await codes.forgetUnredeemed('user:alice', 'web')).toBe(0);
    expect(await codes.redeem(authorizationCodeId('c1'), 1010, 'web', grant(2))).toEqual({ outcome: 'unknown' });
    const kept = await Promise.all(['spent', 'other-app', 'other-person'].map((value) => codes.find(authorizationCodeId(value))));
    expect(kept.map((record) => record?.id)).toEqual(['spent', 'other-app', 'other-person'].map(authorizationCodeId));
  });
});

describe('authorization codes on PostgreSQL shared by replicas', () => {
  it('redeem a code exactly once among 20 concurrent attempts through two pools; the replays revoke the winner\'s grant', async () => {
    const dbs = await sharedDatabase(2);
    const store = pg.lmdbStore();
    const [one, two] = dbs.map(postgresAuthorizationCodes);
    const tokens = postgresTokenState(dbs[0]!, { cutOffs: cutOffs(store) });
    await one!.issue(code('x'));
    const id = authorizationCodeId('x');
    const outcomes = await Promise.all(Array.from({ length: 20 }, (_, n) => (n % 2 === 0 ? one! : two!).redeem(id, 1010, 'web', grant(n))));
    const won = outcomes.findIndex((o) => o.outcome === 'redeemed');
    expect(outcomes.filter((o) => o.outcome === 'redeemed')).toHaveLength(1);
    expect(outcomes.filter((o) => o.outcome === 'replayed')).toHaveLength(19);
    expect((await tokens.family('web', `f${won}`))?.revokedAt).toBe(1010);
    expect(await tokens.accessTokenRevoked('web', `a${won}`)).toBe(true);
    const page = await tokens.listTokens('web', { limit: 50 });
    expect([page.access, page.refresh.map((t) => t.id)]).toEqual([[], [`r${won}`]]);
  });

  it('reject every operation with store.unreachable when the server cannot be reached, and say so', async () => {
    const url = parseStateUrl('postgres://mergekey:secret-pw@127.0.0.1:1/mergekey');
    const db = sharedDb(openPool(url, { connectTimeout: 5 }), url);
    onCleanup(() => db.close());
    const codes = postgresAuthorizationCodes(db);
    const id = authorizationCodeId('x');
    for (const operation of [() => codes.issue(code('x')), () => codes.find(id), () => codes.redeem(id, 1010, 'web', grant(1)), () => codes.revokeIssued(id, 1010), () => codes.forgetUnredeemed('user:alice', 'web')]) {
      const error = await operation().then(() => undefined, (err: unknown) => err);
      expect(error instanceof StoreError ? error.code : error).toBe('store.unreachable');
      expect((error as Error).message).not.toContain('secret-pw');
    }
    expect(db.unavailable()).toMatch(/cannot reach PostgreSQL at 127\.0\.0\.1:1/);
  });
});
