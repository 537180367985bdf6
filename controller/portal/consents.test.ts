// Remembered consents as the portal judges them, over a real LMDB store: what covers a request,
// and that a consent does not outlive its user (a User removed and restored by a revert, or a
// new person of the same name, inherits none), as sessions and tokens do not.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configWriter } from '../store/config.ts';
import { handlesOf } from '../store/handles.ts';
import { openStore, type Store } from '../store/open.ts';
import { AUTHORIZATION_CODE_VERSION, authorizationCodeId, type AuthorizationCodeRecord } from '../store/authorization-codes.ts';
import type { UserRecord } from '../store/records.ts';
import { TOKEN_STATE_VERSION, type AccessTokenRecord } from '../store/token-state.ts';
import { PortalConsents } from './consents.ts';

let dir: string;
let store: Store;
let consents: PortalConsents;
const now = Date.parse('2026-01-05T09:00:00Z');

const user = (name: string, passwordSealed: string): UserRecord => ({
  v: 1, name, path: `users/${name}.yaml`, commit: 'c'.repeat(40), spec: { roles: ['developer'] }, passwordHash: 'scrypt$x', passwordSealed,
});

/** A transaction of the reconciler's apply, the only writer of cut-offs. */
function apply(change: (writer: ReturnType<typeof configWriter>) => void): void {
  const handles = handlesOf(store);
  handles.root.transactionSync(() => change(configWriter(handles, () => now)));
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mergekey-portal-consents-'));
  store = openStore(dir);
  consents = new PortalConsents({ consents: store.consents, codes: store.codes, tokens: store.tokens, now: () => now });
});

afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A code `user` gave `app` at `now`, as the authorization endpoint stores it. */
function code(value: string, user: string, app: string): AuthorizationCodeRecord {
  const iat = Math.floor(now / 1000);
  return {
    v: AUTHORIZATION_CODE_VERSION, id: authorizationCodeId(value), app, clientId: `mk_${app}`, redirectUri: `https://${app}.example.com/callback`,
    codeChallenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', sub: `user:${user}`, scope: 'openid', aud: [], authTime: iat, iat, exp: iat + 60,
    keepUntil: iat + 60, issuedUnder: { application: 0, grants: 0 },
  };
}

describe('remembered consents', () => {
  it('cover a request for the same scopes or fewer, not one for a scope outside them', async () => {
    apply((writer) => writer.putUser(user('erin', 'sealed-1')));
    await consents.remember('erin', 'webshop', ['openid', 'profile']);
    expect(await consents.covers('erin', 'webshop', ['openid', 'profile'])).toBe(true);
    expect(await consents.covers('erin', 'webshop', ['profile'])).toBe(true);
    expect(await consents.covers('erin', 'webshop', [])).toBe(true);
    expect(await consents.covers('erin', 'webshop', ['openid', 'email'])).toBe(false);
    expect(await consents.covers('erin', 'other', ['openid'])).toBe(false);
    expect(await consents.covers('frank', 'webshop', ['openid'])).toBe(false);
  });

  it('end when their user is removed and restored, or given a new password, after they were given', async () => {
    apply((writer) => writer.putUser(user('gina', 'sealed-1')));
    await consents.remember('gina', 'webshop', ['openid']);
    apply((writer) => writer.putUser({ ...user('gina', 'sealed-1'), commit: 'd'.repeat(40) }));
    // Another edit of the manifest (same password) changes nothing.
    expect(await consents.covers('gina', 'webshop', ['openid'])).toBe(true);
    apply((writer) => {
      writer.delete('User', 'gina');
      writer.putUser(user('gina', 'sealed-2'));
    });
    expect(await consents.get('gina', 'webshop')).toBeUndefined();
    expect(await consents.list('gina')).toEqual([]);
    expect(await consents.covers('gina', 'webshop', ['openid'])).toBe(false);
    // Agreed to again, it holds.
    await consents.remember('gina', 'webshop', ['openid']);
    expect(await consents.covers('gina', 'webshop', ['openid'])).toBe(true);
  });

  it('take the codes not yet exchanged with them when withdrawn, so none can still be exchanged for a token', async () => {
    apply((writer) => writer.putUser(user('gina', 'sealed-1')));
    await consents.remember('gina', 'webshop', ['openid']);
    const pending = code('code-gina-webshop', 'gina', 'webshop');
    const spent = code('code-gina-webshop-spent', 'gina', 'webshop');
    const otherApp = code('code-gina-other', 'gina', 'other');
    const otherUser = code('code-hugo-webshop', 'hugo', 'webshop');
    for (const record of [pending, spent, otherApp, otherUser]) await store.codes.issue(record);
    const iat = Math.floor(now / 1000);
    const access: AccessTokenRecord = { v: TOKEN_STATE_VERSION, jti: 'at-gina-spent', clientId: 'mk_webshop', sub: 'user:gina', scope: 'openid', aud: [], iat, exp: iat + 300 };
    expect(await store.codes.redeem(spent.id, iat, 'webshop', { access })).toEqual({ outcome: 'redeemed' });

    expect(await consents.withdraw('gina', 'webshop')).toBe(true);

    expect(await store.codes.find(pending.id)).toBeUndefined();
    expect(await store.codes.redeem(pending.id, iat, 'webshop', { access: { ...access, jti: 'at-gina-late' } })).toEqual({ outcome: 'unknown' });
    // The exchanged code stays, so a replay still revokes what it gave; and what it gave is revoked now.
    expect((await store.codes.find(spent.id))?.redeemedAt).toBe(iat);
    expect(await store.tokens.accessTokenRevoked('webshop', 'at-gina-spent')).toBe(true);
    // Another application's code, and another person's, are untouched.
    expect(await store.codes.find(otherApp.id)).toEqual(otherApp);
    expect(await store.codes.find(otherUser.id)).toEqual(otherUser);
  });

  it('take what a sign-in got while the withdrawal was under way: the consent covered it until its record went', async () => {
    apply((writer) => writer.putUser(user('ivan', 'sealed-1')));
    await consents.remember('ivan', 'webshop', ['openid']);
    const iat = Math.floor(now / 1000);
    const during = code('code-ivan-during', 'ivan', 'webshop');
    const unused = code('code-ivan-unused', 'ivan', 'webshop');
    const access: AccessTokenRecord = { v: TOKEN_STATE_VERSION, jti: 'at-ivan-during', clientId: 'mk_webshop', sub: 'user:ivan', scope: 'openid', aud: [], iat, exp: iat + 300 };
    // Between the first revocation and the record's removal, a sign-in the consent still covers
    // is given two codes, and exchanges one.
    const racing = new PortalConsents({
      consents: {
        ...store.consents,
        async withdraw(user, app) {
          for (const record of [during, unused]) await store.codes.issue(record);
          expect(await store.codes.redeem(during.id, iat, 'webshop', { access })).toEqual({ outcome: 'redeemed' });
          return store.consents.withdraw(user, app);
        },
      },
      codes: store.codes,
      tokens: store.tokens,
      now: () => now,
    });
    expect(await racing.withdraw('ivan', 'webshop')).toBe(true);
    expect(await store.tokens.accessTokenRevoked('webshop', 'at-ivan-during')).toBe(true);
    expect(await store.codes.find(unused.id)).toBeUndefined();
  });
});
