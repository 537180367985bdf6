// POST /oauth2/introspect (RFC 7662). The answer starts as `{ active: false }` and stays so
// unless every check passes; an inactive token gets exactly that and nothing else.
//
// Who may ask: the client the token was issued to, and the clients of the applications an Api
// names in `spec.introspection.applications`, for access tokens whose audience is that Api's.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { audiences } from './access-token.ts';
import { allowanceKey, authenticateClient, type AuthenticatedClient } from './client-auth.ts';
import type { OAuthContext } from './context.ts';
import { noStore } from './errors.ts';
import { rejectQueryParameters, requiredParam, requireFormBody } from './form.ts';
import { findAccessToken, findRefreshToken, searchOrder, type FoundAccessToken, type FoundRefreshToken } from './token-lookup.ts';
import { checkTokenMisses, countTokenMiss } from './token-misses.ts';

/** RFC 7662 section 2.2. */
export type IntrospectionResponse =
  | { active: false }
  | {
    active: true;
    scope: string;
    client_id: string;
    sub: string;
    aud: string | string[];
    iss: string;
    exp: number;
    iat: number;
    token_type: 'Bearer' | 'refresh_token';
    jti: string;
  };

const INACTIVE = Object.freeze({ active: false as const });

export function introspectionEndpoint(ctx: OAuthContext) {
  return async function introspect(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    rejectQueryParameters(request);
    const params = requireFormBody(request);
    // RFC 7662 section 2.1: "the endpoint MUST also require some form of authorization".
    const caller = await authenticateClient(ctx, request, params);
    const token = requiredParam(params, 'token');
    const allowance = allowanceKey(caller, request);
    checkTokenMisses(ctx, allowance);
    const answer = await introspection(ctx, caller, token, params.get('token_type_hint'));
    if (!answer.active) countTokenMiss(ctx, allowance);
    return noStore(reply).send(answer);
  };
}

export async function introspection(ctx: OAuthContext, caller: AuthenticatedClient, token: string, hint: string | undefined): Promise<IntrospectionResponse> {
  for (const type of searchOrder(hint)) {
    if (type === 'access_token') {
      const found = await findAccessToken(ctx, token);
      if (found === undefined) continue;
      if (!mayIntrospect(ctx, caller, found)) return INACTIVE;
      return activeAccessToken(found);
    }
    // Refresh tokens are looked for only under the caller's own application.
    const found = await findRefreshToken(ctx, caller.app, token);
    if (found !== undefined) return activeRefreshToken(ctx, found);
  }
  return INACTIVE;
}

function mayIntrospect(ctx: OAuthContext, caller: AuthenticatedClient, found: FoundAccessToken): boolean {
  if (caller.app.name === found.app.name) return true;
  const tokenAudiences = audiences(found.claims.aud);
  return ctx.slow.apis().some((api) =>
    api.spec.introspection?.applications.includes(caller.app.name) === true && tokenAudiences.includes(api.spec.audience));
}

function activeAccessToken({ claims }: FoundAccessToken): IntrospectionResponse {
  return {
    active: true, scope: claims.scope, client_id: claims.client_id, sub: claims.sub, aud: claims.aud, iss: claims.iss,
    exp: claims.exp, iat: claims.iat, token_type: 'Bearer', jti: claims.jti,
  };
}

function activeRefreshToken(ctx: OAuthContext, { record }: FoundRefreshToken): IntrospectionResponse {
  // A refresh token is meant for this server only: its audience is the issuer.
  return {
    active: true, scope: record.scope, client_id: record.clientId, sub: record.sub, aud: ctx.issuer, iss: ctx.issuer,
    exp: record.exp, iat: record.iat, token_type: 'refresh_token', jti: record.id,
  };
}
