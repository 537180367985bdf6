// Access tokens as JWTs per RFC 9068: minted here, checked here (introspection, revocation).
import { jwtVerify, type JWTHeaderParameters } from 'jose';
import { ACCESS_TOKEN_TYP } from './defaults.ts';
import type { JwsSigner } from './jws-signer.ts';
import type { SigningKeys } from './signing-keys.ts';
import type { VerifiedTokens } from './verified-tokens.ts';

/** RFC 9068 section 2.2: the claims every access token carries. Times in seconds. */
export interface AccessTokenClaims {
  iss: string;
  sub: string;
  /** One audience as a string, several as an array (RFC 7519 section 4.1.3). */
  aud: string | string[];
  client_id: string;
  scope: string;
  iat: number;
  exp: number;
  jti: string;
}

/** The signer's header carries `typ: at+jwt` (RFC 9068 section 2.1). */
export function signAccessToken(signer: JwsSigner, claims: AccessTokenClaims): Promise<string> {
  return signer.sign(claims);
}

/** A shape check before any cryptography: three base64url parts. */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token);
}

/**
 * The claims of an access token this server signed and that has not expired at `now` (ms);
 * undefined for anything else. Revocation and the application's state are the caller's checks.
 * With `verified`, a token whose signature this process verified before is not verified again
 * (verified-tokens.ts): its expiry and its key are checked afresh.
 */
export async function verifyAccessToken(token: string, keys: SigningKeys, issuer: string, now: number, verified?: VerifiedTokens): Promise<AccessTokenClaims | undefined> {
  if (!looksLikeJwt(token)) return undefined;
  const known = verified?.get(token);
  if (known !== undefined) {
    // jose's rule: expired when `exp` is at or before the current second.
    const unexpired = known.claims.exp > Math.floor(now / 1000);
    if (unexpired && await keys.verificationKey(known.kid) === known.verifiedBy) return known.claims;
    // Expired, or its key is gone: verified afresh below, which refuses it (or remembers it anew).
    verified!.forget(token);
  }
  let verifiedBy: { kid: string; key: object } | undefined;
  try {
    const { payload } = await jwtVerify(token, async (header: JWTHeaderParameters) => {
      const found = header.kid === undefined ? undefined : await keys.verificationKey(header.kid);
      // The key decides the algorithm: a token may not pick another one for our key.
      if (found === undefined || found.alg !== header.alg) throw new Error('unknown signing key');
      verifiedBy = { kid: header.kid!, key: found };
      return found.key;
    }, {
      issuer,
      typ: ACCESS_TOKEN_TYP,
      currentDate: new Date(now),
      requiredClaims: ['sub', 'aud', 'client_id', 'scope', 'iat', 'exp', 'jti'],
    });
    const { sub, aud, client_id, scope, iat, exp, jti } = payload;
    if (typeof sub !== 'string' || typeof client_id !== 'string' || typeof scope !== 'string' || typeof jti !== 'string'
      || typeof iat !== 'number' || typeof exp !== 'number' || (typeof aud !== 'string' && !Array.isArray(aud))) {
      return undefined;
    }
    const claims: AccessTokenClaims = { iss: issuer, sub, aud, client_id, scope, iat, exp, jti };
    if (verifiedBy !== undefined) verified?.remember(token, { claims, kid: verifiedBy.kid, verifiedBy: verifiedBy.key });
    return claims;
  } catch {
    return undefined;
  }
}

export function audiences(aud: string | string[]): string[] {
  return typeof aud === 'string' ? [aud] : aud;
}
