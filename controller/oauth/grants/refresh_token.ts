// RFC 6749 section 6: a refresh token for a new access token, rotated on every use (RFC 9700
// section 4.14.2): the presented token is spent, a new one comes back, and presenting a spent
// one revokes the whole family.
import { grantLive, settleGrantMarks } from '../api-state.ts';
import { revokedByDeactivation } from '../app-state.ts';
import { invalidGrant } from '../errors.ts';
import { mintAccessToken, mintRefreshToken, refreshTokenId, seconds, tokenResponse, type TokenResponse } from '../issue.ts';
import { grantScopes, OPEN_SCOPE, parseScope, type ScopeAudiences } from '../scopes.ts';
import { subjectLive } from '../token-lookup.ts';
import type { GrantRequest } from './types.ts';

export const grantType = 'refresh_token';

export const parameters = { required: ['refresh_token'], optional: ['scope'] } as const;

// One answer for every refresh token that cannot be used, so none of them tells more.
const unusable = () => invalidGrant('the refresh token is invalid, expired or revoked');

export async function handle({ ctx, client: { app }, plan, params }: GrantRequest): Promise<TokenResponse> {
  const id = refreshTokenId(params.get('refresh_token')!);
  // Found only under the application it was issued to: "the authorization server MUST ...
  // validate that the refresh token was issued to the authenticated client" (section 6).
  const presented = ctx.tokens.refreshToken(app.name, id);
  const now = seconds(ctx.now());
  if (presented === undefined || presented.clientId !== app.spec.clientId || presented.exp <= now
    || revokedByDeactivation(ctx, app, presented.iat)) throw unusable();
  // The resource owner must still exist, and not have been removed or given a new password since
  // the token was issued (a User restored or re-created under the name gets no old grant back).
  if (!subjectLive(ctx, presented.sub, presented.iat)) throw unusable();
  // None of its scopes withdrawn since it was issued: an Api removed and restored (a revert), or a
  // scope dropped and published again, gives no old grant back (api-state.ts). Dropping only the
  // withdrawn scopes would keep the grant alive across a removal it should not survive.
  if (!grantLive(ctx.tokens, [], presented.scope, presented.iat)) throw unusable();

  // Section 6: "The requested scope MUST NOT include any scope not originally granted by the
  // resource owner, and if omitted is treated as equal to the scope originally granted". Scopes
  // the application no longer holds are dropped as well.
  // Scopes no Api publishes any more are dropped too: a scope name another Api publishes later
  // must not ride on an old grant into that Api.
  const held = (published: ScopeAudiences) => presented.scope.split(' ')
    .filter((scope) => app.spec.scopes.includes(scope) && (scope === OPEN_SCOPE || published.has(scope)));
  let published = ctx.slow.published();
  let original = held(published);
  // An Api withdrawn since the map was read, or restored this very second (api-state.ts).
  if (await settleGrantMarks(ctx, original)) {
    published = ctx.slow.published();
    original = held(published);
  }
  const scopes = grantScopes(parseScope(params.get('scope')), original, published);
  const issuedAt = seconds(ctx.now());

  // A narrower `scope` narrows the access token only. Section 6: "If a new refresh token is
  // issued, the refresh token scope MUST be identical to that of the refresh token included by
  // the client in the request" (less what was dropped above): asking once for
  // a token for one Api must not cost the client the rest of its grant.
  const access = await mintAccessToken(ctx, app, { sub: presented.sub, scopes, family: presented.family }, published, plan, issuedAt);
  const refresh = mintRefreshToken(app, { sub: presented.sub, scopes: original, family: presented.family }, plan, issuedAt);
  // The tokens above are only sent if this rotation wins; it is committed to disk first.
  const { outcome } = await ctx.tokens.rotateRefreshToken(app.name, id, issuedAt, refresh.record, access.record);
  if (outcome !== 'rotated') throw unusable();
  return tokenResponse(access, refresh);
}
