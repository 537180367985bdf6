// Finding what a presented token is, for introspection and revocation. Access tokens are JWTs
// this server signed; refresh tokens are found by their hash, only under the application that
// presents them. Whether a found token is live is liveness.ts's answer.
import type { ApplicationRecord } from '../store/records.ts';
import type { AccessTokenRecord, RefreshTokenRecord } from '../store/token-state.ts';
import { audiences, verifyAccessToken, type AccessTokenClaims } from './access-token.ts';
import type { OAuthContext } from './context.ts';
import { refreshTokenId, seconds } from './issue.ts';
import { liveness, livenessSources, refreshTokenFacts, type TokenFacts } from './liveness.ts';

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

/** A live access token (liveness.ts): signed by us, unexpired, issued to an application that exists. */
export async function findAccessToken(ctx: OAuthContext, token: string): Promise<FoundAccessToken | undefined> {
  const claims = await verifyAccessToken(token, ctx.keys, ctx.issuer, ctx.now(), ctx.verifiedTokens);
  if (claims === undefined) return undefined;
  const app = ctx.config.applicationByClientId(claims.client_id);
  if (app === undefined) return undefined;
  // Its generations are in its record; without one (still being written, or lost), its claims are
  // judged by time. Tokens of a family are recorded before they are returned, so for them the
  // record, and so the family, is always there. The record, its revocation and its family are read
  // at once: one round trip on a shared database.
  const { record, revoked, family } = await ctx.tokens.accessTokenState(app.name, claims.jti);
  const facts: TokenFacts = {
    type: 'access_token', app, jti: claims.jti, sub: claims.sub, scope: claims.scope, aud: audiences(claims.aud),
    iat: claims.iat, exp: claims.exp, family: record?.family, issuedUnder: record?.issuedUnder, revoked, familyRead: { record: family },
  };
  if (!(await liveness(livenessSources(ctx), facts, seconds(ctx.now()))).live) return undefined;
  return { type: 'access_token', app, claims, record };
}

/** A live refresh token of `app` (liveness.ts). */
export async function findRefreshToken(ctx: OAuthContext, app: ApplicationRecord, token: string): Promise<FoundRefreshToken | undefined> {
  const found = await ctx.tokens.refreshTokenWithFamily(app.name, refreshTokenId(token));
  if (found === undefined || !(await liveness(livenessSources(ctx), refreshTokenFacts(app, found.record, { record: found.family }), seconds(ctx.now()))).live) return undefined;
  return { type: 'refresh_token', app, record: found.record };
}
