// Every error the OAuth server can answer with, declared once and serialized in one place.
//
// Codes come from RFC 6749 section 5.2 (token endpoint), RFC 7009 section 2.2.1 (revocation) and
// RFC 7662 (which reuses RFC 6749's), and RFC 6750 section 3.1 for bearer tokens. Each use refines a code with a description; the code, its
// HTTP status and the headers are decided here only. Anything that is not an OAuthError becomes
// `server_error` with no detail on the wire.
import type { FastifyReply } from 'fastify';
import { isTemporarilyUnavailable } from '../store/errors.ts';
import { RETRY_AFTER_SECONDS } from '../store/health.ts';

export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'unsupported_token_type'
  | 'invalid_token'
  | 'slow_down'
  | 'access_denied'
  | 'not_found'
  | 'server_error'
  | 'temporarily_unavailable'
  | 'unsupported_response_type'
  | 'request_not_supported'
  | 'request_uri_not_supported'
  | 'consent_required'
  | 'login_required'
  | 'interaction_required'
  | 'insufficient_scope';

/** What each code means here; `errors.test.ts` checks every code is documented in README.md. */
export const ERROR_STATUS: Record<OAuthErrorCode, number> = {
  // RFC 6749 section 5.2: "The authorization server responds with an HTTP 400 (Bad Request)
  // status code (unless specified otherwise)".
  invalid_request: 400,
  // "...MAY return an HTTP 401 (Unauthorized) status code ... If the client attempted to
  // authenticate via the "Authorization" request header field, the authorization server MUST
  // respond with an HTTP 401". Answering 401 always keeps the answer independent of the method.
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
  unsupported_token_type: 400,
  // RFC 6750 section 3.1, on the token listing routes: the bearer token "is expired, revoked,
  // malformed, or invalid for other reasons", or is not the application's own.
  invalid_token: 401,
  // The token request rate of the application's plan is used up. `slow_down` is a registered
  // OAuth error code (RFC 8628 section 3.5): "the client ... MUST increase the interval".
  slow_down: 429,
  // The token listing routes: authenticated, but as another application.
  access_denied: 403,
  not_found: 404,
  server_error: 500,
  // The store cannot write (a full disk): RFC 6749 section 4.1.2.1 names the code, "The
  // authorization server is currently unable to handle the request due to a temporary overloading
  // or maintenance of the server", and RFC 7009 section 2.2.1 the status: "If the server responds
  // with HTTP status code 503, the client must assume the token still exists and may retry after a
  // reasonable delay. The server may include a "Retry-After" header".
  temporarily_unavailable: 503,
  // The authorization endpoint's own codes (RFC 6749 section 4.1.2.1; OpenID Connect Core 1.0
  // sections 3.1.2.6 and 6.1): sent in the redirect to the client, never as an HTTP status of
  // their own; 400 is what they would be as an answer.
  unsupported_response_type: 400,
  request_not_supported: 400,
  request_uri_not_supported: 400,
  consent_required: 400,
  login_required: 400,
  interaction_required: 400,
  // RFC 6750 section 3.1, at the userinfo endpoint: "The request requires higher privileges than
  // provided by the access token. The resource server SHOULD respond with the HTTP 403 (Forbidden)
  // status code".
  insufficient_scope: 403,
};

export class OAuthError extends Error {
  readonly code: OAuthErrorCode;
  readonly status: number;
  readonly description: string | undefined;
  /** Seconds, for `Retry-After` on 429 and 503 answers. */
  readonly retryAfter: number | undefined;
  /** The methods the route answers, for `Allow` on 405 answers. */
  readonly allow: readonly string[] | undefined;

  constructor(code: OAuthErrorCode, description?: string, options: { status?: number; retryAfter?: number; allow?: readonly string[] } = {}) {
    super(description === undefined ? code : `${code}: ${description}`);
    this.name = 'OAuthError';
    this.code = code;
    this.status = options.status ?? ERROR_STATUS[code];
    this.description = description;
    this.retryAfter = options.retryAfter;
    this.allow = options.allow;
  }
}

export const invalidRequest = (description: string, status?: number) =>
  new OAuthError('invalid_request', description, status === undefined ? {} : { status });
// One description for every client authentication failure, so an unknown client, a wrong secret
// and a method the client is not registered for cannot be told apart.
export const invalidClient = (description = 'client authentication failed') => new OAuthError('invalid_client', description);
export const invalidGrant = (description: string) => new OAuthError('invalid_grant', description);
export const unauthorizedClient = (description: string) => new OAuthError('unauthorized_client', description);
export const unsupportedGrantType = (description: string) => new OAuthError('unsupported_grant_type', description);
export const invalidScope = (description: string) => new OAuthError('invalid_scope', description);
export const slowDown = (retryAfterSeconds: number, description: string) =>
  new OAuthError('slow_down', description, { retryAfter: retryAfterSeconds });
export const accessDenied = (description: string) => new OAuthError('access_denied', description);
export const notFound = (description: string) => new OAuthError('not_found', description);
export const invalidToken = (description: string) => new OAuthError('invalid_token', description);
export const insufficientScope = (description: string) => new OAuthError('insufficient_scope', description);
export const temporarilyUnavailable = (description = 'the server cannot store tokens now; retry later') =>
  new OAuthError('temporarily_unavailable', description, { retryAfter: RETRY_AFTER_SECONDS });
/**
 * A method the route does not answer. RFC 9110 section 15.5.6: "The origin server MUST generate
 * an Allow header field in a 405 response containing a list of the target resource's currently
 * supported methods." The body is an RFC 6749 error like every other answer here.
 */
export const methodNotAllowed = (allow: readonly string[]) =>
  new OAuthError('invalid_request', `this endpoint answers ${allow.join(' and ')} only`, { status: 405, allow });

/** RFC 6749 section 5.1: "Cache-Control: no-store" and "Pragma: no-cache" on sensitive answers. */
export function noStore(reply: FastifyReply): FastifyReply {
  return reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
}

// RFC 6749 section 5.2: error_description is limited to %x20-21 / %x23-5B / %x5D-7E.
const NOT_DESCRIPTION_CHAR = /[^\x20\x21\x23-\x5b\x5d-\x7e]/g;

export interface ErrorBody {
  error: OAuthErrorCode;
  error_description?: string;
}

/**
 * An error Fastify raised before a handler ran (a body too large, of a type no parser takes, that
 * does not parse, a bad content length): the client's, so `invalid_request` with Fastify's 4xx
 * status, described without Fastify's words. Anything else goes on as it is.
 */
export function fromFramework(err: unknown): unknown {
  if (err instanceof OAuthError || typeof err !== 'object' || err === null) return err;
  const status = (err as { statusCode?: unknown }).statusCode;
  if (status === 413) return invalidRequest('the request body is too large', 413);
  if (status === 415) return invalidRequest('the request body is of a type this endpoint does not read', 415);
  if (typeof status === 'number' && status >= 400 && status < 500) return invalidRequest('the request could not be read');
  return err;
}

/**
 * Turns anything thrown into the error answered on the wire. A write the store could not commit,
 * or a shared database it cannot reach, is the server's temporary trouble, not a bug: 503 with
 * Retry-After, and nothing of the cause.
 */
export function toOAuthError(err: unknown): OAuthError {
  if (err instanceof OAuthError) return err;
  if (isTemporarilyUnavailable(err)) return temporarilyUnavailable(err.code === 'store.unwritable' ? undefined : 'the server cannot reach its state now; retry later');
  return new OAuthError('server_error');
}

export function errorBody(err: OAuthError): ErrorBody {
  return err.description === undefined
    ? { error: err.code }
    : { error: err.code, error_description: err.description.replace(NOT_DESCRIPTION_CHAR, '?') };
}

/**
 * Writes the error answer: status, RFC 6749 body, no-store headers, the challenge on 401 (Bearer
 * for a refused bearer token, RFC 6750 section 3; Basic otherwise) and `Retry-After` on 429 and 503. The
 * only place an error reaches the wire.
 */
export function sendError(reply: FastifyReply, err: unknown, realm: string): FastifyReply {
  const error = toOAuthError(err);
  if (error.code === 'temporarily_unavailable' && !(err instanceof OAuthError)) reply.log.warn({ err }, 'the store cannot write or cannot be reached; answered 503');
  else if (!(err instanceof OAuthError)) reply.log.error({ err }, 'unexpected error in the OAuth server');
  noStore(reply).code(error.status);
  if (error.code === 'invalid_token') reply.header('www-authenticate', `Bearer realm="${realm}", error="invalid_token"`);
  else if (error.code === 'insufficient_scope') reply.header('www-authenticate', `Bearer realm="${realm}", error="insufficient_scope", scope="openid"`);
  else if (error.status === 401) reply.header('www-authenticate', `Basic realm="${realm}", charset="UTF-8"`);
  if (error.retryAfter !== undefined) reply.header('retry-after', String(error.retryAfter));
  if (error.allow !== undefined) reply.header('allow', error.allow.join(', '));
  return reply.type('application/json; charset=utf-8').send(errorBody(error));
}
