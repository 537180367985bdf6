// The public keys a private_key_jwt application lists, checked the way the token endpoint will
// use them, so that a key the server could never verify with is refused in review rather than
// answered with an error at every request. The schema has already said the shape (kty, members,
// at most 10 keys); this says what a schema cannot: the key is a real point or modulus, strong
// enough, and fit for signing the algorithms the token endpoint accepts.
//
// RSA and Ed25519 keys are imported with node:crypto, which checks what WebCrypto will check at
// the token endpoint, synchronously; a P-256 point is checked against the curve's equation.
// Private members (d, p, q, ...) are refused by the schema, with its own message.
import { createPublicKey } from 'node:crypto';
import type { Pointer } from './model.ts';

/**
 * What each kind of key may sign, as the token endpoint verifies assertions (its algorithm list
 * is ASSERTION_ALGORITHMS in controller/oauth/defaults.ts; a test there checks that they agree).
 * RFC 7518 section 3.4: ES256 is ECDSA "using P-256"; RFC 8037 section 3.1: EdDSA with Ed25519.
 */
export const CLIENT_KEY_ALGORITHMS = {
  RSA: ['RS256', 'PS256'],
  'EC/P-256': ['ES256'],
  'OKP/Ed25519': ['EdDSA'],
} as const;

/**
 * RFC 7518 section 3.3: "A key of size 2048 bits or larger MUST be used with these algorithms"
 * (RS256; section 3.5 says the same of PS256). jose refuses smaller keys when verifying.
 */
export const MIN_RSA_BITS = 2048;

export type ClientKeyCode = 'rules.client-key-weak' | 'rules.client-key-unusable' | 'rules.client-key-kid';

export interface ClientKeyProblem {
  /** Relative to the application's spec. */
  pointer: Pointer;
  code: ClientKeyCode;
  message: string;
}

/** Problems of the keys in `spec.credentials.jwks`, read defensively (the schema may have failed). */
export function checkClientKeys(spec: unknown): ClientKeyProblem[] {
  const keys = (spec as { credentials?: { jwks?: { keys?: unknown } } } | undefined)?.credentials?.jwks?.keys;
  if (!Array.isArray(keys)) return [];
  const problems: ClientKeyProblem[] = [];
  const kids = new Map<string, number>();
  const firstOfType = new Map<string, number>();
  for (const [index, key] of keys.entries()) {
    if (key === null || typeof key !== 'object' || Array.isArray(key)) continue;
    const at = ['credentials', 'jwks', 'keys', index];
    const jwk = key as Record<string, unknown>;
    const problem = checkKey(jwk);
    if (problem !== undefined) problems.push({ ...problem, pointer: [...at, ...problem.pointer] });
    // RFC 7517 section 4.5: "When "kid" values are used within a JWK Set, different keys within
    // the JWK Set SHOULD use distinct "kid" values." Two keys under one kid leave the reader
    // guessing which one signs, and a rotation could not say which one it retires.
    if (typeof jwk.kid === 'string') {
      const first = kids.get(jwk.kid);
      if (first === undefined) kids.set(jwk.kid, index);
      else {
        problems.push({
          pointer: [...at, 'kid'],
          code: 'rules.client-key-kid',
          message: `kid ${JSON.stringify(jwk.kid)} is already used by keys[${first}]: give every key its own kid`,
        });
      }
    }
    // Two keys of one type, one of them without a kid: the token endpoint picks the key by kid
    // and type (jose's createLocalJWKSet), and finding two it refuses the assertion, so during a
    // rotation neither key would work. Each of them needs a kid.
    const type = typeof jwk.kty === 'string' ? `${jwk.kty}/${typeof jwk.crv === 'string' && jwk.kty !== 'RSA' ? jwk.crv : ''}` : undefined;
    if (type !== undefined) {
      const first = firstOfType.get(type);
      if (first === undefined) firstOfType.set(type, index);
      else if (typeof jwk.kid !== 'string' || typeof (keys[first] as { kid?: unknown }).kid !== 'string') {
        problems.push({
          pointer: at,
          code: 'rules.client-key-kid',
          message: `this key and keys[${first}] are of one type and not both have a kid, so the token endpoint cannot tell which one an assertion is for: give each a kid`,
        });
      }
    }
  }
  return problems;
}

function checkKey(jwk: Record<string, unknown>): ClientKeyProblem | undefined {
  const unusable = (pointer: Pointer, message: string): ClientKeyProblem => ({ pointer, code: 'rules.client-key-unusable', message });
  const { kty, crv, alg, use } = jwk;
  if (typeof kty !== 'string') return undefined;
  let kind: keyof typeof CLIENT_KEY_ALGORITHMS;
  if (kty === 'RSA') kind = 'RSA';
  else if (kty === 'EC' && crv === 'P-256') kind = 'EC/P-256';
  else if (kty === 'OKP' && crv === 'Ed25519') kind = 'OKP/Ed25519';
  else if (kty === 'EC' || kty === 'OKP') {
    if (typeof crv !== 'string') return undefined;
    const fits = kty === 'EC' ? 'P-256' : 'Ed25519';
    return unusable(['crv'], `an ${kty} key on ${crv} cannot sign a client assertion the token endpoint accepts (${listAlgorithms()}): use ${fits}`);
  } else return undefined; // the schema refuses other key types

  // RFC 7517 section 4.2: "sig" (signature) or "enc" (encryption); a client assertion is signed.
  if (use !== undefined && use !== 'sig') {
    return unusable(['use'], `use ${JSON.stringify(use)} marks an encryption key; a key for private_key_jwt signs, so its use is sig (or leave use out)`);
  }
  const algorithms: readonly string[] = CLIENT_KEY_ALGORITHMS[kind];
  if (alg !== undefined && !algorithms.includes(String(alg))) {
    const what = kind === 'RSA' ? 'an RSA key' : `an ${kty} ${String(crv)} key`;
    return unusable(['alg'], `alg ${JSON.stringify(alg)} does not fit ${what}: use ${algorithms.join(' or ')} (or leave alg out)`);
  }

  let bits: number | undefined;
  let exponent: bigint | undefined;
  try {
    const members = kind === 'RSA' ? { kty, n: jwk.n, e: jwk.e } : kty === 'EC' ? { kty, crv, x: jwk.x, y: jwk.y } : { kty, crv, x: jwk.x };
    if (Object.values(members).some((value) => typeof value !== 'string')) return undefined; // the schema reports it
    if (kind === 'EC/P-256') {
      if (!onP256(members.x as string, members.y as string)) throw new Error('not on P-256');
    } else {
      const details = createPublicKey({ key: members as { kty: string }, format: 'jwk' }).asymmetricKeyDetails;
      bits = details?.modulusLength;
      exponent = details?.publicExponent;
    }
  } catch {
    const members = kind === 'RSA' ? 'n and e do not form an RSA public key' : kty === 'EC' ? 'x and y are not a point on P-256' : 'x is not an Ed25519 public key';
    return unusable([], `not a usable public key: ${members}; export the public key again from its private key`);
  }
  if (kind === 'RSA' && (bits === undefined || bits < MIN_RSA_BITS)) {
    return {
      pointer: ['n'],
      code: 'rules.client-key-weak',
      message: `the RSA key has ${bits ?? 'an unknown number of'} bits; RS256 and PS256 keys have at least ${MIN_RSA_BITS} (RFC 7518 section 3.3): make a new key pair of ${MIN_RSA_BITS} bits or more`,
    };
  }
  // node:crypto and WebCrypto import e = 1, with which s^e = s: anyone could then sign as the
  // client. FIPS 186-5 section 5.4 asks an odd e of at least 65537.
  if (kind === 'RSA' && (exponent === undefined || exponent < MIN_RSA_EXPONENT || exponent % 2n === 0n)) {
    return {
      pointer: ['e'],
      code: 'rules.client-key-weak',
      message: `the RSA public exponent is ${exponent ?? 'unreadable'}; it must be odd and at least 65537 (FIPS 186-5), and is 65537 (AQAB) in practice: make a new key pair`,
    };
  }
  return undefined;
}

const MIN_RSA_EXPONENT = 65537n;

// P-256 (SEC 2 section 2.4.2, FIPS 186-5): y^2 = x^3 - 3x + b over the prime field p.
const P256_P = 2n ** 256n - 2n ** 224n + 2n ** 192n + 2n ** 96n - 1n;
const P256_B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;

/**
 * Whether base64url `x` and `y` are a point on P-256, as WebCrypto checks when it imports the
 * key. Done here with BigInt: node:crypto's import costs ~130 µs a key, which a repository of
 * thousands of applications would feel. RFC 7518 section 6.2.1.2: each coordinate is "the full
 * size of a coordinate for the curve" (32 octets). The cofactor is 1, so a point on the curve
 * is in the group.
 */
function onP256(x: string, y: string): boolean {
  const coordinate = (text: string): bigint | undefined => {
    const bytes = Buffer.from(text, 'base64url');
    if (bytes.length !== 32 || bytes.toString('base64url') !== text) return undefined;
    const value = BigInt(`0x${bytes.toString('hex')}`);
    return value < P256_P ? value : undefined;
  };
  const px = coordinate(x);
  const py = coordinate(y);
  if (px === undefined || py === undefined) return false;
  return (py * py - (px * px * px - 3n * px + P256_B)) % P256_P === 0n;
}

/**
 * For keys already in the store, which an older controller may have taken without these checks:
 * the key set without its weak keys (too short for jose, or an exponent that lets anyone sign),
 * and why each was left out. Anything that is not a key list is returned as it is, for the
 * verifier to refuse.
 */
export function withoutWeakKeys<T>(jwks: T): { jwks: T; dropped: string[] } {
  const keys = (jwks as { keys?: unknown } | undefined)?.keys;
  if (!Array.isArray(keys)) return { jwks, dropped: [] };
  const dropped: string[] = [];
  const kept = keys.filter((key, index) => {
    if (key === null || typeof key !== 'object' || Array.isArray(key)) return true;
    const problem = checkKey(key as Record<string, unknown>);
    if (problem?.code !== 'rules.client-key-weak') return true;
    dropped.push(`keys[${index}]: ${problem.message}`);
    return false;
  });
  return dropped.length === 0 ? { jwks, dropped } : { jwks: { ...jwks, keys: kept }, dropped };
}

function listAlgorithms(): string {
  return Object.values(CLIENT_KEY_ALGORITHMS).flat().join(', ');
}
