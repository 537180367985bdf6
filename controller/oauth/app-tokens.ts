// GET /api/v1/apps/:name/tokens and DELETE /api/v1/apps/:name/tokens/:id: an application's live
// tokens, for its developers (the CLI and the portal), authorised by the application's own
// client credentials in a Basic header, or (for a private_key_jwt application, which has no
// secret) by an access token it got for itself for this server (audience the issuer, scope
// `open` alone), as an RFC 6750 bearer token.
//
// What counts as live, and revoking by id, are live-tokens.ts's, shared with the portal.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { authenticateBasic } from './client-auth.ts';
import type { OAuthContext } from './context.ts';
import { accessDenied, invalidClient, invalidRequest, invalidToken, noStore, notFound, OAuthError, slowDown } from './errors.ts';
import { clientSubject, seconds } from './issue.ts';
import { livenessSources } from './liveness.ts';
import { ACCESS_ID_PREFIX, liveTokens, MAX_TOKEN_ID_LENGTH, REFRESH_ID_PREFIX, revokeTokenById, type TokenSummary } from './live-tokens.ts';
import { OPEN_SCOPE } from './scopes.ts';
import { retryAfterSeconds } from './throttle.ts';
import { findAccessToken } from './token-lookup.ts';
import type { ApplicationRecord } from '../store/records.ts';

export interface TokenList {
  tokens: TokenSummary[];
  /** Pass as `?after=` to get the next page. */
  next?: string;
}

interface Route {
  Params: { name: string; id?: string };
  /** Arrays when a parameter is repeated. */
  Querystring: { limit?: string | string[]; after?: string | string[] };
}


export function listTokensEndpoint(ctx: OAuthContext) {
  return async function listTokens(request: FastifyRequest<Route>, reply: FastifyReply): Promise<FastifyReply> {
    const app = await authoriseApplication(ctx, request);
    // Records this process is still gathering are written first (other workers' within ms).
    await ctx.tokens.flushAccessTokens();
    const limit = pageSize(ctx, request.query.limit);
    const after = cursorOf(request.query.after);
    const page = await ctx.tokens.listTokens(app.name, after === undefined ? { limit } : { limit, after });
    const list: TokenList = { tokens: await liveTokens(livenessSources(ctx), app, page, seconds(ctx.now())) };
    if (page.next !== undefined) list.next = `${page.next.startsWith('a:') ? ACCESS_ID_PREFIX : REFRESH_ID_PREFIX}${page.next.slice(2)}`;
    return noStore(reply).send(list);
  };
}

export function revokeTokenEndpoint(ctx: OAuthContext) {
  return async function revokeById(request: FastifyRequest<Route>, reply: FastifyReply): Promise<FastifyReply> {
    const app = await authoriseApplication(ctx, request);
    await ctx.tokens.flushAccessTokens();
    const id = request.params.id ?? '';
    const revoked = await revokeTokenById(ctx.tokens, app.name, id, seconds(ctx.now()));
    // Described, not echoed: the id is the caller's input.
    if (!revoked) throw notFound('no live token with this id for this application');
    return noStore(reply).code(204).send();
  };
}

/**
 * 401 unless the request carries a client secret of an active application (Basic) or a live token
 * it got for itself (Bearer); 403 unless that application is `:name`.
 */
async function authoriseApplication(ctx: OAuthContext, request: FastifyRequest<Route>): Promise<ApplicationRecord> {
  const bearer = bearerToken(request.headers.authorization);
  const app = bearer === undefined ? await authenticateBasic(ctx, request) : await throttledBearer(ctx, request, bearer);
  if (app.name !== request.params.name) throw accessDenied('these credentials belong to another application');
  return app;
}

// RFC 6750 section 2.1: "Bearer" 1*SP b64token.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** The token of a Bearer Authorization header; undefined for any other scheme. */
function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined || !/^bearer(?: |$)/i.test(header)) return undefined;
  const match = BEARER.exec(header);
  if (match === null) throw invalidRequest('malformed Authorization header');
  return match[1]!;
}

/**
 * The application a live access token was issued to, when the token is meant for these routes:
 * - the application got it for itself (client_credentials: `sub` is the client), so a user's
 *   token from the application does not let the user see or revoke the application's tokens;
 * - its audience is this server alone and its scope `open` alone, so no Api's token opens them:
 *   a resource server that receives a token, or whoever steals one from it, holds a token meant
 *   for that Api (RFC 9068 section 4: a token is used only where its `aud` points), never one
 *   for this server;
 * - the application has no secret (private_key_jwt): an application with a secret uses it, so
 *   none of its tokens is a management credential.
 */
async function tokenHolder(ctx: OAuthContext, token: string): Promise<ApplicationRecord> {
  const found = await findAccessToken(ctx, token);
  if (found === undefined) throw invalidToken('the access token is expired, revoked or not one of this server\'s');
  const { app, claims } = found;
  if (claims.sub !== clientSubject(app)) throw invalidToken('only a token the application got for itself (client_credentials) lists its tokens');
  if (claims.aud !== ctx.issuer || claims.scope !== OPEN_SCOPE) {
    throw invalidToken('this token is meant for an Api, not for this server: get one with client_credentials and scope open alone');
  }
  if (app.spec.tokenEndpointAuthMethod !== 'private_key_jwt') {
    throw invalidClient('this application authenticates with its client id and secret (HTTP Basic), not a bearer token');
  }
  return app;
}

/**
 * Refused bearer tokens count per source address in the failure throttle that Basic credentials
 * use, so random or stolen-and-misaddressed tokens cannot be tried here without limit either.
 */
async function throttledBearer(ctx: OAuthContext, request: FastifyRequest, token: string): Promise<ApplicationRecord> {
  const key = `\u0000bearer\u0000${request.ip}`;
  const { clientAuthFailures } = ctx.throttles;
  const perMinute = ctx.options.clientAuthFailuresPerMinute;
  const wait = clientAuthFailures.wait(key, ctx.now(), perMinute);
  if (wait > 0) throw slowDown(retryAfterSeconds(wait), 'too many refused bearer tokens; retry later');
  try {
    return await tokenHolder(ctx, token);
  } catch (err) {
    if (err instanceof OAuthError && err.status === 401) clientAuthFailures.hit(key, ctx.now(), perMinute);
    throw err;
  }
}

// Decimal digits only: `Number()` would also take `1e3`, `0x10`, ` 10` and `1.0`, so one page
// size would have many spellings and a cache or log in front would not see them as one.
const PAGE_SIZE = /^[1-9][0-9]{0,6}$/;

function pageSize(ctx: OAuthContext, raw: string | string[] | undefined): number {
  if (raw === undefined) return 100;
  const limit = typeof raw === 'string' && PAGE_SIZE.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(limit) || limit < 1 || limit > ctx.options.maxTokensPerPage) {
    throw invalidRequest(`limit must be a whole number from 1 to ${ctx.options.maxTokensPerPage}`);
  }
  return limit;
}

// The ids this server gives out: an access token's `jti` (a UUIDv7, issue.ts) and a refresh
// token's SHA-256 in base64url. A cursor is one of them, nothing else: not a prefix, not bytes
// that sort past every id to read the ranges in between.
const ACCESS_CURSOR = /^at_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const REFRESH_CURSOR = /^rt_[A-Za-z0-9_-]{43}$/;

function cursorOf(after: string | string[] | undefined): string | undefined {
  if (after === undefined) return undefined;
  if (typeof after !== 'string' || after.length > MAX_TOKEN_ID_LENGTH) throw invalidRequest('after must be a token id from a previous page');
  if (ACCESS_CURSOR.test(after)) return `a:${after.slice(ACCESS_ID_PREFIX.length)}`;
  if (REFRESH_CURSOR.test(after)) return `r:${after.slice(REFRESH_ID_PREFIX.length)}`;
  throw invalidRequest('after must be a token id from a previous page');
}

