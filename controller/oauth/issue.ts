// Minting tokens: the parts every grant shares. Grants decide what to mint; this decides how.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { ApplicationRecord } from '../store/records.ts';
import type { AccessTokenRecord, IssuedUnder, RefreshTokenRecord } from '../store/token-state.ts';
import { signAccessToken } from './access-token.ts';
import type { OAuthContext } from './context.ts';
import { CLIENT_SUBJECT_PREFIX, REFRESH_TOKEN_BYTES, USER_SUBJECT_PREFIX } from './defaults.ts';
import type { EffectivePlan } from './effective-plan.ts';
import { audiencesOf, type ScopeAudiences } from './scopes.ts';

/** RFC 6749 section 5.1. */
export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
  refresh_token?: string;
  /** OpenID Connect Core 1.0 section 3.1.3.3, with scope `openid`. */
  id_token?: string;
}

export interface Minted<R> {
  token: string;
  record: R;
}

export const clientSubject = (app: ApplicationRecord) => `${CLIENT_SUBJECT_PREFIX}${app.spec.clientId}`;
export const userSubject = (name: string) => `${USER_SUBJECT_PREFIX}${name}`;

export const seconds = (ms: number) => Math.floor(ms / 1000);

export interface Grantee {
  sub: string;
  scopes: readonly string[];
  family?: string;
  /** The cut-off generations of the state the grant read (liveness.ts). */
  issuedUnder: IssuedUnder;
}

export async function mintAccessToken(
  ctx: OAuthContext, app: ApplicationRecord, grantee: Grantee, published: ScopeAudiences, plan: EffectivePlan, now: number,
): Promise<Minted<AccessTokenRecord>> {
  const jti = uuidV7(ctx.now());
  const aud = audiencesOf(grantee.scopes, published, ctx.issuer);
  const scope = grantee.scopes.join(' ');
  const exp = now + plan.accessTokenTtl;
  const token = await signAccessToken(ctx.keys.signer(), {
    iss: ctx.issuer, sub: grantee.sub, aud: aud.length === 1 ? aud[0]! : aud, client_id: app.spec.clientId, scope, iat: now, exp, jti,
  });
  const record: AccessTokenRecord = {
    v: 1, jti, clientId: app.spec.clientId, sub: grantee.sub, scope, aud, iat: now, exp, issuedUnder: grantee.issuedUnder,
  };
  if (grantee.family !== undefined) record.family = grantee.family;
  return { token, record };
}

/**
 * An RFC 9562 version 7 UUID: the time in milliseconds, then 74 random bits. Token records are
 * keyed by `jti`, so ids that sort in issue order put each batch of new records at the end of the
 * tokens db, a few pages for LMDB to copy and write, where random UUIDs dirtied one page per token
 * all over the tree (bench:token measured about 10% less CPU per token). Listings come out in
 * issue order as a result.
 */
export function uuidV7(ms: number): string {
  const time = ms.toString(16).padStart(12, '0');
  // randomUUID's layout is xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx, with V already the RFC variant.
  const random = randomUUID();
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${random.slice(15, 18)}-${random.slice(19)}`;
}

/**
 * Records an access token for listing, before the token is answered. On LMDB that waits for no
 * disk flush (a token is active unless revoked or cut off, which needs no record; see
 * token-state.ts and liveness.ts); on the shared database it waits for the group commit that
 * carries it, so no replica answers a token whose record was not committed.
 */
export function recordAccessToken(ctx: OAuthContext, app: ApplicationRecord, record: AccessTokenRecord): Promise<void> {
  return ctx.tokens.recordAccessToken(app.name, record);
}

/** Refresh tokens are opaque random strings; only their SHA-256 is stored. */
export function mintRefreshToken(app: ApplicationRecord, grantee: Grantee & { family: string }, plan: EffectivePlan, now: number): Minted<RefreshTokenRecord> {
  const token = randomBytes(REFRESH_TOKEN_BYTES).toString('base64url');
  return {
    token,
    record: {
      v: 1, id: refreshTokenId(token), clientId: app.spec.clientId, sub: grantee.sub, scope: grantee.scopes.join(' '),
      iat: now, exp: now + plan.refreshTokenTtl, family: grantee.family, issuedUnder: grantee.issuedUnder,
    },
  };
}

export function refreshTokenId(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64url');
}

export function newFamilyId(): string {
  return randomBytes(16).toString('base64url');
}

export function tokenResponse(access: Minted<AccessTokenRecord>, refresh?: Minted<RefreshTokenRecord>): TokenResponse {
  const response: TokenResponse = {
    access_token: access.token,
    token_type: 'Bearer',
    expires_in: access.record.exp - access.record.iat,
    // RFC 6749 section 5.1: scope is "OPTIONAL, if identical to the scope requested by the
    // client; otherwise, REQUIRED". Always sending it spares the client the comparison.
    scope: access.record.scope,
  };
  if (refresh !== undefined) response.refresh_token = refresh.token;
  return response;
}
