// The requests the portal makes and decides for its users: each checked against the user first
// (policy.ts), then run through the same workflow as `mergekey app …` and `mergekey review …`
// (controller/requests/) with the server's token, the user recorded as the person who asked or
// decided. Work in the portal's clone is serialized by the workspace; the workflow's errors become
// the portal's statuses and words in portal-errors.ts.
import { requireCancellable, withdrawRequest } from '../requests/cancel.ts';
import type { CheckReport } from '../requests/check.ts';
import { checkOpenRequest, openReviewItems, queueDetails, reviewDetails } from '../requests/review-details.ts';
import { openCreateRequest, type OpenedCreate } from '../requests/create.ts';
import type { Clone } from '../requests/git.ts';
import type { Session } from '../requests/session.ts';
import { changedFields, editApplicationText, loadApplication, type ApplicationEdits } from '../requests/manifest.ts';
import { openRequest, requireAllowed, type OpenedRequest } from '../requests/open.ts';
import { approveRequest, isOwnRequest, rejectRequest, requesterUnknown, reviewItem, type ApproveResult, type Decider, type RejectResult, type ReviewItem } from '../requests/review.ts';
import { rotateSecret } from '../requests/secrets.ts';
import { listRequests, statusOf, type MainState } from '../requests/state.ts';
import { GitHubError, type PullRequest, type RequestsBackend } from '../github/index.ts';
import { appPath, describeChange, type AppStatusView, type MarkerKey, type ChangePlan, type RequestKind, type RequestSummary } from '../requests/index.ts';
import type { Application } from '../manifests/types.generated.ts';
import type { AuthMethod, GrantType, SecretAuthMethod } from '../manifests/vocabulary.ts';
import type { PortalUser } from './accounts.ts';
import type { RequestHistory, Snapshot } from './history.ts';
import { requesterName, requireActor, requireDeveloper, requirePublisher, requireRequestAllowed } from './policy.ts';
import { NO_SUCH_REQUEST, PortalError, refusalMessage, toPortalError } from './portal-errors.ts';
import type { Workspace } from './workspace.ts';

/** How long the current secret keeps working after a rotation is merged, as `mergekey app edit --rotate-secret` defaults. */
const OLD_SECRET_EXPIRES_MS = 7 * 86_400_000;

/**
 * How an application registered here authenticates: with the secret the portal shows once, sent
 * in HTTP Basic (RFC 6749 section 2.3.1), which Generate Access Token uses too. A chosen method,
 * not the schema's default: the portal offers no key pairs (private_key_jwt is `mergekey app create --jwks`).
 */
const PORTAL_AUTH_METHOD: SecretAuthMethod = 'client_secret_basic';

/** A public client (an SPA or a mobile app) registered here: no secret at all, PKCE instead. */
const PORTAL_PUBLIC_METHOD = 'none' satisfies AuthMethod;

export interface QueueEntry {
  item: ReviewItem;
  /** Who asked: the User for portal requests, else the GitHub author. */
  requester: string;
  /** The check's report, as `mergekey check` computes it; undefined when it could not run. */
  report?: CheckReport;
  checkProblem?: string;
  /** The application's description as the request leaves it. */
  description?: string;
  /** The diff of the manifests it changes. */
  diff?: string;
  /** Whether this publisher asked for it (they cannot decide their own request). */
  own: boolean;
  /** The server's token opened it but its marker does not verify, so it may be this publisher's own: not decided here. */
  requesterUnknown: boolean;
}

export interface NewApplicationInput {
  name: string;
  description: string;
  displayName?: string;
  redirectUris: string[];
  scopes: string[];
  grantTypes: GrantType[];
  /** tokenEndpointAuthMethod none: no secret is generated. */
  publicClient: boolean;
}

export type EditInput = Pick<ApplicationEdits, 'description' | 'displayName' | 'redirectUris' | 'scopes' | 'grantTypes'>;

export class PortalRequests {
  readonly #workspace: Workspace;
  readonly #history: RequestHistory;
  readonly #now: () => number;

  constructor(options: { workspace: Workspace; history: RequestHistory; now: () => number }) {
    this.#workspace = options.workspace;
    this.#history = options.history;
    this.#now = options.now;
  }

  async create(user: PortalUser, input: NewApplicationInput): Promise<OpenedCreate> {
    requireDeveloper(user);
    return this.#request(async (clone, main) => {
      const session = this.#workspace.session(clone);
      await requireAllowed(session, main, input.name, 'create');
      return openCreateRequest(session, main, {
        name: input.name,
        description: input.description,
        displayName: input.displayName,
        scopes: input.scopes,
        grantTypes: input.grantTypes,
        redirectUris: input.redirectUris,
        owners: [user.name],
        authMethod: input.publicClient ? PORTAL_PUBLIC_METHOD : PORTAL_AUTH_METHOD,
        requestedBy: { name: user.name, key: this.#history.markers },
      });
    });
  }

  /** What an edit would change, without opening it (the confirmation step). */
  async previewEdit(user: PortalUser, name: string, edits: EditInput): Promise<{ plan: ChangePlan; what: string[] }> {
    const snapshot = await this.#history.snapshot({ app: name });
    const view = statusOf(snapshot.main, name, snapshot.requests);
    requireActor(user, name, view, snapshot);
    const base = snapshot.main.apps.get(name);
    if (base === undefined) throw refusedEdit(name, view);
    const head = loadFormApplication(name, editApplicationText(textOf(snapshot.main, name), edits));
    const what = changedFields(base.manifest, head);
    return { plan: describeChange(base.manifest, head, defaultPlanOf(snapshot.main)), what };
  }

  async edit(user: PortalUser, name: string, edits: EditInput): Promise<OpenedRequest> {
    return this.#request(async (clone, main) => {
      const session = this.#workspace.session(clone);
      await this.#mayRequest(session, main, user, name, 'edit');
      const content = editApplicationText(textOf(main, name), edits);
      const what = changedFields(main.apps.get(name)!.manifest, loadFormApplication(name, content));
      if (what.length === 0) throw new PortalError(400, 'Nothing changes: the form holds what the application already has.');
      return openRequest(session, main, { kind: 'edit', app: name, content, what: what.join(', '), requestedBy: { name: user.name, key: this.#history.markers } });
    });
  }

  /** A rotation as an edit request: a new sealed secret, shown once; the current one expires 7 days after. */
  async rotate(user: PortalUser, name: string): Promise<OpenedRequest & { secret: string; oldExpiresAt: string }> {
    return this.#request(async (clone, main) => {
      const session = this.#workspace.session(clone);
      await this.#mayRequest(session, main, user, name, 'edit');
      const rotated = await rotateSecret({ app: main.apps.get(name)!.manifest, settings: main.settings, now: this.#now(), oldSecretExpiresInMs: OLD_SECRET_EXPIRES_MS });
      const content = editApplicationText(textOf(main, name), { secrets: rotated.secrets });
      const opened = await openRequest(session, main, { kind: 'edit', app: name, content, what: 'new client secret', requestedBy: { name: user.name, key: this.#history.markers } });
      return { ...opened, secret: rotated.secret, oldExpiresAt: rotated.oldExpiresAt };
    });
  }

  /** A deactivation or reactivation request: `spec.state` flipped, nothing else. */
  async changeState(user: PortalUser, name: string, kind: 'deactivate' | 'reactivate'): Promise<OpenedRequest> {
    return this.#request(async (clone, main) => {
      const session = this.#workspace.session(clone);
      await this.#mayRequest(session, main, user, name, kind);
      const content = editApplicationText(textOf(main, name), { state: kind === 'deactivate' ? 'inactive' : 'active' });
      return openRequest(session, main, { kind, app: name, content, requestedBy: { name: user.name, key: this.#history.markers } });
    });
  }

  /** Withdraws this user's open request about the application; returns it. */
  async cancel(user: PortalUser, name: string): Promise<RequestSummary> {
    return this.#request(async (clone, main) => {
      const session = this.#workspace.session(clone);
      const tokenLogin = (await this.#workspace.tokenLogin())!;
      const requests = this.#history.believe(await listRequests(session.github.backend, { app: name }), tokenLogin);
      requireActor(user, name, statusOf(main, name, requests), { main, tokenLogin });
      const decider: Decider = { tokenLogin, user: { name: user.name, githubLogin: user.githubLogin }, markers: this.#history.markers };
      const request = requireCancellable(name, decider, requests.filter((candidate) => candidate.state === 'open'));
      await withdrawRequest(session, request, decider);
      return request;
    });
  }

  /** The publishers' queue: open requests, oldest first, each with the check's report. */
  async queue(user: PortalUser): Promise<{ entries: QueueEntry[]; snapshot: Snapshot }> {
    requirePublisher(user);
    const snapshot = await this.#history.snapshot();
    const github = this.#workspace.github;
    if (github === undefined || snapshot.githubProblem !== undefined) return { entries: [], snapshot };
    const backend = github.backend;
    const pulls = await this.#github(() => backend.listPullRequests({ state: 'open', direction: 'asc' }));
    const items: ReviewItem[] = [];
    for (const pull of pulls) {
      const item = await this.#github(() => reviewItem(backend, pull));
      if (item !== undefined) items.push(item);
    }
    const decider = deciderOf(user, snapshot.tokenLogin, this.#history.markers);
    const entries: QueueEntry[] = [];
    for (const item of items) {
      const pull = pulls.find((candidate) => candidate.number === item.number)!;
      const summary = snapshot.requests.find((request) => request.number === item.number);
      entries.push({
        item,
        requester: summary === undefined ? item.author : requesterName(summary, snapshot),
        own: isOwnRequest(pull, decider),
        requesterUnknown: requesterUnknown(pull, decider),
        ...(await queueDetails(() => this.#workspace.exclusive((clone) => reviewDetails(clone, snapshot.main.commit, pull, items)))),
      });
    }
    return { entries, snapshot };
  }

  /**
   * Merges request #number as the publisher saw it in the queue: `head`, the commit its form
   * carried. A branch that moved since, a check that refuses it, or a check that could not run
   * (fail closed: an error is no approval) merges nothing.
   */
  async approve(user: PortalUser, number: number, head: string | undefined, comment?: string): Promise<ApproveResult> {
    requirePublisher(user);
    const github = this.#requireGitHub();
    const snapshot = await this.#history.snapshot();
    const pull = await this.#requestPull(github.backend, number);
    if (head === undefined || pull.headSha !== head) {
      throw new PortalError(409, `Request #${number} changed since the queue was shown (its branch has new commits), so nothing was merged.`, 'Reload the queue and review it again.');
    }
    // The portal runs the check itself: a request it refuses is not merged here either. With the
    // other open requests, as the queue weighs them: one open request per application.
    const open = await this.#github(() => openReviewItems(github.backend));
    let report: CheckReport;
    try {
      report = await this.#check(snapshot.main, pull, open);
    } catch (error) {
      throw new PortalError(409, `The check could not run on #${number}, so nothing was merged: ${(error as Error).message}`, 'Reload the queue and try again.');
    }
    if (!report.allowed) {
      throw new PortalError(409, `The check refuses #${number}: ${[...report.refusals.map((refusal) => refusal.message), ...report.problems.map((problem) => problem.message)].join('; ')}`, 'Reject it with a reason, or ask its author to change it.');
    }
    return this.#refusals(() => approveRequest(github.backend, number, deciderOf(user, snapshot.tokenLogin, this.#history.markers), comment, head));
  }

  async reject(user: PortalUser, number: number, reason: string): Promise<RejectResult> {
    requirePublisher(user);
    const github = this.#requireGitHub();
    await this.#requestPull(github.backend, number);
    const tokenLogin = await this.#github(() => this.#workspace.tokenLogin());
    return this.#refusals(() => rejectRequest(github.backend, number, deciderOf(user, tokenLogin, this.#history.markers), reason));
  }

  /** For the reject page: 403 for a developer, 404 for a number that is not a Mergekey request. */
  async reviewable(user: PortalUser, number: number): Promise<void> {
    requirePublisher(user);
    await this.#requestPull(this.#requireGitHub().backend, number);
  }

  /**
   * Pull request #number, when it is a Mergekey request (what the queue lists: the portal's
   * marker, the publisher label, or a change to manifests); anything else is 404, as a number
   * GitHub does not know. The portal acts with the server's token, which can close or merge any
   * pull request of the repository: a publisher decides requests, not the repository's code.
   */
  async #requestPull(backend: RequestsBackend, number: number): Promise<PullRequest> {
    let pull: PullRequest;
    try {
      pull = await backend.getPullRequest(number);
    } catch (error) {
      if (error instanceof GitHubError && error.code === 'NOT_FOUND') throw new PortalError(404, NO_SUCH_REQUEST);
      throw toPortalError(error);
    }
    if ((await this.#github(() => reviewItem(backend, pull))) === undefined) throw new PortalError(404, NO_SUCH_REQUEST);
    return pull;
  }

  #requireGitHub() {
    const github = this.#workspace.github;
    if (github === undefined) throw new PortalError(503, 'This server has no GitHub token, so no request can be made or decided here.');
    return github;
  }

  /** Runs a request with a freshly fetched main, serialized with every other use of the clone. */
  async #request<T>(work: (clone: Clone, main: MainState) => Promise<T>): Promise<T> {
    this.#requireGitHub();
    const view = await this.#workspace.mainView().catch((error: unknown) => {
      throw new PortalError(503, `The manifests repository cannot be read: ${(error as Error).message}`);
    });
    if (view.stale !== undefined) throw new PortalError(503, `The manifests repository cannot be fetched, so no request can be made now: ${view.stale}`);
    return this.#refusals(() => this.#workspace.exclusive((clone) => work(clone, view.main)));
  }

  /**
   * Whether this user may ask for `kind` about `name` now: first whether it is theirs (a stranger
   * learns nothing about its state), then the lifecycle's rules, as `requireAllowed` applies them.
   */
  async #mayRequest(session: Session, main: MainState, user: PortalUser, name: string, kind: RequestKind): Promise<void> {
    const tokenLogin = await this.#workspace.tokenLogin();
    const requests = this.#history.believe(await listRequests(session.github.backend, { app: name }), tokenLogin);
    const view = statusOf(main, name, requests);
    requireActor(user, name, view, { main, tokenLogin });
    requireRequestAllowed(name, view.status, kind, requests);
  }

  /** The workflow's errors and GitHub's as portal errors (portal-errors.ts). */
  async #refusals<T>(work: () => T | Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw toPortalError(error);
    }
  }

  #github<T>(work: () => Promise<T>): Promise<T> {
    return this.#refusals(work);
  }

  /** The check, on the request's head against the branch the controller follows (as `mergekey review list` runs it). */
  async #check(main: MainState, pull: PullRequest, open: readonly ReviewItem[]): Promise<CheckReport> {
    return this.#workspace.exclusive((clone) => checkOpenRequest(clone, main.commit, pull, open));
  }
}

function deciderOf(user: PortalUser, tokenLogin: string | undefined, markers: MarkerKey): Decider {
  if (tokenLogin === undefined) throw new PortalError(503, 'GitHub cannot be reached, so no request can be decided now.');
  return { tokenLogin, user: { name: user.name, githubLogin: user.githubLogin }, markers };
}

/** An edit of an application that is not on main, in the portal's words for why. */
function refusedEdit(name: string, view: AppStatusView): PortalError {
  const rule = view.status === 'awaiting' ? 'awaiting-approval' : view.status === 'rejected' ? 'rejected' : 'app-not-on-main';
  return new PortalError(409, refusalMessage(rule, name, `${name} cannot be changed.`));
}

function textOf(main: MainState, name: string): string {
  const file = main.files.find((candidate) => candidate.path === appPath(name));
  if (file === undefined) throw new PortalError(409, `${name} is not on ${main.branch}.`);
  return new TextDecoder().decode(file.content);
}

function defaultPlanOf(main: MainState): { defaultPlan?: string } {
  return main.settings === undefined ? {} : { defaultPlan: main.settings.spec.defaultPlan };
}

/** The application the form's edit makes: one that does not load is a bad form (400). */
function loadFormApplication(name: string, text: string): Application {
  try {
    return loadApplication(name, text);
  } catch (error) {
    throw new PortalError(400, (error as Error).message);
  }
}

