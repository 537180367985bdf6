// RFC 6749 section 6: a refresh token for a new access token, rotated on every use (RFC 9700
// section 4.14.2): the presented token is spent, a new one comes back, and presenting a spent
// one revokes the whole family.
import { invalidGrant } from '../errors.ts';
import { mintAccessToken, mintRefreshToken, refreshTokenId, seconds, tokenResponse, type TokenResponse } from '../issue.ts';
import { currentScopeMap, liveness, livenessSources, refreshTokenFacts, type DeathReason } from '../liveness.ts';
import { grantScopes, isBuiltInScope, parseScope, type ScopeAudiences } from '../scopes.ts';
import type { GrantRequest } from './types.ts';

export const grantType = 'refresh_token';

export const parameters = { required: ['refresh_token'], optional: ['scope'] } as const;

// One answer for every refresh token that cannot be used, so none of them tells more.
const unusable = () => invalidGrant('the refresh token is invalid, expired or revoked');

// A spent token, or one of a revoked family, goes on to the rotation, which refuses it too, and
// for a spent one revokes its family (RFC 9700 section 4.14.2): a replay is how a theft shows.
const ROTATION_DECIDES: readonly DeathReason[] = ['spent', 'family-revoked'];

export async function handle({ ctx, client: { app, generation }, plan, params }: GrantRequest): Promise<TokenResponse> {
  const id = refreshTokenId(params.get('refresh_token')!);
  // Found only under the application it was issued to: "the authorization server MUST ...
  // validate that the refresh token was issued to the authenticated client" (section 6).
  // With its family, in one read (one round trip on a shared database); the rotation below decides
  // again under its lock whether the family was revoked meanwhile.
  const found = await ctx.tokens.refreshTokenWithFamily(app.name, id);
  if (found === undefined || found.record.clientId !== app.spec.clientId) throw unusable();
  const presented = found.record;
  // Live (liveness.ts): unexpired, its application not deactivated since, its resource owner still
  // there and not removed or given a new password since (a User restored or re-created under the
  // name gets no old grant back), none of its scopes withdrawn since (an Api removed and restored,
  // or a scope dropped and published again, gives no old grant back; dropping only the withdrawn
  // scopes would keep the grant alive across a removal it should not survive). The generation is
  // read in the same synchronous step as the user checks (liveness reads a refresh token's user
  // state before its first await): the user's state the new tokens carry on from. No await may
  // come between the two lines below.
  const userGeneration = ctx.tokens.cutOffs.generation();
  const verdict = await liveness(livenessSources(ctx), refreshTokenFacts(app, presented, { record: found.family }), seconds(ctx.now()));
  if (!verdict.live && !ROTATION_DECIDES.includes(verdict.reason)) throw unusable();

  // Section 6: "The requested scope MUST NOT include any scope not originally granted by the
  // resource owner, and if omitted is treated as equal to the scope originally granted". Scopes
  // the application no longer holds are dropped as well.
  // Scopes no Api publishes any more are dropped too: a scope name another Api publishes later
  // must not ride on an old grant into that Api.
  const held = (published: ScopeAudiences) => presented.scope.split(' ')
    .filter((scope) => app.spec.scopes.includes(scope) && (isBuiltInScope(scope) || published.has(scope)));
  // An Api withdrawn since the kept scope map was read is granted from the store's state (liveness.ts).
  const { published, generation: grants } = currentScopeMap(ctx, held(ctx.slow.published()));
  const original = held(published);
  const scopes = grantScopes(parseScope(params.get('scope')), original, published);
  const issuedAt = seconds(ctx.now());
  const issuedUnder = { application: generation, grants, user: userGeneration };

  // A narrower `scope` narrows the access token only. Section 6: "If a new refresh token is
  // issued, the refresh token scope MUST be identical to that of the refresh token included by
  // the client in the request" (less what was dropped above): asking once for
  // a token for one Api must not cost the client the rest of its grant.
  const grantee = { sub: presented.sub, family: presented.family, issuedUnder };
  const access = await mintAccessToken(ctx, app, { ...grantee, scopes }, published, plan, issuedAt);
  const refresh = mintRefreshToken(app, { ...grantee, scopes: original }, plan, issuedAt);
  // The tokens above are only sent if this rotation wins; it is committed to disk first.
  const { outcome } = await ctx.tokens.rotateRefreshToken(app.name, id, issuedAt, refresh.record, access.record);
  if (outcome !== 'rotated') throw unusable();
  return tokenResponse(access, refresh);
}
