// RFC 6749 section 4.4: the client asks for a token on its own behalf.
import { clientSubject, mintAccessToken, recordAccessToken, seconds, tokenResponse, type TokenResponse } from '../issue.ts';
import { currentScopeMap } from '../liveness.ts';
import { grantScopes, parseScope } from '../scopes.ts';
import type { GrantRequest } from './types.ts';

export const grantType = 'client_credentials';

export const parameters = { required: [], optional: ['scope'] } as const;

export async function handle({ ctx, client: { app, generation }, plan, params }: GrantRequest): Promise<TokenResponse> {
  const requested = parseScope(params.get('scope'));
  // An Api withdrawn since the kept scope map was read is granted from the store's state (liveness.ts).
  const { published, generation: grants } = currentScopeMap(ctx, grantScopes(requested, app.spec.scopes, ctx.slow.published()));
  const scopes = grantScopes(requested, app.spec.scopes, published);
  const grantee = { sub: clientSubject(app), scopes, issuedUnder: { application: generation, grants } };
  const access = await mintAccessToken(ctx, app, grantee, published, plan, seconds(ctx.now()));
  await recordAccessToken(ctx, app, access.record);
  // RFC 6749 section 4.4.3: "A refresh token SHOULD NOT be included."
  return tokenResponse(access);
}
