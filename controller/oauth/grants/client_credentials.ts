// RFC 6749 section 4.4: the client asks for a token on its own behalf.
import { settleGrantMarks } from '../api-state.ts';
import { clientSubject, mintAccessToken, recordAccessToken, seconds, tokenResponse, type TokenResponse } from '../issue.ts';
import { grantScopes, parseScope } from '../scopes.ts';
import type { GrantRequest } from './types.ts';

export const grantType = 'client_credentials';

export const parameters = { required: [], optional: ['scope'] } as const;

export async function handle({ ctx, client: { app }, plan, params }: GrantRequest): Promise<TokenResponse> {
  let published = ctx.slow.published();
  let scopes = grantScopes(parseScope(params.get('scope')), app.spec.scopes, published);
  // An Api withdrawn since the map was read, or restored this very second (api-state.ts).
  if (await settleGrantMarks(ctx, scopes)) {
    published = ctx.slow.published();
    scopes = grantScopes(parseScope(params.get('scope')), app.spec.scopes, published);
  }
  const access = await mintAccessToken(ctx, app, { sub: clientSubject(app), scopes }, published, plan, seconds(ctx.now()));
  recordAccessToken(ctx, app, access.record);
  // RFC 6749 section 4.4.3: "A refresh token SHOULD NOT be included."
  return tokenResponse(access);
}
