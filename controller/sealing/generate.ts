// New client credentials. Both come from the OS CSPRNG.
import { randomBytes } from 'node:crypto';

/** A client secret: 32 random bytes (256 bits), base64url, 43 characters. */
export function generateClientSecret(): string {
  return randomBytes(32).toString('base64url');
}

// Crockford's base32 alphabet, lowercase: no i, l, o or u, so an id read aloud or retyped from a
// screenshot is not misread, and lowercase because client ids are unique regardless of case.
const BASE32 = '0123456789abcdefghjkmnpqrstvwxyz';

/**
 * A client id: `mk-` and 26 base32 characters carrying 128 random bits, e.g.
 * `mk-0v8r4c2x9p1m6q3t7k5n2b8w4d`. Matches the Application schema's clientId pattern. Random, not
 * derived from the name, so it reveals nothing and needs no coordination to be unique; callers
 * that know existing ids still check against them.
 */
export function generateClientId(): string {
  const bytes = randomBytes(16);
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  // 128 bits leave 3 over: the 26th character carries them, zero-padded.
  out += BASE32[(value << (5 - bits)) & 31];
  return `mk-${out}`;
}
