// An application's live tokens as its developers see them, and revoking one by its id: the rules
// the HTTP token listing (app-tokens.ts) and the portal share. Live is liveness.ts's answer, the
// one introspection gives.
//
// A token's id is a handle, not a credential: `at_<jti>` for an access token, `rt_<sha-256 of
// the token>` for a refresh token. Knowing one grants nothing; lists also carry the `masked`
// form for display, which `mergekey token revoke` accepts as well.
import type { ApplicationRecord } from '../store/records.ts';
import type { TokenPage, TokenState } from '../store/token-state.ts';
import { accessTokenFacts, liveness, refreshTokenFacts, type LivenessSources } from './liveness.ts';

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

export const ACCESS_ID_PREFIX = 'at_';
export const REFRESH_ID_PREFIX = 'rt_';
// Token ids are at most `rt_` and 43 characters; anything much longer is no id of ours.
export const MAX_TOKEN_ID_LENGTH = 100;

/**
 * The live tokens of one page of `app`'s records, access tokens first. `now` in seconds. The
 * records are judged concurrently (each answer is independent of the others), so a store on a
 * network database waits one round trip per page rather than one per token.
 */
export async function liveTokens(sources: LivenessSources, app: ApplicationRecord, page: TokenPage, now: number): Promise<TokenSummary[]> {
  const summaries = [
    // A revocation from another worker may have landed before an access token's batched write.
    ...page.access.map(async (record) => (await liveness(sources, accessTokenFacts(app, record), now)).live
      ? summary(`${ACCESS_ID_PREFIX}${record.jti}`, 'access_token', record)
      : undefined),
    ...page.refresh.map(async (record) => (await liveness(sources, refreshTokenFacts(app, record), now)).live
      ? summary(`${REFRESH_ID_PREFIX}${record.id}`, 'refresh_token', record)
      : undefined),
  ];
  return (await Promise.all(summaries)).filter((token) => token !== undefined);
}

/**
 * Revokes `app`'s token `id`: an access token, or a refresh token (spent or not) with its whole
 * family. False when there is nothing left to revoke. `now` in seconds.
 */
export async function revokeTokenById(tokens: TokenState, app: string, id: string, now: number): Promise<boolean> {
  if (id.length > MAX_TOKEN_ID_LENGTH) return false;
  if (id.startsWith(ACCESS_ID_PREFIX)) {
    const record = await tokens.accessToken(app, id.slice(ACCESS_ID_PREFIX.length));
    return record === undefined ? false : tokens.revokeAccessToken(app, record.jti, record.exp);
  }
  if (id.startsWith(REFRESH_ID_PREFIX)) {
    // A spent refresh token too: its family may hold a live successor (a thief's, say), which
    // goes with it, as at the revocation endpoint.
    const record = await tokens.refreshToken(app, id.slice(REFRESH_ID_PREFIX.length));
    if (record === undefined) return false;
    return tokens.revokeFamily(app, record.family, now);
  }
  return false;
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
