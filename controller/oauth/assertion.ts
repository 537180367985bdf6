// private_key_jwt client authentication (RFC 7523 sections 2.2 and 3, RFC 7521 section 4.2).
import type { FastifyBaseLogger } from 'fastify';
import { createLocalJWKSet, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JSONWebKeySet } from 'jose';
import { withoutWeakKeys } from '../manifests/client-keys.ts';
import type { ApplicationRecord } from '../store/records.ts';
import type { OAuthContext } from './context.ts';
import { ASSERTION_ALGORITHMS } from './defaults.ts';
import { invalidClient } from './errors.ts';

type KeySet = ReturnType<typeof createLocalJWKSet>;

// Key sets built from manifests, by application and the commit its record came from: building
// one parses and checks every key, so it is done once per version of the manifest.
const keySets = new Map<string, KeySet>();

function keySetOf(app: ApplicationRecord, log: Pick<FastifyBaseLogger, 'warn'> | undefined): KeySet | undefined {
  if (app.jwks === undefined) return undefined;
  const cacheKey = `${app.name}@${app.commit}`;
  let keySet = keySets.get(cacheKey);
  if (keySet === undefined) {
    if (keySets.size >= 1000) keySets.clear();
    // A record from before validation refused weak keys may hold one: an RSA exponent of 1 would
    // let anyone sign as the client. Such keys are left out, and the operator told once.
    const { jwks, dropped } = withoutWeakKeys(app.jwks);
    if (dropped.length > 0) log?.warn({ app: app.name, commit: app.commit, reason: dropped.join('; ') }, UNUSABLE_KEY_MESSAGE);
    keySet = createLocalJWKSet(jwks as JSONWebKeySet);
    keySets.set(cacheKey, keySet);
  }
  return keySet;
}

const MAX_JTI_LENGTH = 256;

/**
 * Verifies a client assertion for `app` and consumes its `jti`. Throws invalid_client, with the
 * generic description until the signature is known to be the client's.
 */
export async function verifyClientAssertion(
  ctx: OAuthContext, app: ApplicationRecord, assertion: string, log?: Pick<FastifyBaseLogger, 'warn'>,
): Promise<void> {
  let keySet: KeySet | undefined;
  try {
    keySet = keySetOf(app, log);
  } catch (err) {
    throw unusableKey(app, err, log);
  }
  if (keySet === undefined) throw invalidClient();
  let alg: string | undefined;
  try {
    alg = decodeProtectedHeader(assertion).alg;
  } catch {
    throw invalidClient();
  }
  // Asymmetric algorithms only: `none` and HS256 signed with a public key as the secret are
  // refused before any key is looked at. Keys come from the manifest's JWKS only; `jku`, `jwk`,
  // `x5u` and `x5c` in the header are never used to find one.
  if (alg === undefined || !(ASSERTION_ALGORITHMS as readonly string[]).includes(alg)) throw invalidClient();
  const now = ctx.now();
  const clientId = app.spec.clientId;
  let claims: { exp?: number; jti?: unknown };
  try {
    ({ payload: claims } = await jwtVerify(assertion, keySet, {
      algorithms: [...ASSERTION_ALGORITHMS],
      // RFC 7523 section 3: "The JWT MUST contain an "iss" (issuer) claim that contains a unique
      // identifier for the entity that issued the JWT" and, for client authentication, "the
      // subject MUST be the "client_id" of the OAuth client."
      issuer: clientId,
      subject: clientId,
      // "The JWT MUST contain an "aud" (audience) claim containing a value that identifies the
      // authorization server as an intended audience. The token endpoint URL of the
      // authorization server MAY be used as a value for an "aud" element".
      audience: [ctx.issuer, ctx.endpoints.token],
      requiredClaims: ['exp', 'jti'],
      currentDate: new Date(now),
      clockTolerance: ctx.options.clockTolerance,
    }));
  } catch (err) {
    if (isKeyFailure(err)) throw unusableKey(app, err, log);
    if (err instanceof joseErrors.JOSEError) throw invalidClient();
    throw err;
  }
  const exp = claims.exp!;
  if (exp * 1000 > now + ctx.options.assertionMaxLifetime + ctx.options.clockTolerance * 1000) {
    throw invalidClient('the client assertion expires too far in the future');
  }
  const jti = claims.jti;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH) throw invalidClient('the client assertion has no usable jti');
  // RFC 7523 section 3: "The authorization server MAY ensure that JWTs are not replayed by
  // maintaining the set of used "jti" values for the length of time for which the JWT would be
  // considered valid based on the applicable "exp" instant." Kept in LMDB, so a restart does
  // not forget them.
  const first = await ctx.tokens.useAssertionId(app.name, jti, exp + ctx.options.clockTolerance, Math.floor(now / 1000));
  if (!first) throw invalidClient('the client assertion was already used');
}

/**
 * A failure of the application's own key rather than of the assertion: jose refuses an RSA key
 * under 2048 bits with a TypeError, WebCrypto an EC point off its curve with a DOMException, and
 * jose a malformed JWK or JWKS with JWKInvalid or JWKSInvalid. Validation refuses such keys
 * (controller/manifests/client-keys.ts); a record written before it did, or by an older
 * controller, still holds them.
 */
function isKeyFailure(err: unknown): boolean {
  if (err instanceof joseErrors.JWKInvalid || err instanceof joseErrors.JWKSInvalid) return true;
  return !(err instanceof joseErrors.JOSEError);
}

/**
 * The client cannot authenticate with a key the server cannot use: RFC 6749 section 5.2,
 * invalid_client ("Client authentication failed"), with nothing on the wire about the key. The
 * operator learns which application and why, at warn: it needs its manifest fixed, not a stack.
 */
function unusableKey(app: ApplicationRecord, err: unknown, log: Pick<FastifyBaseLogger, 'warn'> | undefined) {
  const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  log?.warn({ app: app.name, commit: app.commit, reason }, UNUSABLE_KEY_MESSAGE);
  return invalidClient();
}

const UNUSABLE_KEY_MESSAGE = 'a client key of this application cannot be used; its private_key_jwt authentication fails until the manifest lists a usable key';
