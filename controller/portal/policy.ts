// Who may see or do what in the portal: publishers see every application, developers their own;
// only an owner with the developer role makes requests about an application, and only what the
// lifecycle allows now; registering needs the developer role and reviewing the publisher role.
// Before an application is on main, its owner is whoever asked for its creation: the User the
// portal recorded in a marker whose MAC verifies (../requests/markers.ts; the requests it is given
// are believed so), or the Users whose githubLogin opened the request. Every such check lives here,
// so routes, the request service and pages ask one module (and refuse in the same words). Pure
// checks on what the caller already read; no GitHub, no git, no store.
import { ACTION_WORDS, isRequestAllowed, lifecycleOffers, sameLogin, type Action, type AppStatus, type AppStatusView, type Offers, type RequestKind, type RequestSummary } from '../requests/index.ts';
import { usersOfLogin, type MainState } from '../requests/state.ts';
import { hasRole, type PortalUser } from './accounts.ts';
import { PortalError, refusalMessage } from './portal-errors.ts';

/** What the checks need to know: main's Users, and the login of the server's token (the author of the portal's requests). */
export interface PolicyContext {
  main: MainState;
  tokenLogin: string | undefined;
}

/**
 * The Users who asked for a request: the one the portal recorded, its marker verified
 * (`requestedBy` is set only then), or those whose githubLogin is its author. A request the
 * portal's account opened whose marker does not verify was asked for by nobody here.
 */
export function requestersOf(request: RequestSummary, context: PolicyContext): string[] {
  if (context.tokenLogin !== undefined && sameLogin(request.author, context.tokenLogin)) {
    return request.requestedBy === undefined ? [] : [request.requestedBy];
  }
  return usersOfLogin(context.main, request.author);
}

/** The person to show as a request's requester: a User when one is known, else the GitHub author. */
export function requesterName(request: RequestSummary, context: PolicyContext): string {
  return requestersOf(request, context)[0] ?? request.author;
}

/** An owner on main; before that, whoever asked for its creation. */
export function owns(user: PortalUser, view: AppStatusView, context: PolicyContext): boolean {
  if (view.onMain !== undefined) return view.onMain.spec.owners.includes(user.name);
  return view.requests.some((request) => request.kind === 'create' && requestersOf(request, context).includes(user.name));
}

/** A publisher sees every application (and its owners); anyone else only their own. */
export function seesEveryApplication(user: PortalUser): boolean {
  return hasRole(user, 'publisher');
}

export function mayRegister(user: PortalUser): boolean {
  return hasRole(user, 'developer');
}

export function mayReview(user: PortalUser): boolean {
  return hasRole(user, 'publisher');
}

export function canSee(user: PortalUser, view: AppStatusView, context: PolicyContext): boolean {
  return seesEveryApplication(user) || owns(user, view, context);
}

export function canAct(user: PortalUser, view: AppStatusView, context: PolicyContext): boolean {
  return hasRole(user, 'developer') && owns(user, view, context);
}

/**
 * Why the portal offers no request at all on a server without a forge (no GitHub token): said
 * once per page, in plain words, instead of offering actions that could only fail.
 */
export const NO_FORGE = 'This server serves tokens only: no GitHub repository is connected to it, so applications cannot be registered, changed or reviewed here.';
export const NO_FORGE_HINT = 'The list shows the applications on the main branch of the manifests repository. Ask for changes there by pull request, or with the mergekey app commands in a clone of it.';

/**
 * The actions the details page offers and its routes accept: none unless the user may act on the
 * application (`canAct`) and the server has a forge to open requests on; otherwise what the
 * lifecycle allows now (controller/requests/actions.ts), each shown or not and with its reason.
 */
export function offersFor(canAct: boolean, view: AppStatusView, forge: boolean): Offers | undefined {
  return canAct && forge ? lifecycleOffers(view) : undefined;
}

/** A route's check before its page or request: what the page offers, refused in its words (409). */
export function requireOffered(view: AppStatusView, action: Action): void {
  const reason = lifecycleOffers(view)[action].reason;
  if (reason === undefined) return;
  const hint =
    view.openRequest !== undefined
      ? "One request per application at a time: wait for a publisher's decision, or cancel the open request."
      : view.status === 'rejected'
        ? 'A rejected application cannot be changed: ask for it again with a new create request.'
        : undefined;
  throw new PortalError(409, `${ACTION_WORDS[action]} is not available: ${reason}.`, hint);
}

/** An application nobody knows is not found (404); one that is someone else's is forbidden (403). */
export function requireVisible(user: PortalUser, name: string, view: AppStatusView | undefined, context: PolicyContext): asserts view is AppStatusView {
  if (view === undefined) throw new PortalError(404, `There is no application ${name}.`);
  if (canSee(user, view, context)) return;
  throw new PortalError(403, `${name} is not yours: only its owners and the publishers may see it.`);
}

export function requireActor(user: PortalUser, name: string, view: AppStatusView | undefined, context: PolicyContext): asserts view is AppStatusView {
  if (view === undefined) throw new PortalError(404, `There is no application ${name}.`);
  if (canAct(user, view, context)) return;
  throw new PortalError(403, `${name} is not yours: only its owners, who hold the developer role, act on it.`);
}

/** What the lifecycle allows now (controller/requests/allowed.ts), refused in the portal's words (409). */
export function requireRequestAllowed(name: string, status: AppStatus | undefined, kind: RequestKind, requests: readonly RequestSummary[]): void {
  const decision = isRequestAllowed(name, status, kind, requests);
  if (!decision.allowed) throw new PortalError(409, refusalMessage(decision.code, name, decision.message));
}

export function requireDeveloper(user: PortalUser): void {
  if (!mayRegister(user)) throw new PortalError(403, 'Registering applications needs the developer role.');
}

export function requirePublisher(user: PortalUser): void {
  if (!mayReview(user)) throw new PortalError(403, 'Reviewing requests needs the publisher role.');
}

/**
 * Signing in to an application (/portal/authorize) and managing one's own consents (Authorized
 * applications): every signed-in user, whatever their roles. A person signing in to an
 * application needs no developer or publisher role; a User without a password cannot sign in at
 * all (accounts.ts), so cannot consent either. Each acts on their own consents only: the routes
 * read and withdraw those of the session's user, never of a name from the request.
 */
export function mayConsent(_user: PortalUser): boolean {
  return true;
}

/**
 * Whether `app` may sign people in without asking: its manifest says `consent: skip` and the
 * settings (`mergekey.yaml`) list it in `firstPartyApps`, a publisher's decision. The repository's
 * rules refuse `consent: skip` elsewhere already; asking here as well means a manifest that got
 * past them (an older release applied it, a settings edit dropped the app) still asks.
 */
export function skipsConsent(app: { name: string; spec: object }, firstPartyApps: readonly string[] | undefined): boolean {
  return (app.spec as { consent?: unknown }).consent === 'skip' && (firstPartyApps ?? []).includes(app.name);
}

/**
 * Whether the details page offers Try sign-in: to those who may act on the application (its
 * owners with the developer role), once the token server serves it with the authorization_code
 * grant. Not for private_key_jwt: the portal cannot sign the client's assertions.
 */
export function mayTrySignIn(canAct: boolean, record: { spec: { state: string; grantTypes: readonly string[]; tokenEndpointAuthMethod: string } } | undefined): boolean {
  return canAct && record !== undefined && record.spec.state === 'active' && record.spec.grantTypes.includes('authorization_code') && record.spec.tokenEndpointAuthMethod !== 'private_key_jwt';
}

/** Try sign-in's check, after `requireActor`: what the token server serves allows it. */
export function requireTrySignIn(record: { name: string; spec: { state: string; grantTypes: readonly string[]; tokenEndpointAuthMethod: string } }): void {
  if (!mayTrySignIn(true, record)) {
    throw new PortalError(409, `${record.name} cannot sign people in from here.`, 'Try sign-in needs an active application with the authorization_code grant, authenticating with a client secret or as a public client.');
  }
}
