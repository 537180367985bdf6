// Everything a portal route needs, built once from `PortalDeps` when the plugin is registered:
// the service that does the work, the session and sign-in machinery, the assets, and the two
// shorthands every route uses (`page` for a page's context, `auth` to require a signed-in user).
import type { FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { Store } from '../store/open.ts';
import { portalCookies, type PortalCookies } from './auth/cookies.ts';
import { Sessions, type SessionOptions } from './auth/sessions.ts';
import { signedIn } from './auth/signed-in.ts';
import type { PageContext } from './pages/layout.ts';
import { assetUrls, loadAssets, type Assets } from './routes/assets.ts';
import { PortalService } from './service.ts';
import { SIGN_IN_LIMITS, SignInThrottles, type SignInLimits, type SignInPeers } from './throttle.ts';
import { AppTokens } from './tokens.ts';
import type { Workspace } from './workspace.ts';

export interface PortalDeps {
  /** What the portal reads and writes in the store: configuration, token state, its health, sessions. */
  store: Pick<Store, 'config' | 'tokens' | 'health' | 'sessions'>;
  workspace: Workspace;
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

/** Where a user's removal or new password is recorded: a session opened before it has ended. */
export interface UserMarks {
  userRevokedBefore(name: string): number | undefined;
}

export interface PortalContext {
  deps: PortalDeps;
  /** ms */
  now: () => number;
  service: PortalService;
  tokens: AppTokens;
  sessions: Sessions;
  cookies: PortalCookies;
  userMarks: UserMarks;
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
  const service = new PortalService({ workspace: deps.workspace, store: deps.store, now });
  const tokens = new AppTokens(deps.store, now);
  const limits = { ...SIGN_IN_LIMITS, ...deps.limits };
  const throttles = new SignInThrottles(limits, deps.signInPeers);
  const assets = loadAssets();
  const urls = assetUrls(assets);
  // A session opened no later than the second its user was last removed or given a new password
  // has ended, as the user's tokens have (oauth/user-state.ts): a User restored by a revert, or a
  // new person of the same name, gets no session of the old one, whatever the password stamp says.
  const userMarks = { userRevokedBefore: (name: string) => deps.store.tokens.userRevokedBefore(name) };
  const page = (request: FastifyRequest, extra: Partial<PageContext> = {}): PageContext => ({
    assets: urls,
    ...(request.portal === null ? {} : { user: request.portal.user, csrf: request.portal.session.csrf }),
    ...extra,
  });
  const context = { deps, now, service, tokens, sessions, cookies: portalCookies(deps.issuer), userMarks, limits, throttles, assets, page };
  return { ...context, auth: { preHandler: signedIn(context) } };
}
