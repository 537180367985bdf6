// RFC 6749 section 4.1.3 with PKCE (RFC 7636 section 4.6): a code the authorization endpoint
// issued (authorize.ts) for tokens, once. Every problem with the code is `invalid_grant` (section
// 5.2: "The provided authorization grant (e.g., authorization code ...) is invalid, expired,
// revoked, does not match the redirection URI used in the authorization request, or was issued to
// another client"), described without echoing what was sent.
import { createHash } from 'node:crypto';
import { authorizationCodeId } from '../../store/authorization-codes.ts';
import type { FamilyRecord } from '../../store/token-state.ts';
import { invalidGrant } from '../errors.ts';
import { signIdToken } from '../id-token.ts';
import { mintAccessToken, mintRefreshToken, newFamilyId, seconds, tokenResponse, type TokenResponse } from '../issue.ts';
import { currentScopeMap, liveness, livenessSources } from '../liveness.ts';
import { isBuiltInScope, OPENID_SCOPE, type ScopeAudiences } from '../scopes.ts';
import type { GrantRequest } from './types.ts';

export const grantType = 'authorization_code';

export const parameters = { required: ['code', 'redirect_uri', 'code_verifier'], optional: [] } as const;

// One answer for every code that cannot be used, so none of them tells more.
const unusable = () => invalidGrant('the authorization code is invalid, expired, already used or not issued to this client');

// RFC 7636 section 4.1: code-verifier = 43*128unreserved, unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~".
const CODE_VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;

export async function handle({ ctx, client: { app }, plan, params }: GrantRequest): Promise<TokenResponse> {
  const id = authorizationCodeId(params.get('code')!);
  const now = seconds(ctx.now());
  const code = await ctx.codes.find(id);
  if (code === undefined) throw unusable();
  // Section 4.1.2: "If an authorization code is used more than once, the authorization server MUST
  // deny the request and SHOULD revoke (when possible) all tokens previously issued based on that
  // authorization code." Whoever presents it: a spent code in anybody's hands is a leaked one.
  if (code.redeemedAt !== undefined) {
    await ctx.codes.revokeIssued(id, now);
    throw unusable();
  }
  // Section 4.1.3: "ensure that the authorization code was issued to the authenticated confidential
  // client, or if the client is public, ensure that the code was issued to "client_id" in the request".
  if (code.clientId !== app.spec.clientId || code.app !== app.name) throw unusable();
  if (code.exp <= now) throw unusable();
  // "ensure that the "redirect_uri" parameter is present if the "redirect_uri" parameter was
  // included in the initial authorization request ... and if included ensure that their values
  // are identical."
  if (params.get('redirect_uri') !== code.redirectUri) throw invalidGrant('redirect_uri is not the one the code was issued for');
  // RFC 7636 section 4.6: BASE64URL-ENCODE(SHA256(ASCII(code_verifier))) == code_challenge.
  const verifier = params.get('code_verifier')!;
  if (!CODE_VERIFIER.test(verifier)) throw invalidGrant('code_verifier must be 43 to 128 unreserved characters (RFC 7636)');
  if (createHash('sha256').update(verifier, 'ascii').digest('base64url') !== code.codeChallenge) {
    throw invalidGrant('code_verifier does not match the code challenge');
  }
  // What the code was issued from must still hold (liveness.ts): the application active and not
  // deactivated since, the user there and not changed since, no scope or audience withdrawn since.
  const verdict = await liveness(livenessSources(ctx), {
    type: 'access_token', app, sub: code.sub, scope: code.scope, aud: code.aud, iat: code.iat, exp: code.exp, issuedUnder: code.issuedUnder,
  }, now);
  if (!verdict.live) throw unusable();

  // Scopes the application no longer holds (its manifest changed since) are not granted.
  const held = (published: ScopeAudiences) => code.scope.split(' ')
    .filter((scope) => app.spec.scopes.includes(scope) && (isBuiltInScope(scope) || published.has(scope)));
  const { published } = currentScopeMap(ctx, held(ctx.slow.published()));
  const scopes = held(published);
  if (scopes.length === 0) throw unusable();

  // The tokens carry the generations the authorization read, not later ones: whatever ended that
  // state after the code was issued ends them too.
  const { sub, issuedUnder } = code;
  const family = app.spec.grantTypes.includes('refresh_token') ? newFamilyId() : undefined;
  const access = await mintAccessToken(ctx, app, { sub, scopes, issuedUnder, ...(family === undefined ? {} : { family }) }, published, plan, now);
  const refresh = family === undefined ? undefined : mintRefreshToken(app, { sub, scopes, family, issuedUnder }, plan, now);
  const familyRecord: FamilyRecord | undefined = refresh === undefined ? undefined : {
    v: 1, id: refresh.record.family, sub, iat: now, exp: Math.max(access.record.exp, refresh.record.exp),
  };
  // OpenID Connect Core 1.0 section 3.1.3.3: with `openid`, an ID token for the client.
  const idToken = scopes.includes(OPENID_SCOPE)
    ? await signIdToken(ctx, {
      sub, aud: app.spec.clientId, iat: now, exp: access.record.exp, auth_time: code.authTime, ...(code.nonce === undefined ? {} : { nonce: code.nonce }),
    }, access.token)
    : undefined;

  // Spent and written in one transaction, committed before anything is sent: of any number of
  // concurrent exchanges exactly one gets here with `redeemed`.
  const { outcome } = await ctx.codes.redeem(id, now, app.name, {
    access: access.record, ...(refresh === undefined || familyRecord === undefined ? {} : { refresh: refresh.record, family: familyRecord }),
  });
  if (outcome !== 'redeemed') throw unusable();
  const response = tokenResponse(access, refresh);
  if (idToken !== undefined) response.id_token = idToken;
  return response;
}
