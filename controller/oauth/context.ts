// Everything an OAuth endpoint needs, built once from `OAuthDeps` when the plugin is registered.
import type { AuthorizationCodes } from '../store/authorization-codes.ts';
import type { TokenState } from '../store/token-state.ts';
import { DEFAULT_OPTIONS, type OAuthOptions } from './defaults.ts';
import type { OAuthConfig, OAuthDeps } from './deps.ts';
import { SigningKeys, signingKeyWrapKey } from './signing-keys.ts';
import { effectivePlan } from './effective-plan.ts';
import { SlowConfig } from './slow-config.ts';
import { Throttle } from './throttle.ts';
import { VerifiedTokens } from './verified-tokens.ts';

export interface Endpoints {
  authorization: string;
  token: string;
  userinfo: string;
  revocation: string;
  introspection: string;
  jwks: string;
}

export interface OAuthContext {
  config: OAuthConfig;
  /** Settings, plans and Apis, re-read at most every `configCacheTtl`. */
  slow: SlowConfig;
  tokens: TokenState;
  codes: AuthorizationCodes;
  keys: SigningKeys;
  /** Access tokens whose signature this process verified: introspection does not verify them again. */
  verifiedTokens: VerifiedTokens;
  issuer: string;
  endpoints: Endpoints;
  secretHashKey: Uint8Array;
  /** ms */
  now: () => number;
  options: OAuthOptions;
  /** Reports a failure of work done in the background (rotation, sweeping, record writes). */
  onBackgroundError: (err: unknown) => void;
  throttles: {
    /** Token requests per application (the plan's rate). */
    requests: Throttle;
    /** Failed client authentications per (client id, source address). */
    clientAuthFailures: Throttle;
    /** Failed password grant attempts per (user, client, source address). */
    passwordFailures: Throttle;
    /** Introspections answered inactive and revocations of nothing, per client (token-misses.ts). */
    inactiveTokens: Throttle;
  };
}

export const PATHS = {
  authorization: '/oauth2/authorize',
  token: '/oauth2/token',
  userinfo: '/oauth2/userinfo',
  openidConfiguration: '/.well-known/openid-configuration',
  revocation: '/oauth2/revoke',
  introspection: '/oauth2/introspect',
  jwks: '/oauth2/jwks',
  metadata: '/.well-known/oauth-authorization-server',
  appTokens: '/api/v1/apps/:name/tokens',
} as const;

export function createContext(deps: OAuthDeps, onBackgroundError: (err: unknown) => void): OAuthContext {
  const options: OAuthOptions = { ...DEFAULT_OPTIONS, ...deps.options };
  const now = deps.now ?? Date.now;
  const issuer = deps.issuer;
  if (!/^https?:\/\/[^?#]+$/.test(issuer)) throw new Error(`the issuer must be an http(s) URL without query or fragment: ${issuer}`);
  if (deps.secretHashKey.length !== 32) throw new Error('the secret-hash key must be 32 bytes');
  // RFC 8414 section 3: endpoints hang off the issuer; a trailing slash is not doubled.
  const base = issuer.replace(/\/+$/, '');
  const tokens = deps.tokens;
  const config = deps.config;
  const throttle = () => new Throttle(options.throttleMaxEntries, { share: deps.throttleSharing !== undefined });
  return {
    config,
    slow: new SlowConfig(config, () => tokens.cutOffs.generation(), now, options.configCacheTtl),
    tokens,
    codes: deps.codes,
    keys: new SigningKeys(deps.keyring, {
      alg: options.signingAlg,
      rotationInterval: options.keyRotationInterval,
      // A retired key stays published while a token it signed may still be alive.
      retention: () => Math.max(
        options.minKeyRetention,
        effectivePlan(undefined).accessTokenTtl * 1000,
        ...config.plans().map((plan) => effectivePlan(plan).accessTokenTtl * 1000),
      ),
      now,
      onError: onBackgroundError,
      wrapKey: signingKeyWrapKey(deps.secretHashKey),
    }),
    verifiedTokens: new VerifiedTokens(),
    issuer,
    endpoints: {
      authorization: `${base}${PATHS.authorization}`,
      token: `${base}${PATHS.token}`,
      userinfo: `${base}${PATHS.userinfo}`,
      revocation: `${base}${PATHS.revocation}`,
      introspection: `${base}${PATHS.introspection}`,
      jwks: `${base}${PATHS.jwks}`,
    },
    secretHashKey: deps.secretHashKey,
    now,
    options,
    onBackgroundError,
    throttles: { requests: throttle(), clientAuthFailures: throttle(), passwordFailures: throttle(), inactiveTokens: throttle() },
  };
}
