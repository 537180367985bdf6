// POST /oauth2/token (RFC 6749 sections 3.2, 4.3, 4.4, 6): an ordered list of small steps. The
// grant itself comes from the registry in grants/, so this file does not change when one is added.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PUBLIC_CLIENT_GRANT_TYPES, PUBLIC_CLIENT_METHOD } from '../manifests/vocabulary.ts';
import { allowanceKey, authenticateClient, type AuthenticatedClient } from './client-auth.ts';
import { allowClientOrigin } from './cors.ts';
import type { OAuthContext } from './context.ts';
import { noStore, slowDown, temporarilyUnavailable, unauthorizedClient, unsupportedGrantType } from './errors.ts';
import { rejectQueryParameters, requiredParam, requireFormBody, type Params } from './form.ts';
import { GRANTS, type Grant } from './grants/index.ts';
import { planOf, type EffectivePlan } from './effective-plan.ts';
import { retryAfterSeconds } from './throttle.ts';

export function tokenEndpoint(ctx: OAuthContext) {
  return async function token(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    rejectQueryParameters(request);
    const params = requireFormBody(request);
    const grant = selectGrant(params);
    requireGrantParameters(grant, params);
    checkStoreWritable(ctx);
    const client = await authenticateClient(ctx, request, params, { allowPublic: true });
    // A browser app (a public client) reads the answer from its own origin (cors.ts).
    allowClientOrigin(request, reply, client.app);
    checkGrantAllowed(client, grant);
    const plan = planOf(ctx.slow, client.app);
    checkRequestRate(ctx, allowanceKey(client, request), plan);
    const response = await grant.handle({ ctx, client, plan, params, request });
    // RFC 6749 section 5.1: "Cache-Control: no-store" and "Pragma: no-cache".
    return noStore(reply).send(response);
  };
}

function selectGrant(params: Params): Grant {
  const grantType = requiredParam(params, 'grant_type');
  const grant = GRANTS.get(grantType);
  // Described, not echoed: grant_type is the caller's input.
  if (grant === undefined) throw unsupportedGrantType('this server does not support the requested grant type');
  return grant;
}

function requireGrantParameters(grant: Grant, params: Params): void {
  for (const name of grant.parameters.required) requiredParam(params, name);
}

/**
 * While the store cannot write (a full disk), no token is issued: its record could not be kept,
 * so it could be neither listed nor found to revoke. The store tries a write again by itself and
 * the endpoint serves again once one commits (store/health.ts).
 */
function checkStoreWritable(ctx: OAuthContext): void {
  if (ctx.tokens.unwritable() !== undefined) throw temporarilyUnavailable();
}

/** unauthorized_client: "The authenticated client is not authorized to use this authorization grant type." */
function checkGrantAllowed({ app, method }: AuthenticatedClient, grant: Grant): void {
  if (!app.spec.grantTypes.includes(grant.grantType)) {
    throw unauthorizedClient(`this client may not use the ${grant.grantType} grant`);
  }
  // A public client proves nothing by its client id, which is no secret: it may only use the
  // grants bound to something else it holds (a PKCE verifier, a refresh token it was issued).
  if (method === PUBLIC_CLIENT_METHOD && !(PUBLIC_CLIENT_GRANT_TYPES as readonly string[]).includes(grant.grantType)) {
    throw unauthorizedClient(`a public client may not use the ${grant.grantType} grant`);
  }
}

/** The plan's token request rate, counted per application once it has authenticated (client-auth.ts `allowanceKey`). */
function checkRequestRate(ctx: OAuthContext, key: string, plan: EffectivePlan): void {
  const wait = ctx.throttles.requests.hit(key, ctx.now(), plan.tokenRequestsPerMinute);
  if (wait > 0) throw slowDown(retryAfterSeconds(wait), `the plan allows ${plan.tokenRequestsPerMinute} token requests per minute`);
}
