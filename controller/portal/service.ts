// What the portal does, independent of HTML: every read and every request, each checked against
// the signed-in user first. Requests go through the same functions as `mergekey app …` and
// `mergekey review …` (`cli/requests/`), with the server's token and the user recorded as the
// person who asked or decided.
import { CliError } from '../../cli/errors.ts';
import { requireCancellable, withdrawRequest } from '../requests/cancel.ts';
import { runCheck, type CheckReport } from '../requests/check.ts';
import { openCreateRequest, type OpenedCreate } from '../requests/create.ts';
import type { Clone } from '../requests/git.ts';
import type { Session } from '../requests/session.ts';
import type { GrantType } from '../requests/inputs.ts';
import { editApplicationText, loadApplication, type ApplicationEdits } from '../requests/manifest.ts';
import { openRequest, RequestRefused, requireAllowed, type OpenedRequest } from '../requests/open.ts';
import { approveRequest, isOwnRequest, rejectRequest, reviewItem, type ApproveResult, type Decider, type RejectResult, type ReviewItem } from '../requests/review.ts';
import { rotateSecret } from '../requests/secrets.ts';
import { listRequests, statusOf, statusesOf, usersOfLogin, type MainState } from '../requests/state.ts';
import { GitHubError, type PullRequest, type RequestsBackend } from '../github/index.ts';
import {
  appPath,
  countApplications,
  describeChange,
  isRequestAllowed,
  parseDecisionMarker,
  requestOutcome,
  sameLogin,
  TRAILERS,
  type AppStatusView,
  type ChangePlan,
  type RequestCounts,
  type RequestKind,
  type RequestOutcome,
  type RequestSummary,
} from '../requests/index.ts';
import type { Application } from '../manifests/types.generated.ts';
import { StoreError } from '../store/errors.ts';
import type { Store } from '../store/open.ts';
import type { ApplicationRecord } from '../store/records.ts';
import { hasRole, type PortalUser } from './accounts.ts';
import type { Workspace } from './workspace.ts';

/** A refusal or failure for the person using the portal: an HTTP status and a sentence. */
export class PortalError extends Error {
  override readonly name = 'PortalError';
  constructor(
    readonly status: number,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** How long the current secret keeps working after a rotation is merged, as `mergekey app edit --rotate-secret` defaults. */
const OLD_SECRET_EXPIRES_MS = 7 * 86_400_000;

export interface Snapshot {
  main: MainState;
  /** Why `main` may be out of date (the fetch failed). */
  stale?: string;
  /** Why requests are unknown (no token, GitHub unreachable): statuses then come from main alone. */
  githubProblem?: string;
  requests: RequestSummary[];
  /** The login of the server's token: the author of the portal's requests. */
  tokenLogin: string | undefined;
}

export interface Overview extends Snapshot {
  /** The applications this user may see, by name. */
  views: AppStatusView[];
  counts: ReturnType<typeof countApplications>;
  requestTotals: RequestCounts;
}

export interface HistoryEntry {
  number: number;
  kind: RequestKind;
  outcome: RequestOutcome;
  /** Who asked: the User for portal requests, else the GitHub author. */
  requester: string;
  openedAt: string;
  /** Who approved, rejected or cancelled it. */
  decidedBy?: string;
  decidedAt?: string;
  /** The merge commit of an approved request, else the request's own commit. */
  commit: string;
  url?: string;
}

export interface AppDetail extends Snapshot {
  view: AppStatusView;
  /** The manifest on main, or the one an open create request asks for. */
  manifest?: Application;
  manifestSource?: 'main' | 'request';
  /** What the token server serves now (undefined until the controller applied it). */
  record?: ApplicationRecord;
  history: HistoryEntry[];
  /** Whether this user may make requests about it and manage its tokens. */
  canAct: boolean;
}

export interface QueueEntry {
  item: ReviewItem;
  /** Who asked: the User for portal requests, else the GitHub author. */
  requester: string;
  /** The check's report, as `mergekey check` computes it; undefined when it could not run. */
  report?: CheckReport;
  checkProblem?: string;
  /** Whether this publisher asked for it (they cannot decide their own request). */
  own: boolean;
}

export interface NewApplicationInput {
  name: string;
  description: string;
  displayName?: string;
  redirectUris: string[];
  scopes: string[];
  grantTypes: GrantType[];
}

export type EditInput = Pick<ApplicationEdits, 'description' | 'displayName' | 'redirectUris' | 'scopes' | 'grantTypes'>;

export class PortalService {
  readonly #workspace: Workspace;
  readonly #store: Pick<Store, 'config'>;
  readonly #now: () => number;
  /** Who decided a request closed by the server's token, by number and close time: fixed once closed. */
  readonly #decisions = new Map<string, string | undefined>();

  constructor(options: { workspace: Workspace; store: Pick<Store, 'config'>; now: () => number }) {
    this.#workspace = options.workspace;
    this.#store = options.store;
    this.#now = options.now;
  }

  get canMakeRequests(): boolean {
    return this.#workspace.github !== undefined;
  }

  /** Main and the requests, or as much as can be known when GitHub (or git) fails. */
  async snapshot(options: { app?: string; withMergers?: boolean } = {}): Promise<Snapshot> {
    let view;
    try {
      view = await this.#workspace.mainView();
    } catch (error) {
      throw new PortalError(503, `The manifests repository cannot be read: ${(error as Error).message}`, 'Try again in a moment; the token server keeps serving what it applied.');
    }
    const github = this.#workspace.github;
    const base = { main: view.main, ...(view.stale === undefined ? {} : { stale: view.stale }) };
    if (github === undefined) {
      return { ...base, requests: [], tokenLogin: undefined, githubProblem: 'This server has no GitHub token, so requests cannot be listed or made here.' };
    }
    try {
      const [requests, tokenLogin] = await Promise.all([
        listRequests(github.backend, { ...(options.app === undefined ? {} : { app: options.app }), ...(options.withMergers === true ? { withMergers: true } : {}) }),
        this.#workspace.tokenLogin(),
      ]);
      return { ...base, requests, tokenLogin };
    } catch (error) {
      return { ...base, requests: [], tokenLogin: undefined, githubProblem: `GitHub cannot be reached: ${(error as Error).message}` };
    }
  }

  async overview(user: PortalUser): Promise<Overview> {
    const snapshot = await this.snapshot();
    const views = statusesOf(snapshot.main, snapshot.requests).filter((view) => this.#canSee(user, view, snapshot));
    const requestTotals: RequestCounts = { approved: 0, rejected: 0, cancelled: 0 };
    for (const view of views) {
      for (const request of view.requests) {
        const outcome = requestOutcome(request);
        if (outcome !== 'open') requestTotals[outcome] += 1;
      }
    }
    return { ...snapshot, views, counts: countApplications(views), requestTotals };
  }

  /** One application's details; 403 when this user may not see it (or it does not exist, for a developer). */
  async application(user: PortalUser, name: string): Promise<AppDetail> {
    const snapshot = await this.snapshot({ app: name, withMergers: true });
    const view = statusOf(snapshot.main, name, snapshot.requests);
    this.#requireVisible(user, name, view, snapshot);
    let manifest: Application | undefined = view!.onMain;
    let manifestSource: AppDetail['manifestSource'] = manifest === undefined ? undefined : 'main';
    if (manifest === undefined && view!.openRequest?.kind === 'create') {
      manifest = await this.#requested(view!.openRequest);
      if (manifest !== undefined) manifestSource = 'request';
    }
    const record = this.#store.config.application(name);
    return {
      ...snapshot,
      view: view!,
      ...(manifest === undefined ? {} : { manifest, manifestSource }),
      ...(record === undefined ? {} : { record }),
      history: await this.#history(view!.requests, snapshot.tokenLogin),
      canAct: this.#canAct(user, view!, snapshot),
    };
  }

  /** The published scopes a new or edited application may hold: `open` and every Api's. */
  scopesOf(main: MainState): { name: string; description: string; api?: string }[] {
    const scopes: { name: string; description: string; api?: string }[] = [{ name: 'open', description: 'No particular API: the default.' }];
    for (const object of main.objects) {
      if (object.kind !== 'Api') continue;
      for (const scope of object.manifest.spec.scopes) scopes.push({ name: scope.name, description: scope.description ?? '', api: object.name });
    }
    return scopes;
  }

  async create(user: PortalUser, input: NewApplicationInput): Promise<OpenedCreate> {
    this.#requireDeveloper(user);
    return this.#request(async (clone, main) => {
      const session = this.#workspace.session(clone);
      await this.#allowed(() => requireAllowed(session, main, input.name, 'create'));
      return openCreateRequest(session, main, {
        name: input.name,
        description: input.description,
        displayName: input.displayName,
        scopes: input.scopes,
        grantTypes: input.grantTypes,
        redirectUris: input.redirectUris,
        owners: [user.name],
        authMethod: 'client_secret_basic',
        requestedBy: user.name,
      });
    });
  }

  /** What an edit would change, without opening it (the confirmation step). */
  async previewEdit(user: PortalUser, name: string, edits: EditInput): Promise<{ plan: ChangePlan; what: string[] }> {
    const snapshot = await this.snapshot({ app: name });
    const view = statusOf(snapshot.main, name, snapshot.requests);
    this.#requireActor(user, name, view, snapshot);
    const base = snapshot.main.apps.get(name);
    if (base === undefined) throw refusedEdit(name, view);
    const head = loadPortalApplication(name, editApplicationText(textOf(snapshot.main, name), edits));
    const what = changedFields(base.manifest, head);
    return { plan: describeChange(base.manifest, head, defaultPlanOf(snapshot.main)), what };
  }

  async edit(user: PortalUser, name: string, edits: EditInput): Promise<OpenedRequest> {
    return this.#request(async (clone, main) => {
      const session = this.#workspace.session(clone);
      await this.#mayRequest(session, main, user, name, 'edit');
      const content = editApplicationText(textOf(main, name), edits);
      const what = changedFields(main.apps.get(name)!.manifest, loadPortalApplication(name, content));
      if (what.length === 0) throw new PortalError(400, 'Nothing changes: the form holds what the application already has.');
      return openRequest(session, main, { kind: 'edit', app: name, content, what: what.join(', '), requestedBy: user.name });
    });
  }

  /** A rotation as an edit request: a new sealed secret, shown once; the current one expires 7 days after. */
  async rotate(user: PortalUser, name: string): Promise<OpenedRequest & { secret: string; oldExpiresAt: string }> {
    return this.#request(async (clone, main) => {
      const session = this.#workspace.session(clone);
      await this.#mayRequest(session, main, user, name, 'edit');
      const rotated = await rotateSecret({ app: main.apps.get(name)!.manifest, settings: main.settings, now: this.#now(), oldSecretExpiresInMs: OLD_SECRET_EXPIRES_MS });
      const content = editApplicationText(textOf(main, name), { secrets: rotated.secrets });
      const opened = await openRequest(session, main, { kind: 'edit', app: name, content, what: 'new client secret', requestedBy: user.name });
      return { ...opened, secret: rotated.secret, oldExpiresAt: rotated.oldExpiresAt };
    });
  }

  /** A deactivation or reactivation request: `spec.state` flipped, nothing else. */
  async changeState(user: PortalUser, name: string, kind: 'deactivate' | 'reactivate'): Promise<OpenedRequest> {
    return this.#request(async (clone, main) => {
      const session = this.#workspace.session(clone);
      await this.#mayRequest(session, main, user, name, kind);
      const content = editApplicationText(textOf(main, name), { state: kind === 'deactivate' ? 'inactive' : 'active' });
      return openRequest(session, main, { kind, app: name, content, requestedBy: user.name });
    });
  }

  /** Withdraws this user's open request about the application. */
  async cancel(user: PortalUser, name: string): Promise<RequestSummary> {
    return this.#request(async (clone, main) => {
      const session = this.#workspace.session(clone);
      const tokenLogin = (await this.#workspace.tokenLogin())!;
      const requests = await listRequests(session.github.backend, { app: name });
      this.#requireActor(user, name, statusOf(main, name, requests), { main, tokenLogin });
      const decider: Decider = { tokenLogin, user: { name: user.name, githubLogin: user.githubLogin } };
      const request = requireCancellable(name, decider, requests.filter((candidate) => candidate.state === 'open'));
      await withdrawRequest(session, request, decider);
      return request;
    });
  }

  /** The publishers' queue: open requests, oldest first, each with the check's report. */
  async queue(user: PortalUser): Promise<{ entries: QueueEntry[]; snapshot: Snapshot }> {
    this.#requirePublisher(user);
    const snapshot = await this.snapshot();
    const github = this.#workspace.github;
    if (github === undefined || snapshot.githubProblem !== undefined) return { entries: [], snapshot };
    const backend = github.backend;
    const pulls = await this.#github(() => backend.listPullRequests({ state: 'open', direction: 'asc' }));
    const items: ReviewItem[] = [];
    for (const pull of pulls) {
      const item = await this.#github(() => reviewItem(backend, pull));
      if (item !== undefined) items.push(item);
    }
    const decider = this.#decider(user, snapshot.tokenLogin);
    const entries: QueueEntry[] = [];
    for (const item of items) {
      const pull = pulls.find((candidate) => candidate.number === item.number)!;
      const summary = snapshot.requests.find((request) => request.number === item.number);
      const entry: QueueEntry = {
        item,
        requester: summary === undefined ? item.author : this.#requesterName(summary, snapshot),
        own: isOwnRequest(pull, decider),
      };
      try {
        entry.report = await this.#check(snapshot.main, pull, items);
      } catch (error) {
        entry.checkProblem = (error as Error).message;
      }
      entries.push(entry);
    }
    return { entries, snapshot };
  }

  /**
   * Merges request #number as the publisher saw it in the queue: `head`, the commit its form
   * carried. A branch that moved since, a check that refuses it, or a check that could not run
   * (fail closed: an error is no approval) merges nothing.
   */
  async approve(user: PortalUser, number: number, head: string | undefined): Promise<ApproveResult> {
    this.#requirePublisher(user);
    const github = this.#requireGitHub();
    const snapshot = await this.snapshot();
    const pull = await this.#requestPull(github.backend, number);
    if (head === undefined || pull.headSha !== head) {
      throw new PortalError(409, `Request #${number} changed since the queue was shown (its branch has new commits), so nothing was merged.`, 'Reload the queue and review it again.');
    }
    // The portal runs the check itself: a request it refuses is not merged here either.
    let report: CheckReport;
    try {
      report = await this.#check(snapshot.main, pull, []);
    } catch (error) {
      throw new PortalError(409, `The check could not run on #${number}, so nothing was merged: ${(error as Error).message}`, 'Reload the queue and try again.');
    }
    if (!report.allowed) {
      throw new PortalError(409, `The check refuses #${number}: ${[...report.refusals.map((refusal) => refusal.message), ...report.problems.map((problem) => problem.message)].join('; ')}`, 'Reject it with a reason, or ask its author to change it.');
    }
    return this.#refusals(() => approveRequest(github.backend, number, this.#decider(user, snapshot.tokenLogin), undefined, head));
  }

  async reject(user: PortalUser, number: number, reason: string): Promise<RejectResult> {
    this.#requirePublisher(user);
    const github = this.#requireGitHub();
    await this.#requestPull(github.backend, number);
    const tokenLogin = await this.#github(() => this.#workspace.tokenLogin());
    return this.#refusals(() => rejectRequest(github.backend, number, this.#decider(user, tokenLogin), reason));
  }

  /** For the reject page: 403 for a developer, 404 for a number that is not a Mergekey request. */
  async reviewable(user: PortalUser, number: number): Promise<void> {
    this.#requirePublisher(user);
    await this.#requestPull(this.#requireGitHub().backend, number);
  }

  // Authorisation.

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

  #decider(user: PortalUser, tokenLogin: string | undefined): Decider {
    if (tokenLogin === undefined) throw new PortalError(503, 'GitHub cannot be reached, so no request can be decided now.');
    return { tokenLogin, user: { name: user.name, githubLogin: user.githubLogin } };
  }

  /** The Users who asked for a request: the one the portal recorded, or those whose githubLogin is its author. */
  #requesters(request: RequestSummary, snapshot: Pick<Snapshot, 'main' | 'tokenLogin'>): string[] {
    if (snapshot.tokenLogin !== undefined && sameLogin(request.author, snapshot.tokenLogin)) {
      return request.requestedBy === undefined ? [] : [request.requestedBy];
    }
    return usersOfLogin(snapshot.main, request.author);
  }

  #requesterName(request: RequestSummary, snapshot: Pick<Snapshot, 'main' | 'tokenLogin'>): string {
    return this.#requesters(request, snapshot)[0] ?? request.author;
  }

  /** An owner on main; before that, whoever asked for its creation. */
  #owns(user: PortalUser, view: AppStatusView, snapshot: Pick<Snapshot, 'main' | 'tokenLogin'>): boolean {
    if (view.onMain !== undefined) return view.onMain.spec.owners.includes(user.name);
    return view.requests.some((request) => request.kind === 'create' && this.#requesters(request, snapshot).includes(user.name));
  }

  #canSee(user: PortalUser, view: AppStatusView, snapshot: Pick<Snapshot, 'main' | 'tokenLogin'>): boolean {
    return hasRole(user, 'publisher') || this.#owns(user, view, snapshot);
  }

  #canAct(user: PortalUser, view: AppStatusView, snapshot: Pick<Snapshot, 'main' | 'tokenLogin'>): boolean {
    return hasRole(user, 'developer') && this.#owns(user, view, snapshot);
  }

  /** Not found and not yours look the same to a developer: names of others' applications do not leak. */
  #requireVisible(user: PortalUser, name: string, view: AppStatusView | undefined, snapshot: Snapshot): void {
    if (view !== undefined && this.#canSee(user, view, snapshot)) return;
    if (view === undefined && hasRole(user, 'publisher')) throw new PortalError(404, `There is no application ${name}.`);
    throw new PortalError(403, `You have no application named ${name}.`);
  }

  #requireActor(user: PortalUser, name: string, view: AppStatusView | undefined, snapshot: Pick<Snapshot, 'main' | 'tokenLogin'>): void {
    if (view !== undefined && this.#canAct(user, view, snapshot)) return;
    throw new PortalError(403, `You have no application named ${name}.`, 'Only its owners, who hold the developer role, make requests about an application.');
  }

  /** For token management: the application as the token server has it, if this user may act on it. */
  async actorRecord(user: PortalUser, name: string): Promise<ApplicationRecord> {
    const snapshot = await this.snapshot({ app: name });
    const view = statusOf(snapshot.main, name, snapshot.requests);
    this.#requireActor(user, name, view, snapshot);
    const record = this.#store.config.application(name);
    if (record === undefined) throw new PortalError(409, `${name} is not served by the token server yet.`, 'Its create request must be approved and applied first.');
    return record;
  }

  #requireDeveloper(user: PortalUser): void {
    if (!hasRole(user, 'developer')) throw new PortalError(403, 'Registering applications needs the developer role.');
  }

  #requirePublisher(user: PortalUser): void {
    if (!hasRole(user, 'publisher')) throw new PortalError(403, 'Reviewing requests needs the publisher role.');
  }

  #requireGitHub() {
    const github = this.#workspace.github;
    if (github === undefined) throw new PortalError(503, 'This server has no GitHub token, so no request can be made or decided here.');
    return github;
  }

  // Doing things.

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
    const requests = await listRequests(session.github.backend, { app: name });
    const view = statusOf(main, name, requests);
    this.#requireActor(user, name, view, { main, tokenLogin: await this.#workspace.tokenLogin() });
    const decision = isRequestAllowed(name, view?.status, kind, requests);
    if (!decision.allowed) throw new PortalError(409, refusalMessage(decision.code, name, decision.message));
  }

  /** requireAllowed, with the lifecycle's refusals reworded for the portal where they name CLI commands. */
  async #allowed(check: () => Promise<RequestSummary[]>, name?: string): Promise<RequestSummary[]> {
    try {
      return await check();
    } catch (error) {
      if (error instanceof RequestRefused && name !== undefined) {
        const portal = PORTAL_REFUSALS[error.rule]?.(name);
        if (portal !== undefined) throw new PortalError(409, portal);
      }
      throw error;
    }
  }

  /** CLI failures and GitHub errors as portal errors: refusals are 409, GitHub's trouble 502. */
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

  /** The check, on the request's head against the branch the controller follows. */
  async #check(main: MainState, pull: { number: number; labels: readonly string[]; headRef: string; headSha: string; body: string | null }, open: readonly ReviewItem[]): Promise<CheckReport> {
    return this.#workspace.exclusive(async (clone) => {
      const head = await clone.fetchBranch(pull.headRef);
      if (head !== pull.headSha) throw new Error(`the branch ${pull.headRef} moved while it was being checked; reload`);
      return runCheck({
        clone,
        base: main.commit,
        head,
        pr: { number: pull.number, labels: pull.labels, headRef: pull.headRef, body: pull.body },
        openRequests: open.flatMap((item) => (item.app === undefined || item.kind === 'publisher' || item.kind === 'unclassified' ? [] : [{ number: item.number, app: item.app, kind: item.kind }])),
      });
    });
  }

  /** The manifest an open create request asks for, read from its branch. */
  async #requested(request: RequestSummary): Promise<Application | undefined> {
    const github = this.#workspace.github;
    if (github === undefined) return undefined;
    try {
      const pull = await github.backend.getPullRequest(request.number);
      return await this.#workspace.exclusive(async (clone) => {
        const commit = await clone.fetchBranch(pull.headRef);
        const bytes = await clone.readFile(commit, appPath(request.app));
        return bytes === undefined ? undefined : loadApplication(request.app, new TextDecoder().decode(bytes));
      });
    } catch {
      // The overview is a courtesy for a pending request; its status and history still show.
      return undefined;
    }
  }

  /**
   * Each request with who decided it. GitHub names the token's user for what the portal did, so
   * then the person comes from the merge commit's Approved-by trailer or the decision comment.
   */
  async #history(requests: readonly RequestSummary[], tokenLogin: string | undefined): Promise<HistoryEntry[]> {
    const byToken = (login: string | null | undefined) => tokenLogin !== undefined && login !== null && login !== undefined && sameLogin(login, tokenLogin);
    const entries: HistoryEntry[] = [];
    for (const request of requests) {
      const entry: HistoryEntry = {
        number: request.number,
        kind: request.kind,
        outcome: requestOutcome(request),
        requester: byToken(request.author) ? (request.requestedBy ?? request.author) : request.author,
        openedAt: request.createdAt,
        commit: request.headSha,
        ...(request.htmlUrl === undefined ? {} : { url: request.htmlUrl }),
      };
      if (request.state === 'merged') {
        entry.decidedAt = request.mergedAt;
        if (request.mergeCommitSha !== null) entry.commit = request.mergeCommitSha;
        const trailer = request.mergeCommitSha === null || !(byToken(request.mergedBy) || request.mergedBy == null) ? undefined : await this.#approvedBy(request.mergeCommitSha);
        const decidedBy = trailer ?? request.mergedBy ?? undefined;
        if (decidedBy !== undefined) entry.decidedBy = decidedBy;
      } else if (request.state === 'closed') {
        entry.decidedAt = request.closedAt;
        const decidedBy = byToken(request.closedBy) ? ((await this.#decidedBy(request.number, request.closedAt, tokenLogin!)) ?? request.closedBy) : request.closedBy;
        if (decidedBy !== null) entry.decidedBy = decidedBy;
      }
      entries.push(entry);
    }
    return entries;
  }

  async #approvedBy(commit: string): Promise<string | undefined> {
    try {
      const output = await this.#workspace.exclusive((clone) => clone.run(['log', '-1', `--format=%(trailers:key=${TRAILERS.approvedBy},valueonly)`, commit]));
      const value = output.toString('utf8').trim().split('\n')[0]?.trim();
      return value === undefined || value === '' ? undefined : value;
    } catch {
      return undefined;
    }
  }

  async #decidedBy(number: number, closedAt: string, tokenLogin: string): Promise<string | undefined> {
    const key = `${number}@${closedAt}`;
    if (this.#decisions.has(key)) return this.#decisions.get(key);
    const github = this.#workspace.github;
    if (github === undefined) return undefined;
    try {
      const comments = await github.backend.listComments(number);
      // Only the server's own comments: anyone can write the marker in a comment of theirs.
      const decision = comments
        .filter((comment) => comment.author !== null && sameLogin(comment.author, tokenLogin))
        .map((comment) => parseDecisionMarker(comment.body))
        .filter((found) => found !== undefined)
        .at(-1);
      if (this.#decisions.size >= 10_000) this.#decisions.clear();
      this.#decisions.set(key, decision?.by);
      return decision?.by;
    } catch {
      return undefined;
    }
  }
}

const PORTAL_REFUSALS: Partial<Record<RequestRefused['rule'], (name: string) => string>> = {
  'awaiting-approval': (name) => `${name} is awaiting approval: it cannot be changed until a publisher approves or rejects its create request (you may cancel it).`,
  rejected: (name) => `${name} was rejected: a rejected application cannot be changed. Register it again with a new create request.`,
  'app-not-on-main': (name) => `${name} is not registered (its create request was not approved), so it cannot be changed.`,
  'already-inactive': (name) => `${name} is already inactive.`,
  'already-active': (name) => `${name} is already active.`,
  'open-request-exists': (name) => `${name} already has an open request: one request per application at a time. Wait for the publisher's decision, or cancel it.`,
  'app-exists': (name) => `An application named ${name} already exists: choose another name.`,
};

/** The portal's words for a lifecycle refusal (the lifecycle's own name CLI commands). */
export function refusalMessage(code: RequestRefused['rule'], name: string, fallback: string): string {
  return PORTAL_REFUSALS[code]?.(name) ?? fallback;
}

function refusedEdit(name: string, view: AppStatusView | undefined): PortalError {
  const rule = view?.status === 'awaiting' ? 'awaiting-approval' : view?.status === 'rejected' ? 'rejected' : 'app-not-on-main';
  return new PortalError(409, PORTAL_REFUSALS[rule]!(name));
}

export const NO_SUCH_REQUEST = 'There is no such request.';

export function toPortalError(error: unknown): unknown {
  if (error instanceof PortalError) return error;
  // A write the store could not commit (a full disk): the server's temporary trouble.
  if (error instanceof StoreError && error.code === 'store.unwritable') {
    return new PortalError(503, 'The server cannot save anything right now.', 'Its storage is full or failing; try again in a few minutes.');
  }
  if (error instanceof GitHubError) return new PortalError(502, error.message, error.hint);
  // The CLI's code wraps GitHub's errors in its own failures; GitHub's trouble stays a 502.
  if (error instanceof CliError && error.cause instanceof GitHubError) return new PortalError(502, error.message, error.hint);
  if (error instanceof CliError) return new PortalError(error.code === 'USAGE' ? 400 : 409, error.message, error.hint);
  return error;
}

function textOf(main: MainState, name: string): string {
  const file = main.files.find((candidate) => candidate.path === appPath(name));
  if (file === undefined) throw new PortalError(409, `${name} is not on ${main.branch}.`);
  return new TextDecoder().decode(file.content);
}

function defaultPlanOf(main: MainState): { defaultPlan?: string } {
  return main.settings === undefined ? {} : { defaultPlan: main.settings.spec.defaultPlan };
}

function loadPortalApplication(name: string, text: string): Application {
  try {
    return loadApplication(name, text);
  } catch (error) {
    throw new PortalError(400, (error as Error).message);
  }
}

const FIELD_NAMES: readonly [keyof Application['spec'], string][] = [
  ['displayName', 'display name'],
  ['description', 'description'],
  ['redirectUris', 'redirect URIs'],
  ['scopes', 'scopes'],
  ['grantTypes', 'grant types'],
];

function changedFields(before: Application, after: Application): string[] {
  return FIELD_NAMES.filter(([key]) => JSON.stringify(before.spec[key] ?? null) !== JSON.stringify(after.spec[key] ?? null)).map(([, label]) => label);
}
