// GET /.well-known/oauth-authorization-server (RFC 8414) and GET /.well-known/openid-configuration
// (OpenID Connect Discovery 1.0): exactly what this server implements, with URLs derived from the
// configured issuer, never from the request's Host header. Both documents carry the same members
// (RFC 8414 section 2 takes OpenID's members as they are), so a client reads the same answer
// whichever it asks.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AUTH_METHODS, GRANT_TYPES } from '../manifests/vocabulary.ts';
import type { OAuthContext } from './context.ts';
import { allowAnyOrigin } from './cors.ts';
import { ASSERTION_ALGORITHMS } from './defaults.ts';
import { BUILT_IN_SCOPES } from './scopes.ts';

export interface AuthorizationServerMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  userinfo_endpoint: string;
  jwks_uri: string;
  revocation_endpoint: string;
  introspection_endpoint: string;
  scopes_supported: string[];
  response_types_supported: string[];
  response_modes_supported: string[];
  grant_types_supported: string[];
  code_challenge_methods_supported: string[];
  authorization_response_iss_parameter_supported: boolean;
  subject_types_supported: string[];
  id_token_signing_alg_values_supported: string[];
  claims_supported: string[];
  request_parameter_supported: boolean;
  request_uri_parameter_supported: boolean;
  token_endpoint_auth_methods_supported: string[];
  token_endpoint_auth_signing_alg_values_supported: string[];
  revocation_endpoint_auth_methods_supported: string[];
  revocation_endpoint_auth_signing_alg_values_supported: string[];
  introspection_endpoint_auth_methods_supported: string[];
  introspection_endpoint_auth_signing_alg_values_supported: string[];
}

export function authorizationServerMetadata(ctx: OAuthContext): AuthorizationServerMetadata {
  const scopes = new Set<string>(BUILT_IN_SCOPES);
  for (const api of ctx.config.apis()) for (const scope of api.spec.scopes) scopes.add(scope.name);
  // The password grant is advertised only while some active application may use it: RFC 9700
  // discourages it, so it is no standing offer of this server. An application that stopped
  // using it — deactivated, or its manifest removed (which deactivates it) — takes it out.
  const passwordInUse = ctx.config.applications().some((app) => app.spec.state === 'active' && app.spec.grantTypes.includes('password'));
  const grantTypes = GRANT_TYPES.filter((grant) => grant !== 'password' || passwordInUse);
  const methods = [...AUTH_METHODS];
  // A public client (`none`) names itself at the token and revocation endpoints; introspection
  // answers only clients that authenticate.
  const confidential = AUTH_METHODS.filter((method) => method !== 'none');
  const algs = [...ASSERTION_ALGORITHMS];
  return {
    issuer: ctx.issuer,
    authorization_endpoint: ctx.endpoints.authorization,
    token_endpoint: ctx.endpoints.token,
    userinfo_endpoint: ctx.endpoints.userinfo,
    jwks_uri: ctx.endpoints.jwks,
    revocation_endpoint: ctx.endpoints.revocation,
    introspection_endpoint: ctx.endpoints.introspection,
    scopes_supported: [...scopes],
    // The authorization code flow only: no implicit or hybrid response (RFC 9700 section 2.1.2).
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: grantTypes,
    // RFC 7636 for every client; `plain` is refused (RFC 9700 section 2.1.1).
    code_challenge_methods_supported: ['S256'],
    // RFC 9207: every authorization response carries `iss`.
    authorization_response_iss_parameter_supported: true,
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [ctx.options.signingAlg],
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'at_hash', 'name', 'preferred_username', 'email'],
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
    token_endpoint_auth_methods_supported: methods,
    token_endpoint_auth_signing_alg_values_supported: algs,
    revocation_endpoint_auth_methods_supported: methods,
    revocation_endpoint_auth_signing_alg_values_supported: algs,
    introspection_endpoint_auth_methods_supported: confidential,
    introspection_endpoint_auth_signing_alg_values_supported: algs,
  };
}

export function metadataEndpoint(ctx: OAuthContext) {
  return async function metadata(_request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    // Configuration changes with every merged commit; a minute of caching is harmless.
    // Public: a browser app reads it from any origin (cors.ts).
    allowAnyOrigin(reply);
    return reply.header('cache-control', 'public, max-age=60').send(authorizationServerMetadata(ctx));
  };
}
