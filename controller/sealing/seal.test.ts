import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { base64url, CompactEncrypt, exportJWK, importJWK, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SealingError, type SealingErrorCode } from './errors.ts';
import { loadOrCreateKeys, type ControllerKeys } from './keys.ts';
import { MAX_SEALED_BYTES, seal, sealingPublicKey } from './seal.ts';

const billing = { kind: 'Application', name: 'billing' } as const;
const SECRET = `s3cret-${randomBytes(16).toString('hex')}`;

let dirs: string[] = [];
let keys: ControllerKeys;
let otherKeys: ControllerKeys;
beforeAll(async () => {
  dirs = [mkdtempSync(join(tmpdir(), 'mergekey-seal-')), mkdtempSync(join(tmpdir(), 'mergekey-seal-'))];
  keys = await loadOrCreateKeys(dirs[0]!);
  otherKeys = await loadOrCreateKeys(dirs[1]!);
});
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Every refusal, so the last test can check that none of them repeats the secret. */
const refusals: SealingError[] = [];

async function refusal(promise: Promise<unknown>, code: SealingErrorCode): Promise<SealingError> {
  const err = await promise.then(
    () => {
      throw new Error(`expected ${code}, got a result`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SealingError);
  expect((err as SealingError).code).toBe(code);
  refusals.push(err as SealingError);
  return err as SealingError;
}

const encode = (text: string) => new TextEncoder().encode(text);

/** A JWE as an attacker (or a confused tool) could make it, with any header and key. */
async function handMade(header: Record<string, unknown>, key: Parameters<CompactEncrypt['encrypt']>[0], plaintext = SECRET) {
  return new CompactEncrypt(encode(plaintext))
    .setProtectedHeader({ kid: keys.sealingPublicJwk.kid, bind: 'Application/billing', ...header } as never)
    .encrypt(key);
}

function flipByte(part: string, index = 0): string {
  const bytes = base64url.decode(part);
  bytes[index]! ^= 0x01;
  return base64url.encode(bytes);
}

describe('seal and unseal', () => {
  it('round-trips a secret bound to its object, in the agreed format', async () => {
    const sealed = await seal(keys.sealingPublicJwk, billing, SECRET);
    expect(sealed.split('.')).toHaveLength(5);
    const header = JSON.parse(new TextDecoder().decode(base64url.decode(sealed.split('.')[0]!))) as Record<string, unknown>;
    expect(header).toMatchObject({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', kid: keys.sealingPublicJwk.kid, bind: 'Application/billing' });
    expect(sealed).not.toContain(SECRET);
    expect(await keys.opener.unseal(sealed, billing)).toBe(SECRET);
  });

  it('round-trips a user password with non-ASCII characters', async () => {
    const password = 'correct horse battery staple – ünïcödé';
    const alice = { kind: 'User', name: 'alice' } as const;
    expect(await keys.opener.unseal(await seal(keys.sealingPublicJwk, alice, password), alice)).toBe(password);
  });

  it('refuses a value copied from another application, naming where it was sealed for', async () => {
    const sealed = await seal(keys.sealingPublicJwk, { kind: 'Application', name: 'other' }, SECRET);
    const err = await refusal(keys.opener.unseal(sealed, billing), 'sealing.bound-elsewhere');
    expect(err.message).toBe(
      'the sealed value in Application/billing was sealed for Application/other; a sealed value only works in the object it was sealed for',
    );
  });

  it('refuses a user password used as a client secret of the same name', async () => {
    const sealed = await seal(keys.sealingPublicJwk, { kind: 'User', name: 'billing' }, SECRET);
    await refusal(keys.opener.unseal(sealed, billing), 'sealing.bound-elsewhere');
  });

  it('refuses a value whose bind was rewritten to the object it was moved to', async () => {
    const [, ...rest] = (await seal(keys.sealingPublicJwk, { kind: 'Application', name: 'other' }, SECRET)).split('.');
    const sealed = await seal(keys.sealingPublicJwk, billing, SECRET);
    const forgedHeader = sealed.split('.')[0]!;
    // The header is the AEAD's additional data: a header from elsewhere fails authentication.
    await refusal(keys.opener.unseal([forgedHeader, ...rest].join('.'), billing), 'sealing.tampered');
  });

  it('refuses a value with a byte changed in any of its five parts', async () => {
    const parts = (await seal(keys.sealingPublicJwk, billing, SECRET)).split('.');
    // Part 0 is the protected header: change a byte of the sender's ephemeral public key in it.
    const header = JSON.parse(new TextDecoder().decode(base64url.decode(parts[0]!))) as { epk: { x: string } };
    header.epk.x = flipByte(header.epk.x, 5);
    const tamperedHeader = base64url.encode(JSON.stringify(header));
    const variants = [
      [tamperedHeader, ...parts.slice(1)],
      ...[1, 2, 3, 4].map((i) => parts.map((part, j) => (j === i ? flipByte(part) : part))),
    ];
    for (const variant of variants) {
      await refusal(keys.opener.unseal(variant.join('.'), billing), 'sealing.tampered');
    }
  });

  it('refuses a value sealed to another controller, and one that claims our kid', async () => {
    const elsewhere = await seal(otherKeys.sealingPublicJwk, billing, SECRET);
    const err = await refusal(keys.opener.unseal(elsewhere, billing), 'sealing.wrong-key');
    expect(err.message).toContain(otherKeys.sealingPublicJwk.kid);
    const claimed = await handMade({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM' }, await importJWK(otherKeys.sealingPublicJwk, 'ECDH-ES+A256KW'));
    await refusal(keys.opener.unseal(claimed, billing), 'sealing.tampered');
  });

  it('refuses compression before decrypting', async () => {
    const zipped = await handMade({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', zip: 'DEF' }, await importJWK(keys.sealingPublicJwk, 'ECDH-ES+A256KW'));
    await refusal(keys.opener.unseal(zipped, billing), 'sealing.compressed');
  });

  it('refuses every algorithm but ECDH-ES+A256KW with A256GCM', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const cases: [Record<string, unknown>, Parameters<CompactEncrypt['encrypt']>[0]][] = [
      [{ alg: 'RSA-OAEP-256', enc: 'A256GCM' }, rsa.publicKey],
      [{ alg: 'RSA-OAEP', enc: 'A256GCM' }, rsa.publicKey],
      [{ alg: 'dir', enc: 'A256GCM' }, randomBytes(32)],
      [{ alg: 'A256KW', enc: 'A256GCM' }, randomBytes(32)],
      [{ alg: 'ECDH-ES', enc: 'A256GCM' }, await importJWK(keys.sealingPublicJwk, 'ECDH-ES')],
      [{ alg: 'ECDH-ES+A256KW', enc: 'A128GCM' }, await importJWK(keys.sealingPublicJwk, 'ECDH-ES+A256KW')],
      [{ alg: 'ECDH-ES+A256KW', enc: 'A256CBC-HS512' }, await importJWK(keys.sealingPublicJwk, 'ECDH-ES+A256KW')],
    ];
    for (const [header, key] of cases) {
      const err = await refusal(keys.opener.unseal(await handMade(header, key), billing), 'sealing.algorithm');
      expect(err.message).toContain(String(header.alg));
    }
  });

  it('refuses an oversized value before looking at it, and a secret that would make one', async () => {
    const huge = 'a'.repeat(MAX_SEALED_BYTES - 10) + '.b.c.d.e.f';
    const err = await refusal(keys.opener.unseal(huge + 'xxxxxxxxxx', billing), 'sealing.too-large');
    expect(err.message).toBe(`the sealed value for Application/billing is ${MAX_SEALED_BYTES + 10} bytes; the limit is ${MAX_SEALED_BYTES}`);
    await refusal(seal(keys.sealingPublicJwk, billing, 'x'.repeat(MAX_SEALED_BYTES)), 'sealing.too-large');
  });

  it('refuses what is not a compact JWE', async () => {
    for (const value of ['', 'abc', 'a.b.c.d', 'a.b.c.d.e.f', 'e30.a.b.c.d!', '!!!.a.b.c.d']) {
      await refusal(keys.opener.unseal(value, billing), 'sealing.malformed');
    }
  });

  it('never puts the secret in an error', () => {
    expect(refusals.length).toBeGreaterThan(15);
    for (const err of refusals) {
      expect(`${err.message} ${String(err.cause)} ${JSON.stringify(err)}`).not.toContain(SECRET);
    }
  });
});

describe('sealingPublicKey', () => {
  it('accepts the public JWK `mergekey keys public` prints, with or without kid, use and alg', async () => {
    expect(await sealingPublicKey(keys.sealingPublicJwk)).toEqual(keys.sealingPublicJwk);
    const { kty, crv, x } = keys.sealingPublicJwk;
    expect(await sealingPublicKey({ kty, crv, x })).toEqual(keys.sealingPublicJwk);
  });

  it('refuses a private key, another key type, another use, and a kid that is not the thumbprint', async () => {
    const { privateKey } = generateKeyPairSync('x25519');
    const privateJwk = privateKey.export({ format: 'jwk' });
    const ec = await exportJWK(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey);
    const cases: [unknown, RegExp][] = [
      [privateJwk, /it is a private key/],
      [ec, /not an X25519 key/],
      [{ ...keys.sealingPublicJwk, use: 'sig' }, /its use is "sig"/],
      [{ ...keys.sealingPublicJwk, alg: 'ECDH-ES' }, /its alg is "ECDH-ES"/],
      [{ ...keys.sealingPublicJwk, kid: 'my-key' }, /its kid "my-key" is not the key's thumbprint/],
      ['{"kty":"OKP"}', /not a JSON object/],
    ];
    for (const [jwk, message] of cases) {
      const err = await refusal(seal(jwk as JWK, billing, SECRET), 'sealing.bad-key');
      expect(err.message).toMatch(message);
      expect(err.message).not.toContain(String(privateJwk.d));
    }
  });
});
