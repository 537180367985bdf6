import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calculateJwkThumbprint, compactVerify, exportJWK, generateKeyPair } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../store/open.ts';
import type { SigningAlg } from './defaults.ts';
import { SigningKeys } from './signing-keys.ts';

const HOUR = 3_600_000;
const WRAP_KEY = new Uint8Array(32).fill(7);
let dir: string;
let store: Store;
let clock: number;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mergekey-keys-'));
  store = openStore(dir);
  clock = Date.UTC(2030, 0, 1);
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A process's view of the keyring; two of them over one store act as two workers. */
function worker(alg: SigningAlg = 'ES256', retention = 2 * HOUR): SigningKeys {
  return new SigningKeys(store.keyring, {
    alg, rotationInterval: 24 * HOUR, retention: () => retention, now: () => clock, onError: (err) => { throw err; }, wrapKey: WRAP_KEY,
  });
}
const kids = (keys: SigningKeys) => (keys.jwks().keys as { kid: string }[]).map((key) => key.kid);

describe('signing keys', () => {
  it('start with a current key and a next one, both published, private parts never', async () => {
    const keys = worker();
    await keys.start();
    const published = keys.jwks().keys;
    expect(published).toHaveLength(2);
    for (const key of published) {
      expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
      expect(key).not.toHaveProperty('d');
    }
    expect(kids(keys)).toContain(keys.signer().kid);
  });

  it('rotate to the key published a period ahead, keep the old one until its tokens expire, then drop it', async () => {
    const keys = worker();
    await keys.start();
    const first = keys.signer().kid;
    const upcoming = kids(keys).find((kid) => kid !== first)!;
    const token = await keys.signer().sign({ sub: 'x' });
    clock += 24 * HOUR;
    await keys.maintain();
    expect(keys.signer().kid).toBe(upcoming);
    expect(kids(keys)).toHaveLength(3);
    // A token the retired key signed still verifies.
    const retired = await keys.verificationKey(first);
    expect((await compactVerify(token, retired!.key)).protectedHeader).toMatchObject({ kid: first, typ: 'at+jwt' });
    clock += 2 * HOUR;
    await keys.maintain();
    expect(kids(keys)).not.toContain(first);
    expect(await keys.verificationKey(first)).toBeUndefined();
  });

  it('rotate once when two processes notice at the same time, and the other adopts the result', async () => {
    const [a, b] = [worker(), worker()];
    await a.start();
    await b.start();
    expect(b.signer().kid).toBe(a.signer().kid);
    clock += 25 * HOUR;
    await Promise.all([a.maintain(), b.maintain()]);
    expect(b.signer().kid).toBe(a.signer().kid);
    expect(kids(b)).toEqual(kids(a));
    expect(kids(a)).toHaveLength(3);
  });

  it('let another process verify a token signed with a key it has not loaded yet', async () => {
    const [a, b] = [worker(), worker()];
    await a.start();
    await b.start();
    clock += 25 * HOUR;
    await a.maintain();
    const token = await a.signer().sign({ sub: 'x' });
    const found = await b.verificationKey(a.signer().kid);
    expect((await compactVerify(token, found!.key)).protectedHeader.kid).toBe(a.signer().kid);
  });

  it('switch algorithm at once when the configured one changes, keeping the key that signed published', async () => {
    await worker('ES256').start();
    const keys = worker('EdDSA');
    await keys.start();
    expect(keys.signer().alg).toBe('EdDSA');
    // The retired ES256 key, the current EdDSA key and the next one; the unused ES256 `next` is gone.
    expect((keys.jwks().keys as { alg: string }[]).map((key) => key.alg).sort()).toEqual(['ES256', 'EdDSA', 'EdDSA']);
  });

  it('sign RS256 when asked, as RFC 9068 requires support for it', async () => {
    const keys = worker('RS256');
    await keys.start();
    const token = await keys.signer().sign({ sub: 'x' });
    const key = await keys.verificationKey(keys.signer().kid);
    expect((await compactVerify(token, key!.key)).protectedHeader.alg).toBe('RS256');
  });

  it('re-encrypt a keyring written in the clear by an older server, keeping its keys', async () => {
    // What a store written before private keys were encrypted holds.
    const legacyKey = async (state: 'current' | 'next') => {
      const pair = await generateKeyPair('ES256', { extractable: true });
      const publicJwk = await exportJWK(pair.publicKey);
      const kid = await calculateJwkThumbprint(publicJwk);
      return { kid, alg: 'ES256', publicJwk: { ...publicJwk, kid, alg: 'ES256', use: 'sig' }, privateJwk: { ...(await exportJWK(pair.privateKey)), kid, alg: 'ES256' }, state, createdAt: clock, activatedAt: clock };
    };
    const legacy = [await legacyKey('current'), await legacyKey('next')];
    expect(await store.keyring.replaceKeyring(undefined, { v: 1, version: 1, keys: legacy })).toBe(true);

    const keys = worker();
    await keys.start();
    expect(keys.signer().kid).toBe(legacy[0]!.kid);
    expect(kids(keys)).toEqual(legacy.map((key) => key.kid));
    const stored = (await store.keyring.keyring())!;
    for (const key of stored.keys) {
      expect(key).not.toHaveProperty('privateJwk');
      expect(key.sealedPrivateJwk).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
    }
    const token = await keys.signer().sign({ sub: 'x' });
    expect((await compactVerify(token, (await keys.verificationKey(legacy[0]!.kid))!.key)).protectedHeader.kid).toBe(legacy[0]!.kid);
  });

  it('refuse to start over a keyring encrypted under another data directory\'s keys, without showing any key', async () => {
    await worker().start();
    const other = new SigningKeys(store.keyring, {
      alg: 'ES256', rotationInterval: 24 * HOUR, retention: () => 2 * HOUR, now: () => clock, onError: (err) => { throw err; }, wrapKey: new Uint8Array(32).fill(8),
    });
    const error = (await other.start().catch((err: unknown) => err)) as Error;
    const current = (await store.keyring.keyring())!.keys.find((key) => key.state === 'current')!;
    expect(error.message).toBe(`signing key ${current.kid} cannot be decrypted with this data directory's keys/ (a store from another controller?)`);
  });
});
