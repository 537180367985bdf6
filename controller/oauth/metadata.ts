// GET /.well-known/oauth-authorization-server (RFC 8414): exactly what this server implements,
// with URLs derived from the configured issuer, never from the request's Host header.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AUTH_METHODS, GRANT_TYPES } from '../manifests/vocabulary.ts';
import type { OAuthContext } from './context.ts';
import { ASSERTION_ALGORITHMS } from './defaults.ts';
import { OPEN_SCOPE } from './scopes.ts';

export interface AuthorizationServerMetadata {
  issuer: string;
  token_endpoint: string;
  jwks_uri: string;
  revocation_endpoint: string;
  introspection_endpoint: string;
  scopes_supported: string[];
  response_types_supported: string[];
  grant_types_supported: string[];
  token_endpoint_auth_methods_supported: string[];
  token_endpoint_auth_signing_alg_values_supported: string[];
  revocation_endpoint_auth_methods_supported: string[];
  revocation_endpoint_auth_signing_alg_values_supported: string[];
  introspection_endpoint_auth_methods_supported: string[];
  introspection_endpoint_auth_signing_alg_values_supported: string[];
}

export function authorizationServerMetadata(ctx: OAuthContext): AuthorizationServerMetadata {
  const scopes = new Set([OPEN_SCOPE]);
  for (const api of ctx.config.apis()) for (const scope of api.spec.scopes) scopes.add(scope.name);
  // The password grant is advertised only while some active application may use it: RFC 9700
  // discourages it, so it is no standing offer of this server. An application that stopped
  // using it — deactivated, or its manifest removed (which deactivates it) — takes it out.
  const passwordInUse = ctx.config.applications().some((app) => app.spec.state === 'active' && app.spec.grantTypes.includes('password'));
  const grantTypes = GRANT_TYPES.filter((grant) => grant !== 'password' || passwordInUse);
  const methods = [...AUTH_METHODS];
  const algs = [...ASSERTION_ALGORITHMS];
  return {
    issuer: ctx.issuer,
    token_endpoint: ctx.endpoints.token,
    jwks_uri: ctx.endpoints.jwks,
    revocation_endpoint: ctx.endpoints.revocation,
    introspection_endpoint: ctx.endpoints.introspection,
    scopes_supported: [...scopes],
    // REQUIRED by RFC 8414 section 2, and there is no authorization endpoint, so no response
    // type is supported: the true list is empty. Omitting the member would break the RFC;
    // listing "code" would promise an endpoint that does not exist.
    response_types_supported: [],
    grant_types_supported: grantTypes,
    token_endpoint_auth_methods_supported: methods,
    token_endpoint_auth_signing_alg_values_supported: algs,
    revocation_endpoint_auth_methods_supported: methods,
    revocation_endpoint_auth_signing_alg_values_supported: algs,
    introspection_endpoint_auth_methods_supported: methods,
    introspection_endpoint_auth_signing_alg_values_supported: algs,
  };
}

export function metadataEndpoint(ctx: OAuthContext) {
  return async function metadata(_request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    // Configuration changes with every merged commit; a minute of caching is harmless.
    return reply.header('cache-control', 'public, max-age=60').send(authorizationServerMetadata(ctx));
  };
}
