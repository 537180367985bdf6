// OpenID Connect ID tokens (Core 1.0 section 2): signed by the keyring that signs access tokens,
// with `typ: JWT`, so that neither can pass for the other (access tokens are `at+jwt`, RFC 9068).
import { createHash } from 'node:crypto';
import type { OAuthContext } from './context.ts';

/** Core 1.0 section 2; times in seconds. `acr` and `amr` are not claimed: nothing here says how strong the sign-in was. */
export interface IdTokenClaims {
  iss: string;
  /** `user:<name>`, as in the access token. */
  sub: string;
  /** The client id. */
  aud: string;
  iat: number;
  exp: number;
  auth_time: number;
  nonce?: string;
  /** Core 1.0 section 3.1.3.6: the left half of the access token's hash, base64url. */
  at_hash: string;
}

export function signIdToken(ctx: OAuthContext, claims: Omit<IdTokenClaims, 'iss' | 'at_hash'>, accessToken: string): Promise<string> {
  const signer = ctx.keys.idTokenSigner();
  const payload: IdTokenClaims = { iss: ctx.issuer, ...claims, at_hash: atHash(accessToken, signer.alg) };
  return signer.sign(payload);
}

/**
 * "the base64url encoding of the left-most half of the hash of the octets of the ASCII
 * representation of the access_token value, where the hash algorithm used is the hash algorithm
 * used in the alg Header Parameter of the ID Token's JOSE Header": SHA-256 for ES256 and RS256,
 * SHA-512 for EdDSA with Ed25519 (as OpenID Foundation's registry of `at_hash` algorithms says).
 */
function atHash(accessToken: string, alg: string): string {
  const digest = createHash(alg === 'EdDSA' ? 'sha512' : 'sha256').update(accessToken, 'ascii').digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}
