// Remembered consents on PostgreSQL behave as on LMDB: the same cases against both implementations
// (the LMDB-only one, a record of another version, stays in ../consents.test.ts), against a real
// server (test/support/postgres.ts).
import { describe, expect, it } from 'vitest';
import { sharedDatabases } from '../../../test/support/shared-db.ts';
import { CONSENT_VERSION, consentStore, type Consents } from '../consents.ts';
import { StoreError } from '../errors.ts';
import { openPool, parseStateUrl } from './connect.ts';
import { postgresConsents } from './consents.ts';
import { sharedDb } from './db.ts';

const pg = sharedDatabases();
const { onCleanup } = pg;

const implementations: { name: string; open(): Promise<Consents> }[] = [
  {
    name: 'LMDB',
    async open() {
      const store = pg.lmdbStore();
      return consentStore(store);
    },
  },
  {
    name: 'PostgreSQL',
    async open() {
      const [db] = await (await pg.freshDatabase()).replicas();
      return postgresConsents(db!);
    },
  },
];

const at = Date.parse('2026-01-05T09:00:00Z');

describe.each(implementations)('remembered consents on $name', ({ open }) => {
  it('keep exactly the set agreed to last, sorted and without duplicates, not the union of every grant', async () => {
    const consents = await open();
    expect(await consents.grant('alice', 'billing', ['profile', 'openid', 'openid'], at, 3))
      .toEqual({ v: CONSENT_VERSION, user: 'alice', app: 'billing', scopes: ['openid', 'profile'], grantedAt: at, userGeneration: 3 });
    expect(await consents.get('alice', 'billing')).toEqual({ v: CONSENT_VERSION, user: 'alice', app: 'billing', scopes: ['openid', 'profile'], grantedAt: at, userGeneration: 3 });
    await consents.grant('alice', 'billing', ['openid', 'email'], at + 1000, 4);
    expect(await consents.get('alice', 'billing')).toEqual({ v: CONSENT_VERSION, user: 'alice', app: 'billing', scopes: ['email', 'openid'], grantedAt: at + 1000, userGeneration: 4 });
    expect(await consents.get('alice', 'orders')).toBeUndefined();
  });

  it('mark a first-party sign-in, and a later consent the person gave replaces it', async () => {
    const consents = await open();
    await consents.grant('alice', 'portal', ['openid'], at, 1, true);
    expect(await consents.get('alice', 'portal')).toEqual({ v: CONSENT_VERSION, user: 'alice', app: 'portal', scopes: ['openid'], grantedAt: at, userGeneration: 1, firstParty: true });
    await consents.grant('alice', 'portal', ['openid'], at + 1, 1);
    expect(await consents.get('alice', 'portal')).toEqual({ v: CONSENT_VERSION, user: 'alice', app: 'portal', scopes: ['openid'], grantedAt: at + 1, userGeneration: 1 });
  });

  it('list one user’s consents only, by application, not those of a user whose name starts with theirs', async () => {
    const consents = await open();
    await consents.grant('bob', 'zeta', ['openid'], at, 0);
    await consents.grant('bob', 'alpha', ['openid'], at, 0);
    await consents.grant('bob', 'Beta', ['openid'], at, 0);
    await consents.grant('bobby', 'alpha', ['openid'], at, 0);
    await consents.grant('bob-2', 'alpha', ['openid'], at, 0);
    expect((await consents.list('bob')).map((record) => `${record.user}/${record.app}`)).toEqual(['bob/Beta', 'bob/alpha', 'bob/zeta']);
    expect((await consents.list('bobby')).map((record) => record.app)).toEqual(['alpha']);
    expect(await consents.list('nobody')).toEqual([]);
  });

  it('withdraw one (true once, then false), leaving the others', async () => {
    const consents = await open();
    await consents.grant('carol', 'one', ['openid'], at, 0);
    await consents.grant('carol', 'two', ['openid'], at, 0);
    expect(await consents.withdraw('carol', 'one')).toBe(true);
    expect(await consents.withdraw('carol', 'one')).toBe(false);
    expect(await consents.get('carol', 'one')).toBeUndefined();
    expect((await consents.list('carol')).map((record) => record.app)).toEqual(['two']);
  });
});

describe('remembered consents on PostgreSQL', () => {
  it('reject every operation with store.unreachable when the server cannot be reached', async () => {
    // Port 1 on loopback: nothing listens there.
    const url = parseStateUrl('postgres://mergekey:secret-pw@127.0.0.1:1/mergekey');
    const db = sharedDb(openPool(url, { connectTimeout: 5 }), url);
    onCleanup(() => db.close());
    const consents = postgresConsents(db);
    for (const operation of [() => consents.get('alice', 'billing'), () => consents.grant('alice', 'billing', ['openid'], at, 0), () => consents.list('alice'), () => consents.withdraw('alice', 'billing')]) {
      const error = await operation().then(() => undefined, (err: unknown) => err);
      expect(error instanceof StoreError ? error.code : error).toBe('store.unreachable');
      expect((error as Error).message).not.toContain('secret-pw');
    }
    expect(db.unavailable()).toMatch(/cannot reach PostgreSQL at 127\.0\.0\.1:1/);
  });
});
