/* Generated from schemas/*.schema.json by `npm run gen:types`. Do not edit. */

export type PublicJwk = {
  kty: 'RSA' | 'EC' | 'OKP';
  kid?: string;
  use?: 'sig' | 'enc';
  alg?: string;
  crv?: 'P-256' | 'P-384' | 'P-521' | 'Ed25519' | 'X25519';
  x?: string;
  y?: string;
  n?: string;
  e?: string;
};

export interface Settings {
  /**
   * The manifest format version.
   */
  apiVersion: 'mergekey/v1';
  kind: 'Settings';
  metadata: Metadata;
  spec: {
    /**
     * The OAuth issuer identifier (RFC 8414): an http(s) URL with no query or fragment. Tokens carry it as `iss`.
     */
    issuer: string;
    /**
     * A lowercase DNS label, 3 to 63 characters: letters, digits and '-', starting and ending with a letter or digit.
     */
    defaultPlan: string;
    sealingKey?: PublicJwk;
    /**
     * Applications the publisher runs itself (names of Application manifests): only these may set `consent: skip`, so their users are not asked to consent.
     *
     * @maxItems 100
     *
     * Items: A lowercase DNS label, 3 to 63 characters: letters, digits and '-', starting and ending with a letter or digit.
     */
    firstPartyApps?: string[];
    /**
     * The GitHub login of the token `mergekey serve`'s portal acts with. The portal opens and decides requests for its users with that one token, recording the person in the pull request, its comments and merge commits; `mergekey app show` believes those records only from this account, since anyone can type them.
     */
    portalGitHubLogin?: string;
  };
}

export interface Metadata {
  /**
   * A lowercase DNS label, 3 to 63 characters: letters, digits and '-', starting and ending with a letter or digit.
   */
  name: string;
}

export interface Application {
  /**
   * The manifest format version.
   */
  apiVersion: 'mergekey/v1';
  kind: 'Application';
  metadata: Metadata;
  spec: ApplicationSpec;
}

export interface ApplicationSpec {
  /**
   * A human-readable name, shown in the portal and the CLI.
   */
  displayName?: string;
  /**
   * Free text describing the object.
   */
  description: string;
  /**
   * Names of User manifests that own this application.
   *
   * @minItems 1
   * @maxItems 20
   *
   * Items: A lowercase DNS label, 3 to 63 characters: letters, digits and '-', starting and ending with a letter or digit.
   */
  owners: string[];
  /**
   * The OAuth client identifier. Assigned by the CLI when the application is created; unique and immutable.
   */
  clientId: string;
  /**
   * `inactive` stops every token of the application at once. Applications are never deleted.
   */
  state: 'active' | 'inactive';
  /**
   * Scopes the application may request: `open`, the OpenID Connect scopes `openid`, `profile` and `email`, or scopes that an Api publishes.
   *
   * @minItems 1
   * @maxItems 100
   *
   * Items: An OAuth scope token (RFC 6749 section 3.3), restricted to lowercase ASCII so that two scopes never differ only by case or by a look-alike character.
   */
  scopes: string[];
  /**
   * OAuth grant types the application may use at the token endpoint.
   *
   * @minItems 1
   */
  grantTypes: ('client_credentials' | 'password' | 'refresh_token' | 'authorization_code')[];
  /**
   * Where the authorization endpoint may send the user back, matched exactly (RFC 9700 section 4.1.3): https URIs, or http on a loopback IP literal (127.0.0.1, [::1], whose port may differ at request time) for native apps (RFC 8252 section 7.3), without a fragment, user name or wildcard. Required by the authorization_code grant.
   *
   * @maxItems 10
   */
  redirectUris?: string[];
  /**
   * A lowercase DNS label, 3 to 63 characters: letters, digits and '-', starting and ending with a letter or digit.
   */
  plan?: string;
  /**
   * How the client authenticates at the token endpoint (RFC 7591 section 2).
   */
  tokenEndpointAuthMethod:
    'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none';
  /**
   * `skip`: users are not asked to consent when this application signs them in. Only for the first-party applications that mergekey.yaml's `firstPartyApps` lists.
   */
  consent?: 'skip';
  credentials?: ApplicationCredentials;
}

export interface ApplicationCredentials {
  /**
   * One secret, or two while a rotation is under way: any unexpired one is accepted.
   *
   * @minItems 1
   * @maxItems 2
   */
  secrets?: ClientSecret[];
  jwks?: Jwks;
}

export interface ClientSecret {
  /**
   * A compact JWE made by `mergekey seal` with the controller's public sealing key and bound to this object. Only the controller can open it.
   */
  sealed: string;
  /**
   * When this secret stops being accepted (RFC 3339). Set on the old secret during a rotation.
   */
  expiresAt?: string;
}

export interface Jwks {
  /**
   * @minItems 1
   * @maxItems 10
   */
  keys: PublicJwk[];
}

export interface Api {
  /**
   * The manifest format version.
   */
  apiVersion: 'mergekey/v1';
  kind: 'Api';
  metadata: Metadata;
  spec: ApiSpec;
}

export interface ApiSpec {
  /**
   * A human-readable name, shown in the portal and the CLI.
   */
  displayName?: string;
  /**
   * Free text describing the object.
   */
  description: string;
  /**
   * The resource indicator that access tokens for this API carry in `aud` (RFC 9068 section 2.2): an absolute URI.
   */
  audience: string;
  /**
   * Scopes this API publishes. A scope belongs to one API only; `open` is reserved.
   *
   * @minItems 1
   * @maxItems 200
   */
  scopes: ApiScope[];
  introspection?: ApiIntrospection;
}

export interface ApiScope {
  /**
   * An OAuth scope token (RFC 6749 section 3.3), restricted to lowercase ASCII so that two scopes never differ only by case or by a look-alike character.
   */
  name: string;
  /**
   * Free text describing the object.
   */
  description: string;
}

export interface ApiIntrospection {
  /**
   * Names of Application manifests whose clients may introspect this API's tokens.
   *
   * @minItems 1
   * @maxItems 20
   *
   * Items: A lowercase DNS label, 3 to 63 characters: letters, digits and '-', starting and ending with a letter or digit.
   */
  applications: string[];
}

export interface Plan {
  /**
   * The manifest format version.
   */
  apiVersion: 'mergekey/v1';
  kind: 'Plan';
  metadata: Metadata;
  spec: PlanSpec;
}

export interface PlanSpec {
  /**
   * A human-readable name, shown in the portal and the CLI.
   */
  displayName?: string;
  /**
   * Free text describing the object.
   */
  description: string;
  /**
   * Lifetime of an access token.
   */
  accessTokenTtl: string;
  /**
   * Lifetime of a refresh token; each use rotates it and starts a new lifetime.
   */
  refreshTokenTtl: string;
  /**
   * How many token requests one application may make per minute; past it the token endpoint answers 429 with Retry-After.
   */
  tokenRequestsPerMinute: number;
}

export interface User {
  /**
   * The manifest format version.
   */
  apiVersion: 'mergekey/v1';
  kind: 'User';
  metadata: Metadata;
  spec: UserSpec;
}

export interface UserSpec {
  /**
   * A human-readable name, shown in the portal and the CLI.
   */
  displayName?: string;
  email?: string;
  /**
   * The person's GitHub login, which ties pull requests to this user.
   */
  githubLogin?: string;
  /**
   * `developer` registers applications; `publisher` approves requests and manages APIs, plans and users.
   *
   * @minItems 1
   */
  roles: ('developer' | 'publisher')[];
  /**
   * The sealed password, for portal sign-in and the password grant. A user without one cannot sign in.
   */
  password?: {
    /**
     * A compact JWE made by `mergekey seal` with the controller's public sealing key and bound to this object. Only the controller can open it.
     */
    sealed: string;
  };
}
