// A client assertion (RFC 7523 section 2.2) for `mergekey token get --private-key FILE`: what a
// private_key_jwt application sends instead of a secret, signed here with the developer's own
// private key. The server checks it against the public keys in the application's manifest.
import { createPrivateKey, randomUUID, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SignJWT } from 'jose';
import { permissionProblem } from '../../../controller/sealing/private-files.ts';
import { failure, usageError } from '../../errors.ts';

export { JWT_BEARER_ASSERTION_TYPE } from '../../../controller/oauth/defaults.ts';

// Short-lived, and well inside the server's five-minute limit on `exp`.
const LIFETIME_SECONDS = 60;

export interface SigningKey {
  key: KeyObject;
  alg: string;
  /** From the JWK, so the server picks the matching key of the manifest's JWKS. */
  kid?: string;
}

/** A private key from a JWK (JSON) or PKCS #8 / SEC 1 / PKCS #1 PEM file, with the algorithm it signs with. */
export function readSigningKey(file: string): SigningKey {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw failure(`cannot read the private key ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let jwk: Record<string, unknown> | undefined;
  if (text.trimStart().startsWith('{')) {
    try {
      jwk = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw usageError(`${file} is neither a JWK nor a PEM private key: its JSON does not parse`);
    }
    if (typeof jwk.d !== 'string') throw usageError(`${file} holds a public key; --private-key needs the private one (a JWK with "d")`);
  }
  let key: KeyObject;
  try {
    key = jwk === undefined ? createPrivateKey(text) : createPrivateKey({ key: jwk as never, format: 'jwk' });
  } catch (error) {
    throw usageError(`${file} is neither a JWK nor a PEM private key: ${(error as Error).message}`);
  }
  // As ssh refuses an unprotected private key, and the credentials file one others can read: a
  // key others can read signs assertions for them too, so it is no longer this application's alone.
  const exposed = permissionProblem(file);
  if (exposed !== undefined) {
    throw failure(`refusing to use the private key: ${exposed}`, { hint: 'Others could read it: put a new key in the manifest (an edit request) after fixing the permissions.' });
  }
  const alg = typeof jwk?.alg === 'string' ? jwk.alg : algorithmOf(key, file);
  return { key, alg, ...(typeof jwk?.kid === 'string' ? { kid: jwk.kid } : {}) };
}

/** The algorithm a key without a JWK `alg` signs with: the one the server accepts for its type. */
function algorithmOf(key: KeyObject, file: string): string {
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'ec' && details?.namedCurve === 'prime256v1') return 'ES256';
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
  if (key.asymmetricKeyType === 'rsa') return 'RS256';
  const kind = key.asymmetricKeyType === 'ec' ? `an EC key on ${details?.namedCurve ?? 'an unknown curve'}` : `a ${key.asymmetricKeyType ?? 'symmetric'} key`;
  throw usageError(`${file} holds ${kind}, which cannot sign a client assertion here: use P-256 (ES256), Ed25519 (EdDSA) or RSA (RS256, or PS256 with "alg" in a JWK)`);
}

/** RFC 7523 section 3: iss and sub are the client id, aud the authorization server, exp and a fresh jti. */
export function signClientAssertion(signing: SigningKey, clientId: string, issuer: string, now = Date.now()): Promise<string> {
  const iat = Math.floor(now / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: signing.alg, ...(signing.kid === undefined ? {} : { kid: signing.kid }) })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(issuer)
    .setIssuedAt(iat)
    .setExpirationTime(iat + LIFETIME_SECONDS)
    .setJti(randomUUID())
    .sign(signing.key);
}
