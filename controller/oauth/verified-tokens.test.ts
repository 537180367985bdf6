// The memory of verified access tokens (verified-tokens.ts) as verifyAccessToken uses it: a token
// verified once is not verified again, and still everything that can change is checked on every
// call. (Revocation after a remembered introspection: rfc7009-revocation.test.ts; expiry after one:
// rfc7662-introspection.test.ts, both through the HTTP endpoints.)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair, SignJWT } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../store/open.ts';
import { verifyAccessToken, type AccessTokenClaims } from './access-token.ts';
import { SigningKeys } from './signing-keys.ts';
import { VerifiedTokens } from './verified-tokens.ts';

const HOUR = 3_600_000;
const ISSUER = 'https://auth.example.com';
let dir: string;
let store: Store;
let clock: number;
let keys: SigningKeys;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mergekey-verified-'));
  store = openStore(dir);
  clock = Date.UTC(2030, 0, 1);
  keys = new SigningKeys(store.keyring, {
    alg: 'ES256', rotationInterval: 24 * HOUR, retention: () => 2 * HOUR, now: () => clock, onError: (err) => { throw err; },
    wrapKey: new Uint8Array(32).fill(7),
  });
  await keys.start();
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

let counter = 0;
/** A token our current key signs, valid for `lifetime` seconds from the clock. */
function sign(lifetime = 600, extra: Record<string, unknown> = {}): Promise<string> {
  const iat = Math.floor(clock / 1000);
  const claims: AccessTokenClaims = {
    iss: ISSUER, sub: 'client:c1', aud: 'https://api.example.com', client_id: 'c1', scope: 'orders:read', iat, exp: iat + lifetime, jti: `jti-${++counter}`,
  };
  return keys.signer().sign({ ...claims, ...extra });
}
const verify = (token: string, verified: VerifiedTokens) => verifyAccessToken(token, keys, ISSUER, clock, verified);

describe('verified access tokens', () => {
  it('answer a token verified before from memory: the very claims of its first verification', async () => {
    const verified = new VerifiedTokens();
    const token = await sign();
    const first = await verify(token, verified);
    expect(first).toMatchObject({ client_id: 'c1', scope: 'orders:read', iss: ISSUER });
    expect(verified.size).toBe(1);
    // The same object: the second answer came from memory, not from a second verification.
    expect(await verify(token, verified)).toBe(first);
    // Without the memory, each verification parses afresh.
    expect(await verifyAccessToken(token, keys, ISSUER, clock)).not.toBe(first);
  });

  it('keep at most their capacity, the oldest going first', async () => {
    const verified = new VerifiedTokens(2);
    const [a, b, c] = [await sign(), await sign(), await sign()];
    const first = await verify(a, verified);
    await verify(b, verified);
    await verify(c, verified);
    expect(verified.size).toBe(2);
    const again = await verify(a, verified);
    expect(again).toEqual(first);
    expect(again).not.toBe(first);
    expect(verified.size).toBe(2);
  });

  it('still expire: a remembered token is refused once the clock passes its exp, and forgotten', async () => {
    const verified = new VerifiedTokens();
    const token = await sign(60);
    expect(await verify(token, verified)).toBeDefined();
    clock += 59_999;
    expect(await verify(token, verified)).toBeDefined();
    clock += 1;
    expect(await verify(token, verified)).toBeUndefined();
    expect(verified.size).toBe(0);
  });

  it('remember a token with a not-before claim only once it is valid', async () => {
    const verified = new VerifiedTokens();
    const token = await sign(600, { nbf: Math.floor(clock / 1000) + 10 });
    expect(await verify(token, verified)).toBeUndefined();
    expect(verified.size).toBe(0);
    clock += 10_000;
    const valid = await verify(token, verified);
    expect(valid).toBeDefined();
    expect(await verify(token, verified)).toBe(valid);
  });

  it('end with their key: once its key is pruned from the keyring, a remembered token is refused', async () => {
    const verified = new VerifiedTokens();
    // Lives longer than the key is kept (not a token this server would sign, but a signature it made).
    const token = await sign(7 * 24 * 3600);
    expect(await verify(token, verified)).toBeDefined();
    clock += 24 * HOUR;
    await keys.maintain();
    expect(await verify(token, verified)).toBeDefined();
    clock += 2 * HOUR;
    await keys.maintain();
    expect(await verify(token, verified)).toBeUndefined();
    expect(verified.size).toBe(0);
  });

  it('never remember what did not verify: a forgery, a token of another key, a malformed one', async () => {
    const verified = new VerifiedTokens();
    const token = await sign();
    const [header, payload] = token.split('.') as [string, string];
    const forged = `${header}.${payload}.${Buffer.alloc(64).toString('base64url')}`;
    const foreignKey = await generateKeyPair('ES256');
    const foreign = await new SignJWT({ client_id: 'c1', scope: 'orders:read', jti: 'x', sub: 'client:c1', aud: 'a' })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: keys.signer().kid }).setIssuer(ISSUER).setIssuedAt().setExpirationTime('10m')
      .sign(foreignKey.privateKey);
    for (const candidate of [forged, forged, foreign, foreign, 'not.a.jwt']) expect(await verify(candidate, verified)).toBeUndefined();
    expect(verified.size).toBe(0);
  });

  it('refuse a capacity that is not a positive integer', () => {
    expect(() => new VerifiedTokens(0)).toThrow('the verified-token capacity must be a positive integer: 0');
  });
});
