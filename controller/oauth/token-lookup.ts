// Finding what a presented token is, for introspection and revocation. Access tokens are JWTs
// this server signed; refresh tokens are found by their hash, only under the application that
// presents them.
import type { ApplicationRecord } from '../store/records.ts';
import type { AccessTokenRecord, RefreshTokenRecord } from '../store/token-state.ts';
import { audiences, verifyAccessToken, type AccessTokenClaims } from './access-token.ts';
import { grantLive } from './api-state.ts';
import { applicationActive, revokedByDeactivation } from './app-state.ts';
import type { OAuthContext } from './context.ts';
import { refreshTokenId, seconds } from './issue.ts';
import { subjectLive as subjectLiveIn } from './user-state.ts';

export type TokenTypeHint = 'access_token' | 'refresh_token';

export interface FoundAccessToken {
  type: 'access_token';
  app: ApplicationRecord;
  claims: AccessTokenClaims;
  /** Absent while its batched write is in flight (or if the process died before it committed). */
  record: AccessTokenRecord | undefined;
}

export interface FoundRefreshToken {
  type: 'refresh_token';
  app: ApplicationRecord;
  record: RefreshTokenRecord;
}

/**
 * RFC 7009 section 2.1 / RFC 7662 section 2.1: the hint says where to look first; "If the server
 * is unable to locate the token using the given hint, it MUST extend its search across all of
 * its supported token types." An unknown hint is ignored.
 */
export function searchOrder(hint: string | undefined): TokenTypeHint[] {
  return hint === 'refresh_token' ? ['refresh_token', 'access_token'] : ['access_token', 'refresh_token'];
}

/**
 * A live access token: signed by us, unexpired, not revoked, issued after the application's last
 * deactivation to an application that exists and is active now, its family (if any) not revoked,
 * its user (if any) there and issued after the user's last removal or password change, and
 * none of its audiences or scopes withdrawn since it was issued (api-state.ts).
 */
export async function findAccessToken(ctx: OAuthContext, token: string): Promise<FoundAccessToken | undefined> {
  const claims = await verifyAccessToken(token, ctx.keys, ctx.issuer, ctx.now());
  if (claims === undefined) return undefined;
  const app = ctx.config.applicationByClientId(claims.client_id);
  if (app === undefined || !applicationActive(ctx, app)) return undefined;
  if (ctx.tokens.accessTokenRevoked(app.name, claims.jti) || revokedByDeactivation(ctx, app, claims.iat)) return undefined;
  if (!subjectLive(ctx, claims.sub, claims.iat)) return undefined;
  if (!grantLive(ctx.tokens, audiences(claims.aud), claims.scope, claims.iat)) return undefined;
  // Tokens of a family are recorded before they are returned, so their record is always there.
  const record = ctx.tokens.accessToken(app.name, claims.jti);
  if (record?.family !== undefined && !familyLive(ctx, app, record.family)) return undefined;
  return { type: 'access_token', app, claims, record };
}

/**
 * A live refresh token of `app`: unexpired, not yet exchanged, its family not revoked, its user's
 * tokens not ended since, none of its scopes withdrawn since.
 */
export function findRefreshToken(ctx: OAuthContext, app: ApplicationRecord, token: string): FoundRefreshToken | undefined {
  const record = ctx.tokens.refreshToken(app.name, refreshTokenId(token));
  if (record === undefined || record.usedAt !== undefined || record.exp <= seconds(ctx.now())) return undefined;
  if (!applicationActive(ctx, app) || revokedByDeactivation(ctx, app, record.iat) || !familyLive(ctx, app, record.family)) return undefined;
  if (!subjectLive(ctx, record.sub, record.iat)) return undefined;
  // Its own audience is the issuer; the Apis' audiences come with its scopes.
  if (!grantLive(ctx.tokens, [], record.scope, record.iat)) return undefined;
  return { type: 'refresh_token', app, record };
}

/**
 * A user's tokens die with the user, and stay dead: issued at `iat` (seconds), the token must
 * postdate the user's last removal or password change (user-state.ts).
 */
export function subjectLive(ctx: OAuthContext, sub: string, iat: number): boolean {
  return subjectLiveIn({ tokens: ctx.tokens, userExists: (name) => ctx.config.user(name) !== undefined }, sub, iat);
}

export function familyLive(ctx: OAuthContext, app: ApplicationRecord, family: string): boolean {
  const found = ctx.tokens.family(app.name, family);
  return found !== undefined && found.revokedAt === undefined;
}
