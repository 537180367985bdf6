// GET /oauth2/authorize (RFC 6749 section 4.1.1, RFC 7636, RFC 9207, OpenID Connect Core 1.0
// section 3.1.2): checks the request, then hands the person over to the portal, which signs them
// in and asks their consent (controller/portal/routes/authorize.ts) and then calls
// `completeAuthorization` or `denyAuthorization` here through its `authorization` dependency. The
// portal checks the request again with `parseAuthorizationRequest`: a query string is the
// browser's, and may have been edited between the two.
//
// Steps: the client and its redirect URI (an error page when either is wrong: never a redirect to
// a URI that is not known to be the client's) → every other check, each failure redirected to the
// client with `error`, `state` and `iss` → the portal.
import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApplicationRecord } from '../store/records.ts';
import { authorizationCodeId, type AuthorizationCodeRecord } from '../store/authorization-codes.ts';
import type { OAuthContext } from './context.ts';
import { AUTHORIZATION_CODE_BYTES } from './defaults.ts';
import { accessDenied, errorBody, invalidRequest, noStore, OAuthError, toOAuthError, unauthorizedClient } from './errors.ts';
import { seconds, userSubject } from './issue.ts';
import { currentScopeMap } from './liveness.ts';
import { audiencesOf, grantScopes, parseScope } from './scopes.ts';

/** A checked authorization request: what the portal shows for consent and completes. */
export interface AuthorizationRequest {
  app: ApplicationRecord;
  clientId: string;
  redirectUri: string;
  scopes: string[];
  state?: string;
  nonce?: string;
  /** The PKCE S256 challenge. */
  codeChallenge: string;
  /** OpenID Connect's `prompt`: space-separated `none`, `login`, `consent`, `select_account`. */
  prompt?: string;
  /** OpenID Connect's `max_age`: the oldest sign-in, in seconds, that this request accepts. */
  maxAge?: number;
}

export type AuthorizationParse =
  | { kind: 'ok'; request: AuthorizationRequest }
  /** Send the browser there (303): an error for the client, with `state` and `iss`. */
  | { kind: 'redirect'; location: string }
  /** Show the person an error page: the client or its redirect URI is not known to be right. */
  | { kind: 'error-page'; status: number; message: string };

/** How the portal reaches the authorization endpoint's work (PortalDeps.authorization), with the OAuth context bound. */
export interface Authorization {
  parse(query: Record<string, unknown>): AuthorizationParse;
  complete(request: AuthorizationRequest, who: { user: string; authTime: number }): Promise<string>;
  deny(request: AuthorizationRequest, error?: DenialCode): string;
}

/** Why the person's side refused: they said no, or (`prompt=none`) it would need them and may not ask. */
export type DenialCode = 'access_denied' | 'consent_required' | 'login_required' | 'interaction_required';

export function authorization(ctx: () => OAuthContext): Authorization {
  return {
    parse: (query) => parseAuthorizationRequest(ctx(), query),
    complete: (request, who) => completeAuthorization(ctx(), request, who),
    deny: (request, error) => denyAuthorization(ctx(), request, error),
  };
}

// The longest client id a manifest allows (client-auth.ts); anything longer is no client's.
const MAX_CLIENT_ID_LENGTH = 128;
// `state` and `nonce` come back to the client and into the ID token; bounded so neither carries a payload.
const MAX_OPAQUE_LENGTH = 512;
// RFC 7636 section 4.2: BASE64URL(SHA256(code_verifier)) is always 43 characters.
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
const PROMPTS: ReadonlySet<string> = new Set(['none', 'login', 'consent', 'select_account']);
// An error may name one of these; any other parameter name is the caller's input, described, not echoed.
const KNOWN_PARAMETERS: ReadonlySet<string> = new Set([
  'response_type', 'client_id', 'redirect_uri', 'scope', 'state', 'nonce', 'code_challenge', 'code_challenge_method',
  'prompt', 'response_mode', 'request', 'request_uri', 'max_age', 'login_hint', 'ui_locales', 'display', 'claims',
]);

/**
 * Checks an authorization request's query (as Fastify parses it: a parameter given twice is an
 * array). RFC 6749 section 4.1.2.1: "If the request fails due to a missing, invalid, or
 * mismatching redirection URI, or if the client identifier is missing or invalid, the
 * authorization server SHOULD inform the resource owner of the error and MUST NOT automatically
 * redirect the user-agent to the invalid redirection URI." An inactive application counts as an
 * invalid client here: it was shut down by its publisher (perhaps because it was compromised), so
 * nobody is sent to it, not even with an error.
 */
export function parseAuthorizationRequest(ctx: OAuthContext, query: Record<string, unknown>): AuthorizationParse {
  const clientId = query.client_id;
  if (Array.isArray(clientId)) return errorPage('The request names its client (client_id) more than once.');
  if (typeof clientId !== 'string' || clientId === '') return errorPage('The request does not name a client (client_id).');
  const app = clientId.length > MAX_CLIENT_ID_LENGTH ? undefined : ctx.config.applicationByClientId(clientId);
  if (app === undefined) return errorPage('No application has this client id.');
  const redirectUri = query.redirect_uri;
  if (Array.isArray(redirectUri)) return errorPage('The request names its redirect URI (redirect_uri) more than once.');
  if (typeof redirectUri !== 'string' || redirectUri === '') return errorPage('The request does not name a redirect URI (redirect_uri).');
  if (app.spec.state !== 'active') return errorPage('This application is inactive: it cannot sign anybody in.');
  if (!redirectUriRegistered(app.spec.redirectUris ?? [], redirectUri)) {
    return errorPage('The redirect URI (redirect_uri) is not one registered for this application.');
  }

  // From here on the client and where it listens are known: errors go back to it.
  // An over-long state is refused below, and not echoed: the error redirect carries no payload either.
  const state = typeof query.state === 'string' && query.state !== '' && query.state.length <= MAX_OPAQUE_LENGTH ? query.state : undefined;
  const fail = (error: OAuthError): AuthorizationParse => ({ kind: 'redirect', location: errorLocation(ctx, redirectUri, error, state) });
  try {
    return { kind: 'ok', request: checkRequest(ctx, app, clientId, redirectUri, query) };
  } catch (error) {
    if (error instanceof OAuthError) return fail(error);
    throw error;
  }
}

function checkRequest(ctx: OAuthContext, app: ApplicationRecord, clientId: string, redirectUri: string, query: Record<string, unknown>): AuthorizationRequest {
  // RFC 6749 section 3.1: "Request and response parameters MUST NOT be included more than once."
  for (const [name, value] of Object.entries(query)) {
    if (typeof value !== 'string') {
      throw invalidRequest(KNOWN_PARAMETERS.has(name) ? `parameter '${name}' is included more than once` : 'a parameter is included more than once');
    }
  }
  // Section 3.1: "Parameters sent without a value MUST be treated as if they were omitted".
  const param = (name: string) => (query[name] === '' ? undefined : (query[name] as string | undefined));
  // OpenID Connect Core 1.0 section 6: request objects are not supported, by value or by reference.
  if (param('request') !== undefined) throw new OAuthError('request_not_supported', 'request objects (request) are not supported');
  if (param('request_uri') !== undefined) throw new OAuthError('request_uri_not_supported', 'request objects by reference (request_uri) are not supported');
  const responseMode = param('response_mode');
  if (responseMode !== undefined && responseMode !== 'query') throw invalidRequest('response_mode must be query');
  const responseType = param('response_type');
  if (responseType === undefined) throw invalidRequest("missing required parameter 'response_type'");
  if (responseType !== 'code') throw new OAuthError('unsupported_response_type', 'the only response type is code');
  // "The client is not authorized to request an authorization code using this method."
  if (!app.spec.grantTypes.includes('authorization_code')) throw unauthorizedClient('this client may not use the authorization_code grant');

  // RFC 7636 section 4.4.1, for every client (RFC 9700 section 2.1.1): a challenge, and S256.
  // An absent method means `plain` (section 4.3), which is refused: it protects nothing once
  // the authorization request has been seen.
  const codeChallenge = param('code_challenge');
  if (codeChallenge === undefined) throw invalidRequest('code_challenge is required (PKCE, RFC 7636)');
  if (param('code_challenge_method') !== 'S256') throw invalidRequest('code_challenge_method must be S256');
  if (!S256_CHALLENGE.test(codeChallenge)) throw invalidRequest('code_challenge must be 43 base64url characters (S256)');

  const state = param('state');
  const nonce = param('nonce');
  if ((state?.length ?? 0) > MAX_OPAQUE_LENGTH) throw invalidRequest(`state must be at most ${MAX_OPAQUE_LENGTH} characters`);
  if ((nonce?.length ?? 0) > MAX_OPAQUE_LENGTH) throw invalidRequest(`nonce must be at most ${MAX_OPAQUE_LENGTH} characters`);
  const prompt = param('prompt');
  if (prompt !== undefined) {
    const prompts = prompt.split(' ');
    if (!prompts.every((value) => PROMPTS.has(value))) throw invalidRequest('prompt must be none, login, consent or select_account');
    // Core 1.0 section 3.1.2.1: "If this parameter contains none with any other value, an error is returned."
    if (prompts.includes('none') && prompts.length > 1) throw invalidRequest('prompt none cannot be combined with another value');
  }

  // Core 1.0 section 3.1.2.1: "Maximum Authentication Age ... in seconds"; a sign-in older than
  // that must be made again (the portal's authorize route does it).
  const maxAgeParam = param('max_age');
  if (maxAgeParam !== undefined && !/^[0-9]{1,9}$/.test(maxAgeParam)) throw invalidRequest('max_age must be a number of seconds (0 to 999999999)');
  const maxAge = maxAgeParam === undefined ? undefined : Number(maxAgeParam);

  // The scopes the token endpoint would grant: held by the application and existing now (scopes.ts).
  const scopes = grantScopes(parseScope(param('scope')), app.spec.scopes, ctx.slow.published());
  return {
    app, clientId, redirectUri, scopes, codeChallenge,
    ...(state === undefined ? {} : { state }),
    ...(nonce === undefined ? {} : { nonce }),
    ...(prompt === undefined ? {} : { prompt }),
    ...(maxAge === undefined ? {} : { maxAge }),
  };
}

// RFC 8252 section 7.3: loopback redirect URIs on an IP literal, where the port is the app's.
const LOOPBACK = /^http:\/\/(127\.0\.0\.1|\[::1\])(?::([0-9]{1,5}))?([/?].*)?$/;

/**
 * RFC 9700 section 2.1 (and 4.1.3): "When comparing client redirection URIs against
 * pre-registered URIs, authorization servers MUST utilize exact string matching except for port
 * numbers in localhost redirection URIs of native apps". So: the requested
 * URI equals a registered one character for character (no normalisation: not case, not a
 * trailing slash, not a default port), except that for `http://127.0.0.1` and `http://[::1]`
 * the port may differ (RFC 8252 section 7.3: "The authorization server MUST allow any port to be
 * specified at the time of the request for loopback IP redirect URIs, to accommodate clients that
 * obtain an available ephemeral port from the operating system at the time of the request").
 * Host, path and query must still be exactly the registered ones.
 */
export function redirectUriRegistered(registered: readonly string[], requested: string): boolean {
  if (registered.includes(requested)) return true;
  const asked = LOOPBACK.exec(requested);
  if (asked === null || !validPort(asked[2])) return false;
  return registered.some((uri) => {
    const known = LOOPBACK.exec(uri);
    return known !== null && known[1] === asked[1] && (known[3] ?? '') === (asked[3] ?? '');
  });
}

function validPort(port: string | undefined): boolean {
  if (port === undefined) return true;
  const number = Number(port);
  return /^[1-9][0-9]*$/.test(port) && number <= 65535;
}

/**
 * Issues a code for a request the person approved (the portal signed them in), and answers where
 * to send the browser: the redirect URI with `code`, `state` and `iss`. Reads the application and
 * the user again: one deactivated, or a user removed, since the request was checked gets no code
 * (an OAuthError: the portal shows its error page). `authTime` in seconds.
 */
export async function completeAuthorization(ctx: OAuthContext, request: AuthorizationRequest, who: { user: string; authTime: number }): Promise<string> {
  // One synchronous step: the generation the application and user records were read at, which the
  // code and every token from it carry (liveness.ts).
  const generation = ctx.tokens.cutOffs.generation();
  const app = ctx.config.applicationByClientId(request.clientId);
  const user = ctx.config.user(who.user);
  if (app === undefined || app.name !== request.app.name || app.spec.state !== 'active' || !app.spec.grantTypes.includes('authorization_code')) {
    throw accessDenied('the application can no longer sign people in');
  }
  if (user === undefined) throw accessDenied('the user no longer exists');
  let scopes: string[];
  let aud: string[];
  let grants: number;
  try {
    const map = currentScopeMap(ctx, request.scopes);
    // A scope the application no longer holds, or no Api publishes any more, is not granted.
    scopes = grantScopes(request.scopes, app.spec.scopes, map.published);
    aud = audiencesOf(scopes, map.published, ctx.issuer);
    grants = map.generation;
  } catch (error) {
    if (error instanceof OAuthError) return errorLocation(ctx, request.redirectUri, error, request.state);
    throw error;
  }
  const code = randomBytes(AUTHORIZATION_CODE_BYTES).toString('base64url');
  const now = seconds(ctx.now());
  const exp = now + Math.ceil(ctx.options.authorizationCodeLifetime / 1000);
  const record: AuthorizationCodeRecord = {
    v: 1, id: authorizationCodeId(code), app: app.name, clientId: app.spec.clientId, redirectUri: request.redirectUri,
    codeChallenge: request.codeChallenge, sub: userSubject(user.name), scope: scopes.join(' '), aud, authTime: who.authTime,
    iat: now, exp, keepUntil: exp, issuedUnder: { application: generation, grants, user: generation },
    ...(request.nonce === undefined ? {} : { nonce: request.nonce }),
  };
  try {
    await ctx.codes.issue(record);
  } catch (error) {
    // A full disk: the client is told to try later (temporarily_unavailable); anything else is a bug.
    const answer = toOAuthError(error);
    if (answer.code !== 'temporarily_unavailable') throw error;
    return errorLocation(ctx, request.redirectUri, answer, request.state);
  }
  return responseLocation(ctx, request.redirectUri, { code, ...(request.state === undefined ? {} : { state: request.state }) });
}

/** The person refused (or, with `prompt=none`, would have to be asked): the redirect URI with the error, `state` and `iss`. */
export function denyAuthorization(ctx: OAuthContext, request: AuthorizationRequest, error: DenialCode = 'access_denied'): string {
  const description: Record<DenialCode, string> = {
    access_denied: 'the user denied the request',
    consent_required: 'the user has not consented to this request, and prompt none forbids asking',
    login_required: 'the user is not signed in, and prompt none forbids asking',
    interaction_required: 'the request needs the user, and prompt none forbids asking',
  };
  return errorLocation(ctx, request.redirectUri, new OAuthError(error, description[error]), request.state);
}

/** The redirect URI with an error (RFC 6749 section 4.1.2.1), `state` as received and `iss` (RFC 9207). */
function errorLocation(ctx: OAuthContext, redirectUri: string, error: OAuthError, state: string | undefined): string {
  const body = errorBody(error);
  const params: Record<string, string> = { error: body.error };
  if (body.error_description !== undefined) params.error_description = body.error_description;
  if (state !== undefined) params.state = state;
  return responseLocation(ctx, redirectUri, params);
}

/**
 * RFC 6749 section 3.1.2: the redirect URI "MAY include an application/x-www-form-urlencoded
 * formatted ... query component, which MUST be retained when adding additional query
 * parameters". The registered URI is kept as it is, not re-serialised. RFC 9207 section 2: "the
 * authorization server MUST send the iss parameter" with every response, errors included.
 */
function responseLocation(ctx: OAuthContext, redirectUri: string, params: Record<string, string>): string {
  const query = new URLSearchParams({ ...params, iss: ctx.issuer }).toString();
  return `${redirectUri}${redirectUri.includes('?') ? '&' : '?'}${query}`;
}

function errorPage(message: string): AuthorizationParse {
  return { kind: 'error-page', status: 400, message };
}

/** GET /oauth2/authorize: to the portal with the same query, or the client with an error, or an error page. */
export function authorizationEndpoint(ctx: OAuthContext) {
  return async function authorize(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const question = request.url.indexOf('?');
    return answerAuthorization(ctx, reply, request.query as Record<string, unknown>, question === -1 ? '' : request.url.slice(question + 1));
  };
}

/**
 * POST /oauth2/authorize with a form body (OpenID Connect Core 1.0 section 3.1.2.1: "Authorization
 * Servers MUST support the use of the HTTP GET and POST methods"): the same checks, then the
 * portal with the form's parameters as its query. A body that is not a form is an error page: the
 * client cannot be known from it.
 */
export function authorizationFormEndpoint(ctx: OAuthContext) {
  return async function authorizeByForm(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/x-www-form-urlencoded' || typeof request.body !== 'string') {
      return sendErrorPage(noStore(reply), 400, 'The request is not a form (application/x-www-form-urlencoded).');
    }
    const form = new URLSearchParams(request.body);
    const query: Record<string, string | string[]> = {};
    for (const [name, value] of form) {
      const seen = query[name];
      query[name] = seen === undefined ? value : [...[seen].flat(), value];
    }
    return answerAuthorization(ctx, reply, query, form.toString());
  };
}

function answerAuthorization(ctx: OAuthContext, reply: FastifyReply, query: Record<string, unknown>, queryString: string): FastifyReply {
  noStore(reply);
  const parsed = parseAuthorizationRequest(ctx, query);
  switch (parsed.kind) {
    case 'ok':
      return reply.code(303).header('location', `${PORTAL_AUTHORIZE}?${queryString}`).send();
    case 'redirect':
      return reply.code(303).header('location', parsed.location).send();
    case 'error-page':
      return sendErrorPage(reply, parsed.status, parsed.message);
  }
}

/** Where the portal serves sign-in and consent for an authorization request. */
export const PORTAL_AUTHORIZE = '/portal/authorize';

/**
 * A small page of its own (the OAuth server does not import the portal): no script, no style
 * from elsewhere, never framed, never cached, never sniffed (the listener adds nosniff). The
 * message is one of this file's, escaped anyway.
 */
export function sendErrorPage(reply: FastifyReply, status: number, message: string): FastifyReply {
  const page = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Sign-in error</title>
</head>
<body><h1>This sign-in request cannot be completed</h1><p>${escapeHtml(message)}</p>
<p>Go back to the application and try again; if this keeps happening, tell its developers.</p></body>
</html>
`;
  return noStore(reply)
    .code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('content-security-policy', "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'no-referrer')
    .header('x-content-type-options', 'nosniff')
    .send(page);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
