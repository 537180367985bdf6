// private_key_jwt client authentication (RFC 7523 sections 2.2 and 3, RFC 7521 section 4.2).
import type { FastifyBaseLogger } from 'fastify';
import { createLocalJWKSet, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
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

// RFC 7515 section 4.1.9: `typ` may leave out "application/"; compared case-insensitively.
// Absent, the generic "JWT", or the explicit type draft-ietf-oauth-rfc7523bis registers for
// client authentication. Any other type is a JWT made for something else (an RFC 9068 access
// token, a DPoP proof, an ID token...) and is never taken as a client assertion (RFC 8725
// section 3.11, explicit typing against cross-JWT confusion).
const ASSERTION_TYPES = new Set(['jwt', 'client-authentication+jwt']);

/**
 * Verifies a client assertion for `app` and consumes its `jti`. Throws invalid_client, with the
 * generic description until the signature is known to be the client's; after that the
 * description names the claim at fault, which only the key's holder gets to read.
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
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(assertion);
  } catch {
    throw invalidClient();
  }
  // Asymmetric algorithms only: `none` and HS256 signed with a public key as the secret are
  // refused before any key is looked at. Keys come from the manifest's JWKS only; `jku`, `jwk`,
  // `x5u` and `x5c` in the header are never used to find one.
  const alg = header.alg;
  if (alg === undefined || !(ASSERTION_ALGORITHMS as readonly string[]).includes(alg)) throw invalidClient();
  if (header.typ !== undefined && (typeof header.typ !== 'string' || !ASSERTION_TYPES.has(header.typ.toLowerCase().replace(/^application\//, '')))) {
    throw invalidClient();
  }
  const now = ctx.now();
  const clientId = app.spec.clientId;
  let claims: JWTPayload;
  try {
    ({ payload: claims } = await jwtVerify(assertion, keySet, {
      algorithms: [...ASSERTION_ALGORITHMS],
      // RFC 7523 section 3: "The JWT MUST contain an "iss" (issuer) claim that contains a unique
      // identifier for the entity that issued the JWT" and, for client authentication, "the
      // subject MUST be the "client_id" of the OAuth client."
      issuer: clientId,
      subject: clientId,
      requiredClaims: ['exp', 'jti'],
      // `exp` and `nbf` are checked here with the tolerance; `iat` below.
      currentDate: new Date(now),
      clockTolerance: ctx.options.clockTolerance,
    }));
  } catch (err) {
    if (isKeyFailure(err)) throw unusableKey(app, err, log);
    if (err instanceof joseErrors.JOSEError) throw invalidClient();
    throw err;
  }
  // The signature is the client's from here on.

  // draft-ietf-oauth-rfc7523bis (the fix for CVE-2025-27370/27371): "the aud claim value MUST be
  // a JSON string, and not a single-valued JSON array. The authorization server MUST reject any
  // JWT that does not contain its issuer identifier as its sole audience value", and "the token
  // endpoint URL of the authorization server MUST NOT be used as an audience value". An array
  // or another URL of ours would let an assertion meant for one server be replayed at another.
  if (typeof claims.aud !== 'string' || claims.aud !== ctx.issuer) {
    throw invalidClient('the client assertion\'s aud must be the issuer identifier, as a single string');
  }
  // RFC 7519 section 4: "The Claim Names within a JWT Claims Set MUST be unique; JWT parsers MUST
  // either reject JWTs with duplicate Claim Names or use a JSON parser that returns only the
  // lexically last duplicate member name". Rejecting is the safe half: two readers of one
  // assertion can never see two different audiences or issuers.
  if (repeatsMember(assertion)) throw invalidClient('the client assertion repeats a claim or header parameter');
  // An assertion "issued" later than now (beyond the skew allowed) was made by a client whose
  // clock is wrong, or made in advance to be used later: neither is accepted.
  const tolerance = ctx.options.clockTolerance;
  if (claims.iat !== undefined && claims.iat > now / 1000 + tolerance) {
    throw invalidClient('the client assertion is issued in the future');
  }
  const exp = claims.exp!;
  if (exp * 1000 > now + ctx.options.assertionMaxLifetime + tolerance * 1000) {
    throw invalidClient('the client assertion expires too far in the future');
  }
  const jti = claims.jti;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH) throw invalidClient('the client assertion has no usable jti');
  // The used ids below live in the store; a store rebuilt from git has lost those used before the
  // rebuild. An assertion that could have been presented then (issued before it, or without `iat`
  // and alive at the time) is refused rather than taken on trust: the client makes a new one.
  const knownSince = await ctx.tokens.assertionIdsKnownSince();
  const issuedAt = typeof claims.iat === 'number' ? claims.iat : exp - ctx.options.assertionMaxLifetime / 1000;
  if (knownSince !== undefined && issuedAt * 1000 < knownSince) {
    throw invalidClient('the client assertion may have been used before the store was rebuilt: make a new one');
  }
  // RFC 7523 section 3: "The authorization server MAY ensure that JWTs are not replayed by
  // maintaining the set of used "jti" values for the length of time for which the JWT would be
  // considered valid based on the applicable "exp" instant." Kept in LMDB, so a restart does
  // not forget them.
  const first = await ctx.tokens.useAssertionId(app.name, jti, exp + tolerance, Math.floor(now / 1000));
  if (!first) throw invalidClient('the client assertion was already used');
}

/** Whether the JWS header or payload (valid JSON, already parsed once) has an object with a member name twice. */
export function repeatsMember(compact: string): boolean {
  const [header = '', payload = ''] = compact.split('.');
  return [header, payload].some((part) => jsonRepeatsMember(Buffer.from(part, 'base64url').toString('utf8')));
}

/** A scan of valid JSON text: one set of names per open object, names compared once unescaped. */
function jsonRepeatsMember(text: string): boolean {
  const open: (Set<string> | undefined)[] = [];
  let expectName = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let end = i + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const names = open.at(-1);
      if (expectName && names !== undefined) {
        const name = JSON.parse(text.slice(i, end + 1)) as string;
        if (names.has(name)) return true;
        names.add(name);
      }
      expectName = false;
      i = end;
    } else if (c === '{') {
      open.push(new Set());
      expectName = true;
    } else if (c === '[') {
      open.push(undefined);
      expectName = false;
    } else if (c === '}' || c === ']') {
      open.pop();
      expectName = false;
    } else if (c === ',') {
      expectName = open.at(-1) !== undefined;
    }
  }
  return false;
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
