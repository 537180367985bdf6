// The keyring store on both backends (describe.each): a replacement lands only from the version it
// was read at, and on PostgreSQL (test/support/postgres.ts, a real server) also when replicas race
// over separate pools, a ring with a private key in the clear is never written, and an unreachable
// server is a StoreError that leaves the ring as it was. The rotation itself, across two replicas'
// SigningKeys, is in controller/oauth/signing-keys-replicas.test.ts.
import { describe, expect, it } from 'vitest';
import { freePort } from '../../../test/support/postgres.ts';
import { sharedDatabases } from '../../../test/support/shared-db.ts';
import { StoreError } from '../errors.ts';
import { keyringStore, type Keyring, type KeyringStore } from '../keyring.ts';
import { openPool, parseStateUrl } from './connect.ts';
import { sharedDb } from './db.ts';
import { postgresKeyring } from './keyring.ts';

const pg = sharedDatabases();
const { onCleanup } = pg;

const ring = (version: number, kid = `k${version}`): Keyring => ({
  v: 1,
  version,
  keys: [{ kid, alg: 'ES256', publicJwk: { kty: 'EC', kid }, sealedPrivateJwk: `v1.sealed.${kid}`, state: 'current', createdAt: 1000 }],
});

const backends: [string, () => Promise<KeyringStore>][] = [
  ['LMDB', async () => {
    const handles = pg.lmdbStore();
    return keyringStore(handles);
  }],
  ['PostgreSQL', async () => postgresKeyring((await pg.freshDatabase()).connect())],
];

describe.each(backends)('the keyring store on %s', (_name, open) => {
  it('replaces the keyring only from the version it was read at', async () => {
    const keyring = await open();
    expect(await keyring.keyring()).toBeUndefined();
    expect(await keyring.replaceKeyring(undefined, ring(1))).toBe(true);
    expect(await keyring.replaceKeyring(undefined, ring(2, 'late'))).toBe(false);
    expect(await keyring.replaceKeyring(2, ring(3, 'stale'))).toBe(false);
    expect(await keyring.replaceKeyring(1, ring(2))).toBe(true);
    expect(await keyring.keyring()).toEqual(ring(2));
  });
});

describe('the keyring on PostgreSQL', () => {
  it('lets exactly one of several replicas (separate pools) replace a version, and all read the winner', async () => {
    const { connect } = await pg.freshDatabase();
    const replicas = Array.from({ length: 6 }, () => postgresKeyring(connect()));
    const first = await Promise.all(replicas.map((replica, i) => replica.replaceKeyring(undefined, ring(1, `first-${i}`))));
    expect(first.filter(Boolean)).toHaveLength(1);
    const next = await Promise.all(replicas.map((replica, i) => replica.replaceKeyring(1, ring(2, `next-${i}`))));
    expect(next.filter(Boolean)).toHaveLength(1);
    const winner = `next-${next.indexOf(true)}`;
    for (const replica of replicas) expect(await replica.keyring()).toEqual(ring(2, winner));
  });

  it('never sends a private key in the clear, and the table refuses one written around it', async () => {
    const { name, connect } = await pg.freshDatabase();
    const keyring = postgresKeyring(connect());
    await keyring.replaceKeyring(undefined, ring(1));
    const clear: Keyring = { ...ring(2), keys: [{ ...ring(2).keys[0]!, sealedPrivateJwk: undefined, privateJwk: { kty: 'EC', d: 'secret-scalar' } } as never] };
    await expect(keyring.replaceKeyring(1, clear)).rejects.toThrow(/signing key k2 is not sealed/);
    await expect(pg.cluster.psql(`UPDATE signing_keyring SET version = 2, keyring = '${JSON.stringify(clear)}'`, name)).rejects.toThrow(/signing_keyring_keyring_check/);
    expect(await keyring.keyring()).toEqual(ring(1));
    expect(await pg.cluster.psql('SELECT keyring::text FROM signing_keyring', name)).not.toContain('secret-scalar');
  });

  it('reports an unreachable server as store.unreachable and writes nothing', async () => {
    const { connect } = await pg.freshDatabase();
    const keyring = postgresKeyring(connect());
    await keyring.replaceKeyring(undefined, ring(1));
    const url = parseStateUrl(pg.cluster.url('postgres'));
    url.port = String(await freePort());
    const down = sharedDb(openPool(url, { connectTimeout: 2 }), url);
    onCleanup(() => down.close());
    const unreachable = postgresKeyring(down);

    for (const call of [unreachable.keyring(), unreachable.replaceKeyring(1, ring(2))]) {
      const error = await call.then(() => undefined, (err: unknown) => err);
      expect(error).toBeInstanceOf(StoreError);
      expect((error as StoreError).code).toBe('store.unreachable');
      expect((error as StoreError).message).not.toContain(pg.cluster.password);
    }
    expect(down.unavailable()).toMatch(/cannot reach PostgreSQL at 127\.0\.0\.1:\d+/);
    expect(await keyring.keyring()).toEqual(ring(1));
  });
});
