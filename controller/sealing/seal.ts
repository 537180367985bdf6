// Sealed values: secrets encrypted to the controller's public key so that they can sit in git.
//
// The format (every part of Mergekey agrees on it): a compact JWE made with jose, protected
// header { alg: "ECDH-ES+A256KW", enc: "A256GCM", kid: <sealing key kid>, bind: "<Kind>/<name>" },
// plaintext the secret as UTF-8. The protected header is the AEAD's additional data, so `bind`
// cannot be changed without failing authentication; comparing it with the object the value sits
// in refuses a value copied from another manifest (whose author may have known its plaintext).
//
// Opening is strict: one algorithm pair, no compression, a size cap checked before any crypto,
// this controller's key id. Everything a sealed value claims is checked before or by the AEAD.
import { calculateJwkThumbprint, compactDecrypt, CompactEncrypt, decodeProtectedHeader, errors, importJWK, type CryptoKey, type JWK } from 'jose';
import { SealingError } from './errors.ts';

export const SEALING_ALG = 'ECDH-ES+A256KW';
export const SEALING_ENC = 'A256GCM';
/** The largest sealed value accepted, in bytes (the schema's `sealed` maxLength says the same). */
export const MAX_SEALED_BYTES = 8192;

/** The kinds of object that hold sealed values: client secrets and user passwords. */
export type SealableKind = 'Application' | 'User';

/** The object a sealed value belongs to: its kind and metadata.name. */
export interface SealTarget {
  kind: SealableKind;
  name: string;
}

/** The controller's public sealing key, as `mergekey keys public` prints it. */
export interface SealingPublicJwk {
  kty: 'OKP';
  crv: 'X25519';
  x: string;
  /** RFC 7638 thumbprint (SHA-256) of the key. */
  kid: string;
  use: 'enc';
  alg: typeof SEALING_ALG;
}

/** What unsealing needs: the private key and its id. */
export interface SealingPrivateKey {
  kid: string;
  privateKey: CryptoKey;
}

const NAME = /^[a-z0-9][a-z0-9-]*[a-z0-9]$/;
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
const BASE64URL_PART = /^[A-Za-z0-9_-]*$/;

export function bindOf(target: SealTarget): string {
  return `${target.kind}/${target.name}`;
}

/**
 * Checks that `jwk` is a public X25519 sealing key and returns it normalised with its kid. Throws
 * `sealing.bad-key` for anything else: a private key (which must never reach a repository), another
 * key type, a `use` or `alg` for something else, or a `kid` that is not the key's thumbprint.
 */
export async function sealingPublicKey(jwk: unknown): Promise<SealingPublicJwk> {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) throw badKey('it is not a JSON object');
  const key = jwk as Record<string, unknown>;
  if (PRIVATE_MEMBERS.some((member) => member in key)) throw badKey('it is a private key; use the public key that `mergekey keys public` prints');
  if (key.kty !== 'OKP' || key.crv !== 'X25519' || typeof key.x !== 'string') throw badKey('it is not an X25519 key (kty OKP, crv X25519)');
  if (key.use !== undefined && key.use !== 'enc') throw badKey(`its use is ${JSON.stringify(key.use)}, not "enc"`);
  if (key.alg !== undefined && key.alg !== SEALING_ALG) throw badKey(`its alg is ${JSON.stringify(key.alg)}, not "${SEALING_ALG}"`);
  const kid = await calculateJwkThumbprint({ kty: 'OKP', crv: 'X25519', x: key.x });
  if (key.kid !== undefined && key.kid !== kid) throw badKey(`its kid ${JSON.stringify(key.kid)} is not the key's thumbprint ${kid}`);
  return { kty: 'OKP', crv: 'X25519', x: key.x, kid, use: 'enc', alg: SEALING_ALG };
}

/** Seals `secret` to `publicJwk`, bound to `target`. Returns the compact JWE. */
export async function seal(publicJwk: SealingPublicJwk | JWK, target: SealTarget, secret: string): Promise<string> {
  checkTarget(target);
  if (typeof secret !== 'string' || secret.length === 0) throw new SealingError('sealing.bad-secret', 'the secret is empty');
  const jwk = await sealingPublicKey(publicJwk);
  const key = await importJWK({ kty: jwk.kty, crv: jwk.crv, x: jwk.x }, SEALING_ALG);
  const sealed = await new CompactEncrypt(new TextEncoder().encode(secret))
    .setProtectedHeader({ alg: SEALING_ALG, enc: SEALING_ENC, kid: jwk.kid, bind: bindOf(target) })
    .encrypt(key);
  if (sealed.length > MAX_SEALED_BYTES) {
    throw new SealingError('sealing.too-large', `the sealed value would be ${sealed.length} bytes; the limit is ${MAX_SEALED_BYTES}`);
  }
  return sealed;
}

/**
 * Opens `sealed` with the controller's key and returns the secret, after checking that it was
 * sealed for `target`. Throws SealingError; no message carries the secret.
 */
export async function unseal(key: SealingPrivateKey, sealed: string, target: SealTarget): Promise<string> {
  checkTarget(target);
  const expected = bindOf(target);
  if (typeof sealed !== 'string') throw malformed(expected, 'it is not a string');
  // Before any parsing or crypto: an oversized value costs nothing to refuse.
  const size = Buffer.byteLength(sealed, 'utf8');
  if (size > MAX_SEALED_BYTES) {
    throw new SealingError('sealing.too-large', `the sealed value for ${expected} is ${size} bytes; the limit is ${MAX_SEALED_BYTES}`);
  }
  const parts = sealed.split('.');
  if (parts.length !== 5 || !parts.every((part) => BASE64URL_PART.test(part))) {
    throw malformed(expected, 'it is not a compact JWE (five base64url parts separated by dots)');
  }
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(sealed) as Record<string, unknown>;
  } catch {
    throw malformed(expected, 'its protected header is not base64url-encoded JSON');
  }
  if (header.zip !== undefined) {
    throw new SealingError('sealing.compressed', `the sealed value for ${expected} asks for compression (zip), which is refused`);
  }
  if (header.alg !== SEALING_ALG || header.enc !== SEALING_ENC) {
    throw new SealingError(
      'sealing.algorithm',
      `the sealed value for ${expected} uses alg ${JSON.stringify(header.alg)} enc ${JSON.stringify(header.enc)}; only ${SEALING_ALG} with ${SEALING_ENC} is accepted`,
    );
  }
  if (header.kid !== key.kid) {
    throw new SealingError(
      'sealing.wrong-key',
      `the sealed value for ${expected} was sealed to key ${JSON.stringify(header.kid)}, not to this controller's key ${key.kid}; seal it again with the key in mergekey.yaml`,
    );
  }

  let result;
  try {
    result = await compactDecrypt(sealed, key.privateKey, {
      keyManagementAlgorithms: [SEALING_ALG],
      contentEncryptionAlgorithms: [SEALING_ENC],
    });
  } catch (err) {
    throw decryptError(err, expected);
  }
  // Read from the authenticated header: what it names is where the value was really sealed for.
  const bind = result.protectedHeader.bind;
  if (bind !== expected) {
    throw new SealingError(
      'sealing.bound-elsewhere',
      `the sealed value in ${expected} was sealed for ${typeof bind === 'string' ? bind : 'no object'}; a sealed value only works in the object it was sealed for`,
    );
  }
  let secret: string;
  try {
    secret = new TextDecoder('utf-8', { fatal: true }).decode(result.plaintext);
  } catch {
    throw malformed(expected, 'its content is not UTF-8 text');
  }
  if (secret.length === 0) throw malformed(expected, 'its content is empty');
  return secret;
}

function checkTarget(target: SealTarget): void {
  if ((target.kind !== 'Application' && target.kind !== 'User') || !NAME.test(target.name) || target.name.length > 63) {
    throw new SealingError('sealing.bad-secret', `secrets are sealed for an Application or a User with a valid name, not ${JSON.stringify(bindOf(target))}`);
  }
}

function decryptError(err: unknown, expected: string): SealingError {
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) {
    return new SealingError('sealing.algorithm', `the sealed value for ${expected} uses an algorithm that is not accepted`, { cause: err });
  }
  if (err instanceof errors.JWEInvalid) return malformed(expected, err.message);
  return new SealingError(
    'sealing.tampered',
    `the sealed value for ${expected} fails authentication: it was changed after sealing, or cut short; seal the secret again`,
    { cause: err },
  );
}

function malformed(expected: string, why: string): SealingError {
  return new SealingError('sealing.malformed', `the sealed value for ${expected} is not valid: ${why}`);
}

function badKey(why: string): SealingError {
  return new SealingError('sealing.bad-key', `not a public sealing key: ${why}`);
}
