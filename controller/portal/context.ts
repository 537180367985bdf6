// Everything a portal route needs, built once from `PortalDeps` when the plugin is registered:
// the service that does the work, the session and sign-in machinery, the assets, and the two
// shorthands every route uses (`page` for a page's context, `auth` to require a signed-in user).
import type { FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { MarkerKey } from '../sealing/markers.ts';
import type { Store } from '../store/open.ts';
import type { Authorization, DenialCode } from '../oauth/authorize.ts';
import type { CutOffs } from '../store/token-state.ts';
import { portalCookies, type PortalCookies } from './auth/cookies.ts';
import { Sessions, type SessionOptions } from './auth/sessions.ts';
import { signedIn } from './auth/signed-in.ts';
import { PortalConsents } from './consents.ts';
import type { PageContext } from './pages/layout.ts';
import { assetUrls, loadAssets, type Assets } from './routes/assets.ts';
import { PortalService } from './service.ts';
import { SIGN_IN_LIMITS, SignInThrottles, type SignInLimits, type SignInPeers } from './throttle.ts';
import { AppTokens } from './tokens.ts';
import type { Workspace } from './workspace.ts';

/**
 * The authorization endpoint's functions (controller/oauth/authorize.ts: parse, complete, deny),
 * bound to the OAuth server's context by the composition root (ServerContext.authorization): the
 * portal never builds an OAuth context itself.
 */
export type PortalAuthorization = Authorization;
export type { AuthorizationParse, AuthorizationRequest } from '../oauth/authorize.ts';
/** The error codes the portal ends an authorization request with (RFC 6749 4.1.2.1, OpenID Connect Core 3.1.2.6). */
export type AuthorizationDenial = Extract<DenialCode, 'access_denied' | 'login_required' | 'consent_required'>;

export interface PortalDeps {
  /** What the portal reads and writes in the store: configuration, token state, its health, sessions, consents, and the codes a withdrawn consent voids. */
  store: Pick<Store, 'config' | 'tokens' | 'health' | 'sessions' | 'consents' | 'codes'>;
  /** Signing people in to applications (/portal/authorize); without it those pages answer 404. */
  authorization?: PortalAuthorization;
  workspace: Workspace;
  /**
   * The server's key for the portal's markers (`markerKey` of the data directory's secret-hash
   * key, ../sealing/markers.ts): the person recorded in a request's body and in a decision
   * comment is signed with it, and believed only where it verifies. Every replica derives the same.
   */
  markers: MarkerKey;
  /** The issuer: an https issuer makes the cookies Secure (and `__Host-` prefixed). */
  issuer: () => string | undefined;
  /** The token endpoint the portal calls (default: this server's own /oauth2/token, in-process). */
  tokenEndpoint?: string;
  /** Asks the controller to sync now, after a publisher approved a request here. */
  sync?: (reason: string) => unknown;
  now?: () => number;
  sessions?: Partial<Omit<SessionOptions, 'now'>>;
  limits?: Partial<SignInLimits>;
  /** The other workers of `--workers N`, which count this worker's sign-in failures and it theirs. */
  signInPeers?: SignInPeers;
}

export interface PortalContext {
  deps: PortalDeps;
  /** ms */
  now: () => number;
  service: PortalService;
  tokens: AppTokens;
  /** Remembered consents (/portal/authorize, Authorized applications). */
  consents: PortalConsents;
  sessions: Sessions;
  cookies: PortalCookies;
  /**
   * Where a user's removal or new password is recorded: a session opened before it has ended, as
   * the user's tokens have (oauth/liveness.ts).
   */
  userCutOffs: CutOffs;
  limits: SignInLimits;
  throttles: SignInThrottles;
  assets: Assets;
  /** What every page of a response to `request` shows: the assets, and the signed-in user and CSRF token. */
  page(request: FastifyRequest, extra?: Partial<PageContext>): PageContext;
  /** Route options that require a signed-in session, and a valid CSRF token on POST (auth/signed-in.ts). */
  auth: { preHandler: preHandlerAsyncHookHandler };
}

export function createContext(deps: PortalDeps): PortalContext {
  const now = deps.now ?? Date.now;
  const health = deps.store.health;
  const sessions = new Sessions(deps.store.sessions, { now, guard: (write) => health.guard(write), ...deps.sessions });
  const service = new PortalService({ workspace: deps.workspace, store: deps.store, markers: deps.markers, now });
  const tokens = new AppTokens(deps.store, now);
  const consents = new PortalConsents({ consents: deps.store.consents, codes: deps.store.codes, tokens: deps.store.tokens, now });
  const limits = { ...SIGN_IN_LIMITS, ...deps.limits };
  const throttles = new SignInThrottles(limits, deps.signInPeers);
  const assets = loadAssets();
  const urls = assetUrls(assets);
  const userCutOffs = deps.store.tokens.cutOffs;
  const page = (request: FastifyRequest, extra: Partial<PageContext> = {}): PageContext => ({
    assets: urls,
    ...(deps.workspace.github === undefined ? { noForge: true } : {}),
    ...(request.portal === null ? {} : { user: request.portal.user, csrf: request.portal.session.csrf }),
    ...extra,
  });
  const context = { deps, now, service, tokens, consents, sessions, cookies: portalCookies(deps.issuer), userCutOffs, limits, throttles, assets, page };
  return { ...context, auth: { preHandler: signedIn(context) } };
}
