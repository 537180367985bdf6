// How secrets are kept once the controller has opened them: never as plaintext.
//
// Client secrets are generated with at least 256 bits of randomness, so a slow hash would add
// nothing but latency on the token endpoint: a keyed HMAC-SHA256 (the key lives only in the data
// directory) compared in constant time is the right tool. User passwords are chosen by people and
// get scrypt.
import { createHmac, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export function hashClientSecret(key: Uint8Array, secret: string): string {
  return createHmac('sha256', key).update(secret, 'utf8').digest('base64url');
}

export function clientSecretMatches(key: Uint8Array, secret: string, storedHash: string): boolean {
  const presented = createHmac('sha256', key).update(secret, 'utf8').digest();
  const stored = Buffer.from(storedHash, 'base64url');
  return stored.length === presented.length && timingSafeEqual(stored, presented);
}

// N=2^15, r=8, p=1: OWASP's scrypt baseline; about 32 MiB and tens of milliseconds per check.
const SCRYPT = { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;
const KEY_LENGTH = 32;

function scryptAsync(password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_LENGTH, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** Returns `scrypt$N$r$p$salt$hash` (salt and hash base64url); a random salt unless one is given. */
export async function hashPassword(password: string, salt: Buffer = randomBytes(16)): Promise<string> {
  const hash = await scryptAsync(password, salt, SCRYPT);
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

/**
 * The salt of a password sealed in a User manifest: derived under the secret-hash key from the
 * user and the sealed value, so that every replica holding the same keys hashes it alike (a portal
 * session opened on one replica carries a fingerprint of the hash that the others must match),
 * and a new one with every new sealing. Unique per user and sealing, unknowable without the key.
 */
export function passwordSalt(key: Uint8Array, user: string, sealed: string): Buffer {
  return createHmac('sha256', key).update(`mergekey-password-salt\0${user}\0${sealed}`, 'utf8').digest().subarray(0, 16);
}

export async function passwordMatches(password: string, encoded: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = encoded.split('$');
  if (scheme !== 'scrypt' || salt === undefined || hash === undefined) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await scryptAsync(password, Buffer.from(salt, 'base64url'), {
    N: Number(n), r: Number(r), p: Number(p), maxmem: SCRYPT.maxmem,
  });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
