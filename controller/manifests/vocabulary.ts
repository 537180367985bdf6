// The words of an application manifest that the rest of Mergekey speaks: its grant types, its
// client authentication methods, and how client ids compare. The JSON Schema is the one source:
// the lists are read from it, so a value added to the schema reaches the CLI's options, the
// portal's form and the OAuth server's checks without a second copy to forget.
import applicationSchema from '../../schemas/application.schema.json' with { type: 'json' };
import type { Application } from './types.generated.ts';

export type GrantType = Application['spec']['grantTypes'][number];
export type AuthMethod = Application['spec']['tokenEndpointAuthMethod'];

const specSchema = applicationSchema.$defs.applicationSpec.properties;

/** Every grant type a manifest may list, in the schema's order. */
export const GRANT_TYPES = specSchema.grantTypes.items.enum as readonly GrantType[];

/** Every client authentication method a manifest may name, in the schema's order. */
export const AUTH_METHODS = specSchema.tokenEndpointAuthMethod.enum as readonly AuthMethod[];

/**
 * The methods that present a client secret; private_key_jwt signs an assertion with a key pair
 * instead, and a public client (none) has nothing to present.
 */
export type SecretAuthMethod = Exclude<AuthMethod, 'private_key_jwt' | 'none'>;

/** The method of a public client (RFC 7591 section 2): an SPA or a mobile app, which cannot keep a secret. */
export const PUBLIC_CLIENT_METHOD = 'none' satisfies AuthMethod;

/**
 * The grant types a public client may use: it proves nothing at the token endpoint but the
 * code's PKCE verifier (RFC 7636) or a refresh token it got that way, so a grant with no such
 * proof (client_credentials, password) would hand tokens to anyone who knows its client id.
 */
export const PUBLIC_CLIENT_GRANT_TYPES = ['authorization_code', 'refresh_token'] as const satisfies readonly GrantType[];

/**
 * Scopes no Api publishes that any application may list: `open` (the default, no particular
 * API) and the OpenID Connect scopes (OpenID Connect Core 1.0 sections 3.1.2.1 and 5.4), whose
 * meaning the authorization server itself defines. An Api cannot publish them; the OAuth
 * server grants them only to an application whose manifest lists them.
 */
export const BUILT_IN_SCOPES = ['open', 'openid', 'profile', 'email'] as const;
export type BuiltInScope = (typeof BUILT_IN_SCOPES)[number];

export function isBuiltInScope(scope: string): scope is BuiltInScope {
  return (BUILT_IN_SCOPES as readonly string[]).includes(scope);
}

/** Whether a value (from a form or the wire) names a grant type a manifest may list. */
export function isGrantType(value: unknown): value is GrantType {
  return (GRANT_TYPES as readonly unknown[]).includes(value);
}

/** The grant types an application gets when its manifest names none. */
export const DEFAULT_GRANT_TYPES = specSchema.grantTypes.default as readonly GrantType[];

/** The authentication method an application gets when its manifest names none. */
export const DEFAULT_AUTH_METHOD = specSchema.tokenEndpointAuthMethod.default as AuthMethod;

/**
 * The form of a client id that uniqueness is decided on: two applications' ids may not differ
 * only by case, although the wire compares them exactly (RFC 6749 section 2.2). The schema keeps
 * client ids ASCII, so lower-casing is exact case folding.
 */
export function foldClientId(clientId: string): string {
  return clientId.toLowerCase();
}
