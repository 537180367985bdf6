// The shape every grant file has: its wire name, the parameters it reads, and its handler.
import type { FastifyRequest } from 'fastify';
import type { GrantType } from '../../manifests/vocabulary.ts';
import type { AuthenticatedClient } from '../client-auth.ts';
import type { OAuthContext } from '../context.ts';
import type { Params } from '../form.ts';
import type { TokenResponse } from '../issue.ts';
import type { EffectivePlan } from '../effective-plan.ts';

export interface GrantRequest {
  ctx: OAuthContext;
  client: AuthenticatedClient;
  plan: EffectivePlan;
  params: Params;
  request: FastifyRequest;
}

export interface Grant<G extends GrantType = GrantType> {
  grantType: G;
  /** Parameters the grant reads besides grant_type and client authentication. */
  parameters: { required: readonly string[]; optional: readonly string[] };
  handle(request: GrantRequest): Promise<TokenResponse>;
}
