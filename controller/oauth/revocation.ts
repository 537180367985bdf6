// POST /oauth2/revoke (RFC 7009). The answer is 200 whether or not the token existed: "invalid
// tokens do not cause an error response since the client cannot handle such an error in a
// reasonable way" (section 2.2). A client revokes only its own tokens.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { allowanceKey, authenticateClient, type AuthenticatedClient } from './client-auth.ts';
import type { OAuthContext } from './context.ts';
import { allowClientOrigin } from './cors.ts';
import { noStore } from './errors.ts';
import { rejectQueryParameters, requiredParam, requireFormBody } from './form.ts';
import type { RefreshTokenRecord } from '../store/token-state.ts';
import { refreshTokenId, seconds } from './issue.ts';
import { findAccessToken, searchOrder } from './token-lookup.ts';
import { checkTokenMisses, countTokenMiss } from './token-misses.ts';

export function revocationEndpoint(ctx: OAuthContext) {
  return async function revoke(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    rejectQueryParameters(request);
    const params = requireFormBody(request);
    // Section 2.1: "The authorization server first validates the client credentials". A public
    // client has none and names itself (section 5: revocation "for public clients"): a browser app
    // signs its user out. It still revokes only tokens issued to it, which it must present.
    const client = await authenticateClient(ctx, request, params, { allowPublic: true });
    allowClientOrigin(request, reply, client.app);
    const token = requiredParam(params, 'token');
    const allowance = allowanceKey(client, request);
    checkTokenMisses(ctx, allowance);
    if (!(await revokeToken(ctx, client, token, params.get('token_type_hint')))) countTokenMiss(ctx, allowance);
    return noStore(reply).code(200).send();
  };
}

/** Revokes the token if it is live and the client's own; returns whether something was revoked. */
export async function revokeToken(ctx: OAuthContext, client: AuthenticatedClient, token: string, hint: string | undefined): Promise<boolean> {
  for (const type of searchOrder(hint)) {
    if (type === 'access_token') {
      const found = await findAccessToken(ctx, token);
      // "...verifies whether the token was issued to the client making the revocation request.
      // If this validation fails, the request is refused and the client is informed of the
      // error" — yet with a 200: telling it apart would reveal another client's token is live.
      if (found === undefined || found.app.name !== client.app.name) continue;
      return ctx.tokens.revokeAccessToken(found.app.name, found.claims.jti, found.claims.exp);
    }
    // Any refresh token the client was issued, live or not: a spent one too. Section 2.1: for a
    // refresh token, the server "SHOULD also invalidate all access tokens based on the same
    // authorization grant": the family goes. A client that signs out with a stale refresh token
    // (one it already exchanged, or one a thief exchanged first) still ends the grant, so the
    // successor a thief may hold dies with it (RFC 9700 section 4.14.2).
    const record = await issuedRefreshToken(ctx, client, token);
    if (record !== undefined) return ctx.tokens.revokeFamily(client.app.name, record.family, seconds(ctx.now()));
  }
  return false;
}

/** A refresh token issued to the client, whatever its state: only its family is needed. */
async function issuedRefreshToken(ctx: OAuthContext, client: AuthenticatedClient, token: string): Promise<RefreshTokenRecord | undefined> {
  const record = await ctx.tokens.refreshToken(client.app.name, refreshTokenId(token));
  return record?.clientId === client.app.spec.clientId ? record : undefined;
}
