// GET /api/v1/apps/:name/tokens and DELETE /api/v1/apps/:name/tokens/:id: an application's live
// tokens, for its developers (the CLI and the portal), authorised by the application's own
// client credentials in a Basic header, or (for a private_key_jwt application, which has no
// secret) by an access token it got for itself, as an RFC 6750 bearer token.
//
// A token's id is a handle, not a credential: `at_<jti>` for an access token, `rt_<sha-256 of
// the token>` for a refresh token. Knowing one grants nothing, and only the application itself
// can list or revoke by it; lists also carry the `masked` form for display.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { revokedByDeactivation } from './app-state.ts';
import { authenticateBasic } from './client-auth.ts';
import type { OAuthContext } from './context.ts';
import { accessDenied, invalidRequest, invalidToken, noStore, notFound } from './errors.ts';
import { clientSubject, seconds } from './issue.ts';
import { familyLive, findAccessToken } from './token-lookup.ts';
import type { ApplicationRecord } from '../store/records.ts';

export interface TokenSummary {
  /** `at_<jti>` or `rt_<sha-256 of the token>`: a handle for revocation, not a credential. */
  id: string;
  /** The id shortened for display: first and last four characters of its random part. */
  masked: string;
  type: 'access_token' | 'refresh_token';
  subject: string;
  scope: string;
  /** RFC 3339 */
  issuedAt: string;
  expiresAt: string;
}

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

const ACCESS = 'at_';
const REFRESH = 'rt_';

export function listTokensEndpoint(ctx: OAuthContext) {
  return async function listTokens(request: FastifyRequest<Route>, reply: FastifyReply): Promise<FastifyReply> {
    const app = await authoriseApplication(ctx, request);
    // Records this process is still gathering are written first (other workers' within ms).
    await ctx.tokens.flushAccessTokens();
    const limit = pageSize(ctx, request.query.limit);
    const after = cursorOf(request.query.after);
    const page = ctx.tokens.listTokens(app.name, after === undefined ? { limit } : { limit, after });
    const now = seconds(ctx.now());
    const tokens: TokenSummary[] = [];
    const live = (record: { iat: number; exp: number }) => record.exp > now && !revokedByDeactivation(ctx, app, record.iat);
    for (const record of page.access) {
      // A revocation from another worker may have landed before this record's batched write.
      if (!live(record) || ctx.tokens.accessTokenRevoked(app.name, record.jti) || (record.family !== undefined && !familyLive(ctx, app, record.family))) continue;
      tokens.push(summary(`${ACCESS}${record.jti}`, 'access_token', record));
    }
    for (const record of page.refresh) {
      if (!live(record) || record.usedAt !== undefined || !familyLive(ctx, app, record.family)) continue;
      tokens.push(summary(`${REFRESH}${record.id}`, 'refresh_token', record));
    }
    const list: TokenList = { tokens };
    if (page.next !== undefined) list.next = page.next.startsWith('a:') ? `${ACCESS}${page.next.slice(2)}` : `${REFRESH}${page.next.slice(2)}`;
    return noStore(reply).send(list);
  };
}

export function revokeTokenEndpoint(ctx: OAuthContext) {
  return async function revokeById(request: FastifyRequest<Route>, reply: FastifyReply): Promise<FastifyReply> {
    const app = await authoriseApplication(ctx, request);
    await ctx.tokens.flushAccessTokens();
    const id = request.params.id ?? '';
    let revoked = false;
    if (id.length > MAX_ID_LENGTH) {
      // No id of ours is that long: nothing to look up.
    } else if (id.startsWith(ACCESS)) {
      const record = ctx.tokens.accessToken(app.name, id.slice(ACCESS.length));
      if (record !== undefined) revoked = await ctx.tokens.revokeAccessToken(app.name, record.jti, record.exp);
    } else if (id.startsWith(REFRESH)) {
      const record = ctx.tokens.refreshToken(app.name, id.slice(REFRESH.length));
      if (record !== undefined && record.usedAt === undefined) {
        revoked = await ctx.tokens.revokeFamily(app.name, record.family, seconds(ctx.now()));
      }
    }
    if (!revoked) throw notFound(`no live token ${id.slice(0, 80)} for this application`);
    return noStore(reply).code(204).send();
  };
}

/**
 * 401 unless the request carries a client secret of an active application (Basic) or a live token
 * it got for itself (Bearer); 403 unless that application is `:name`.
 */
async function authoriseApplication(ctx: OAuthContext, request: FastifyRequest<Route>): Promise<ApplicationRecord> {
  const bearer = bearerToken(request.headers.authorization);
  const app = bearer === undefined ? await authenticateBasic(ctx, request) : await tokenHolder(ctx, bearer);
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
 * The application a live access token was issued to for itself (client_credentials: `sub` is
 * the client). A token a user got through the application does not let the user see or revoke
 * the application's tokens.
 */
async function tokenHolder(ctx: OAuthContext, token: string): Promise<ApplicationRecord> {
  const found = await findAccessToken(ctx, token);
  if (found === undefined) throw invalidToken('the access token is expired, revoked or not one of this server\'s');
  if (found.claims.sub !== clientSubject(found.app)) throw invalidToken('only a token the application got for itself (client_credentials) lists its tokens');
  return found.app;
}

function pageSize(ctx: OAuthContext, raw: string | string[] | undefined): number {
  if (raw === undefined) return 100;
  const limit = Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > ctx.options.maxTokensPerPage) {
    throw invalidRequest(`limit must be a whole number from 1 to ${ctx.options.maxTokensPerPage}`);
  }
  return limit;
}

// Token ids are at most `rt_` and 43 characters; anything much longer is no id of ours.
const MAX_ID_LENGTH = 100;

function cursorOf(after: string | string[] | undefined): string | undefined {
  if (after === undefined) return undefined;
  if (typeof after !== 'string' || after.length > MAX_ID_LENGTH) throw invalidRequest('after must be a token id from a previous page');
  if (after.startsWith(ACCESS)) return `a:${after.slice(ACCESS.length)}`;
  if (after.startsWith(REFRESH)) return `r:${after.slice(REFRESH.length)}`;
  throw invalidRequest('after must be a token id from a previous page');
}

function summary(id: string, type: TokenSummary['type'], record: { sub: string; scope: string; iat: number; exp: number }): TokenSummary {
  const random = id.slice(3);
  return {
    id,
    masked: `${id.slice(0, 3)}${random.slice(0, 4)}...${random.slice(-4)}`,
    type,
    subject: record.sub,
    scope: record.scope,
    issuedAt: new Date(record.iat * 1000).toISOString(),
    expiresAt: new Date(record.exp * 1000).toISOString(),
  };
}
