// Every tunable of the OAuth server, with its default and the reason for it, in one place.
// `OAuthDeps.options` overrides any of them; README.md in this folder explains them to operators.

export type SigningAlg = 'ES256' | 'EdDSA' | 'RS256';

export interface OAuthOptions {
  /**
   * Algorithm of the keys that sign access tokens. ES256: measured here with
   * `npx tsx bench/sign-speed.ts`, it signs as fast as EdDSA through jose and faster
   * through OpenSSL directly, and every JOSE library verifies it. RS256 is available because
   * RFC 9068 section 4 says "Authorization servers ... MUST support RS256".
   */
  signingAlg: SigningAlg;
  /** How long one key signs before the next takes over (ms). The next key is published one period ahead. */
  keyRotationInterval: number;
  /**
   * The least time a retired key stays published (ms). It stays longer when a plan's access
   * tokens live longer, so a resource server can check every token until it expires.
   */
  minKeyRetention: number;
  /** How often the maintenance task runs (ms): key rotation, forgetting throttle entries. */
  maintenanceInterval: number;
  /** Body limit of the token, revocation and introspection routes (bytes). */
  bodyLimit: number;
  /** The furthest ahead a client assertion's `exp` may be (ms), which bounds how long its `jti` is remembered. */
  assertionMaxLifetime: number;
  /** Clock skew tolerated on client assertions' `exp`, `nbf` and `iat` (seconds). */
  clockTolerance: number;
  /**
   * How often a worker tells the others what its throttles allowed (ms), when several serve
   * together (see throttle.ts). Between two exchanges a burst spread over N workers can pass a
   * limit by what the others allow in that time.
   */
  throttleShareInterval: number;
  /** Failed client authentications tolerated per (client id, source address) per minute. */
  clientAuthFailuresPerMinute: number;
  /** Failed password grant attempts tolerated per (user, client, source address) per minute. */
  passwordFailuresPerMinute: number;
  /**
   * Introspections answered `{"active": false}`, and revocations that found nothing to revoke,
   * tolerated per client per minute (a burst of that many, then that rate). Past it both
   * endpoints answer 429 `slow_down` before looking at the token. Only misses count: a resource
   * server introspecting live tokens is never slowed, however many it checks; one that sends
   * random or forged tokens (guessing, or load) is.
   */
  inactiveTokensPerMinute: number;
  /** Most entries in one in-memory throttle before the oldest are forgotten. */
  throttleMaxEntries: number;
  /** Most tokens one page of `GET /api/v1/apps/:name/tokens` returns. */
  maxTokensPerPage: number;
  /**
   * How long a process keeps settings, plans and Apis before reading them again (ms); 0 reads
   * them on every request. Applications are always read afresh.
   */
  configCacheTtl: number;
  /**
   * How long an authorization code may be redeemed (ms). RFC 6749 section 4.1.2: "A maximum
   * authorization code lifetime of 10 minutes is RECOMMENDED"; a browser redirect and a token
   * request take seconds, so 60 s, and the ceiling.
   */
  authorizationCodeLifetime: number;
}

export const DEFAULT_OPTIONS: Readonly<OAuthOptions> = Object.freeze({
  signingAlg: 'ES256',
  keyRotationInterval: 24 * 60 * 60 * 1000,
  minKeyRetention: 24 * 60 * 60 * 1000,
  maintenanceInterval: 60 * 1000,
  // A token request is a few hundred bytes; a client assertion with a large RSA key about 2 KiB.
  bodyLimit: 16 * 1024,
  // RFC 7523 section 3: "The authorization server MAY reject JWTs with an "exp" claim value that
  // is unreasonably far in the future."
  assertionMaxLifetime: 5 * 60 * 1000,
  clockTolerance: 30,
  // Twenty small IPC messages a second per worker at most: nothing next to the token traffic.
  throttleShareInterval: 50,
  clientAuthFailuresPerMinute: 20,
  passwordFailuresPerMinute: 10,
  // Ten a second on average, 600 at once: expired and revoked tokens a busy resource server
  // meets fit many times over; 2,000 random tokens a second do not.
  inactiveTokensPerMinute: 600,
  throttleMaxEntries: 100_000,
  maxTokensPerPage: 1000,
  configCacheTtl: 1000,
  authorizationCodeLifetime: 60 * 1000,
});

/** Client assertion algorithms: asymmetric only, so no shared secret can ever verify one. */
export const ASSERTION_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'EdDSA'] as const;

/** Refresh tokens carry 256 bits of randomness (RFC 6749 section 10.10 asks at least 128). */
export const REFRESH_TOKEN_BYTES = 32;

/** The JWT `typ` of access tokens (RFC 9068 section 2.1). */
export const ACCESS_TOKEN_TYP = 'at+jwt';

/** Authorization codes carry 256 bits of randomness (RFC 6749 section 10.10). */
export const AUTHORIZATION_CODE_BYTES = 32;

/** The JWT `typ` of ID tokens: plain `JWT`, so an ID token is never taken for an access token (`at+jwt`). */
export const ID_TOKEN_TYP = 'JWT';

/** RFC 7523 section 2.2. */
export const JWT_BEARER_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/**
 * Subjects are namespaced so a client can never pose as a user: a token from client_credentials
 * has `sub: "client:<client id>"`, one from the password grant `sub: "user:<user name>"`.
 */
export const CLIENT_SUBJECT_PREFIX = 'client:';
export const USER_SUBJECT_PREFIX = 'user:';
