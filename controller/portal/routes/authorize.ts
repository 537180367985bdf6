// Signing a person in to an application: /oauth2/authorize validates the request and sends the
// browser here (303, the same query). Each step validates the request again with the
// authorization endpoint's own parser (PortalDeps.authorization, bound to the OAuth server by the
// composition root), since the query comes back from the browser:
//
//   GET  /portal/authorize   signed out → the portal's sign-in, `next` back here (prompt=none:
//                            login_required); prompt=login, or a sign-in older than max_age →
//                            sign-in again; a first-party app (`consent: skip`) or a remembered
//                            consent covering the scopes → the code at once (prompt=consent
//                            asks anyway); prompt=none with nothing remembered →
//                            consent_required; else the consent page
//   POST /portal/authorize   Allow (remembered, then the code) or Deny (access_denied), behind the
//                            session and its CSRF token like every portal form
//
// One session for the portal and for applications: the sign-in page, its throttles and its
// device cookies are the portal's. The consent page, like every portal page, cannot be framed
// (frame-ancestors 'none', X-Frame-Options DENY: no clickjacking of Allow). Its CSP lets forms
// end at the redirect URI's origin (responses.ts `allowFormTarget`), which the 303 after Allow
// goes to.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { OAuthError } from '../../oauth/errors.ts';
import { OPEN_SCOPE } from '../../oauth/scopes.ts';
import { portalUser } from '../accounts.ts';
import { sessionOf, user } from '../auth/signed-in.ts';
import { coveredBy } from '../consents.ts';
import type { AuthorizationDenial, AuthorizationRequest, PortalContext } from '../context.ts';
import { field, MAX_NEXT_LENGTH } from '../input.ts';
import { errorPage } from '../pages/confirm.ts';
import { consentPage, type ConsentScope } from '../pages/consent.ts';
import { BASE } from '../pages/layout.ts';
import { mayConsent, skipsConsent } from '../policy.ts';
import { PortalError } from '../portal-errors.ts';
import { allowFormTarget, sendPage } from '../responses.ts';

export const AUTHORIZE_PATH = `${BASE}/authorize`;

/** Fixed words for the scopes no Api publishes. */
const BUILT_IN_SCOPES: Readonly<Record<string, string>> = {
  openid: 'Sign you in with your Mergekey account (it learns your user name).',
  profile: 'See your name and user name.',
  email: 'See your email address.',
  [OPEN_SCOPE]: 'Basic access, to no particular API.',
};

/**
 * The query of an authorization request, re-encoded: every value percent-encoded as a form
 * (no `/`, `:` or `//` left), so it round-trips through sign-in's `next`, which takes only plain
 * portal paths, and sits in a form's action as is.
 */
export function authorizePath(query: unknown): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query !== null && typeof query === 'object' ? query : {})) {
    for (const item of [value].flat()) if (typeof item === 'string') params.append(key, item);
  }
  return `${AUTHORIZE_PATH}?${params.toString()}`;
}

function prompts(request: AuthorizationRequest): string[] {
  return (request.prompt ?? '').split(' ').filter((value) => value !== '');
}

/**
 * The query without `prompt=login` and `max_age`: after signing in again, the request goes on
 * instead of asking once more (a fresh sign-in satisfies any `max_age`, and `max_age=0` would
 * otherwise ask forever).
 */
function withoutLogin(query: Record<string, unknown>): Record<string, unknown> {
  const { max_age: _, ...rest } = query;
  const remaining = String(rest.prompt ?? '').split(' ').filter((value) => value !== '' && value !== 'login');
  if (remaining.length === 0) delete rest.prompt;
  else rest.prompt = remaining.join(' ');
  return rest;
}

export function authorizeRoutes(app: FastifyInstance, ctx: PortalContext): void {
  const { deps, consents, auth } = ctx;

  /** The request validated again; an error page or an error redirect is sent, and undefined returned. */
  async function validated(request: FastifyRequest, reply: FastifyReply): Promise<AuthorizationRequest | undefined> {
    const authorization = deps.authorization;
    if (authorization === undefined) throw new PortalError(404, 'Signing in to applications is not enabled on this server.');
    const parsed = authorization.parse(request.query as Record<string, unknown>);
    if (parsed.kind === 'error-page') {
      await sendPage(reply, errorPage(ctx.page(request), parsed.status, parsed.message, 'Tell the developers of the application that sent you here.'), parsed.status);
      return undefined;
    }
    if (parsed.kind === 'redirect') {
      await reply.redirect(parsed.location, 303);
      return undefined;
    }
    return parsed.request;
  }

  const deny = (reply: FastifyReply, request: AuthorizationRequest, error: AuthorizationDenial) => reply.redirect(deps.authorization!.deny(request, error), 303);

  /**
   * Issues the code, then sends the browser back to the client; remembers what the person agreed
   * to (`consent`), or that a first-party application signed them in (`first-party`), or nothing.
   */
  async function complete(reply: FastifyReply, request: AuthorizationRequest, name: string, signedInAt: number, remember: 'consent' | 'first-party' | undefined) {
    let location: string;
    try {
      location = await deps.authorization!.complete(request, { user: name, authTime: Math.floor(signedInAt / 1000) });
    } catch (error) {
      // Deactivated, or the user removed, since the request was checked: no code, and no redirect
      // to an application its publisher shut down.
      if (error instanceof OAuthError) throw new PortalError(403, `This sign-in cannot be completed: ${error.description ?? error.code}.`, 'Go back to the application and start again.');
      throw error;
    }
    if (remember !== undefined) await consents.remember(name, request.app.name, request.scopes, { firstParty: remember === 'first-party' });
    return reply.redirect(location, 303);
  }

  function consentScopes(scopes: readonly string[]): ConsentScope[] {
    return scopes.map((scope) => {
      const fixed = BUILT_IN_SCOPES[scope];
      if (fixed !== undefined) return { name: scope, description: fixed };
      const api = deps.store.config.scopeOwner(scope);
      const description = api?.spec.scopes.find((candidate) => candidate.name === scope)?.description;
      return {
        name: scope,
        description: description ?? 'No description published.',
        ...(api === undefined ? {} : { api: api.spec.displayName ?? api.name }),
      };
    });
  }

  app.get(`/authorize`, async (request, reply) => {
    const authorization = await validated(request, reply);
    if (authorization === undefined) return reply;
    const asked = prompts(authorization);
    const found = await sessionOf(ctx, request);
    // OpenID Connect Core 3.1.2.1, max_age: a sign-in longer ago than that must be made again.
    const tooOld = found !== undefined && authorization.maxAge !== undefined && ctx.now() - found.session.createdAt > authorization.maxAge * 1000;
    const again = asked.includes('login') || tooOld;
    if (found === undefined || again) {
      // OpenID Connect Core 3.1.2.6: with prompt=none the server "MUST NOT display any
      // authentication or consent user interface pages"; not signed in, it answers login_required.
      if (asked.includes('none')) return deny(reply, authorization, 'login_required');
      const next = authorizePath(again ? withoutLogin(request.query as Record<string, unknown>) : request.query);
      if (next.length > MAX_NEXT_LENGTH) throw new PortalError(414, 'This sign-in request is too long to carry through the sign-in page.', 'Tell the developers of the application that sent you here.');
      return reply.redirect(`${BASE}/sign-in?next=${encodeURIComponent(next)}`, 303);
    }
    const person = portalUser(found.record);
    if (!mayConsent(person)) throw new PortalError(403, 'You may not sign in to applications.');
    // A request of this session, as every signed-in page is: it keeps the session from going idle.
    const session = await ctx.sessions.touch(found.id, found.session);
    const { app: record } = authorization;
    const remembered = await consents.get(person.name, record.name);
    const covered = coveredBy(remembered, authorization.scopes);
    const firstParty = skipsConsent(record, firstPartyApps(ctx));
    if (!asked.includes('consent') && (covered || firstParty)) {
      // First-party sign-ins are recorded too, so that they are listed under Authorized
      // applications and can be withdrawn (which ends their tokens) like any other; but as such,
      // not as a consent: once the application is no longer first-party, the person is asked.
      const listed = remembered?.firstParty === true && authorization.scopes.every((scope) => remembered.scopes.includes(scope));
      return complete(reply, authorization, person.name, session.createdAt, covered || listed ? undefined : 'first-party');
    }
    if (asked.includes('none')) return deny(reply, authorization, 'consent_required');
    allowFormTarget(reply, authorization.redirectUri);
    return sendPage(reply, consentPage(ctx.page(request, { user: person, csrf: session.csrf }), {
      app: { name: record.name, displayName: record.spec.displayName ?? record.name, description: record.spec.description, owners: record.spec.owners },
      scopes: consentScopes(authorization.scopes),
      action: authorizePath(request.query),
      returnsTo: new URL(authorization.redirectUri).origin,
      more: remembered !== undefined && !covered,
    }));
  });

  app.post(`/authorize`, auth, async (request, reply) => {
    const authorization = await validated(request, reply);
    if (authorization === undefined) return reply;
    const person = user(request);
    if (!mayConsent(person)) throw new PortalError(403, 'You may not sign in to applications.');
    const decision = field(request, 'decision');
    if (decision === 'deny') return deny(reply, authorization, 'access_denied');
    if (decision !== 'allow') throw new PortalError(400, 'Choose Allow or Deny.');
    return complete(reply, authorization, person.name, request.portal!.session.createdAt, 'consent');
  });
}

function firstPartyApps(ctx: PortalContext): readonly string[] | undefined {
  const spec = ctx.deps.store.config.settings()?.spec as { firstPartyApps?: readonly string[] } | undefined;
  return spec?.firstPartyApps;
}

/**
 * For the sign-in page of an authorization request (`next` is /portal/authorize?…): lets its forms
 * end at the request's redirect URI (responses.ts `allowFormTarget`), since signing in may
 * complete the request at once (a remembered consent) and Chrome checks every redirect after the
 * form; and answers the application's display name, for the page to say where the person is going.
 */
export function allowAuthorizeTarget(ctx: PortalContext, reply: FastifyReply, next: string | undefined): string | undefined {
  if (ctx.deps.authorization === undefined || next === undefined || !next.startsWith(`${AUTHORIZE_PATH}?`)) return undefined;
  const query = Object.fromEntries(new URLSearchParams(next.slice(AUTHORIZE_PATH.length + 1)));
  const parsed = ctx.deps.authorization.parse(query);
  if (parsed.kind === 'redirect') allowFormTarget(reply, parsed.location);
  if (parsed.kind !== 'ok') return undefined;
  allowFormTarget(reply, parsed.request.redirectUri);
  return parsed.request.app.spec.displayName ?? parsed.request.app.name;
}
