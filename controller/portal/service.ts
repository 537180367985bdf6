// What the portal does, independent of HTML: the one object its routes call. Reads (the overview,
// an application's details, the scopes a form offers, the record token management acts on) are
// here, each checked against the signed-in user (policy.ts) on what history.ts rebuilt from git
// and GitHub; the requests the portal makes and decides are requests.ts's, delegated to.
import type { OpenedCreate } from '../requests/create.ts';
import type { OpenedRequest } from '../requests/open.ts';
import type { ApproveResult, RejectResult } from '../requests/review.ts';
import { statusOf, statusesOf, type MainState } from '../requests/state.ts';
import { askAgainOf, countApplications, requestOutcome, type AppStatusView, type MarkerKey, type ChangePlan, type Offers, type RequestCounts, type RequestSummary } from '../requests/index.ts';
import type { Application } from '../manifests/types.generated.ts';
import type { Store } from '../store/open.ts';
import type { ApplicationRecord } from '../store/records.ts';
import type { PortalUser } from './accounts.ts';
import { RequestHistory, type HistoryEntry, type Snapshot } from './history.ts';
import { canAct, canSee, NO_FORGE, NO_FORGE_HINT, offersFor, requireActor, requireVisible } from './policy.ts';
import { PortalError } from './portal-errors.ts';
import { PortalRequests, type EditInput, type NewApplicationInput, type QueueEntry } from './requests.ts';
import type { Workspace } from './workspace.ts';


export interface Overview extends Snapshot {
  /** The applications this user may see, by name. */
  views: AppStatusView[];
  counts: ReturnType<typeof countApplications>;
  requestTotals: RequestCounts;
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
  /** The actions offered (policy.ts offersFor): none when the user may not act or the server has no forge. */
  offers?: Offers;
}

export class PortalService {
  readonly #workspace: Workspace;
  readonly #store: Pick<Store, 'config'>;
  readonly #history: RequestHistory;
  readonly #requests: PortalRequests;

  constructor(options: { workspace: Workspace; store: Pick<Store, 'config'>; markers: MarkerKey; now: () => number }) {
    this.#workspace = options.workspace;
    this.#store = options.store;
    this.#history = new RequestHistory(options.workspace, options.markers);
    this.#requests = new PortalRequests({ workspace: options.workspace, history: this.#history, now: options.now });
  }

  get canMakeRequests(): boolean {
    return this.#workspace.github !== undefined;
  }

  /** Main and the requests, or as much as can be known when GitHub (or git) fails. */
  snapshot(options: { app?: string; withMergers?: boolean } = {}): Promise<Snapshot> {
    return this.#history.snapshot(options);
  }

  async overview(user: PortalUser): Promise<Overview> {
    const snapshot = await this.snapshot();
    const views = statusesOf(snapshot.main, snapshot.requests).filter((view) => canSee(user, view, snapshot));
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
    requireVisible(user, name, view, snapshot);
    let manifest: Application | undefined = view.onMain;
    let manifestSource: AppDetail['manifestSource'] = manifest === undefined ? undefined : 'main';
    if (manifest === undefined && view.openRequest?.kind === 'create') {
      manifest = await this.#history.requested(view.openRequest);
      if (manifest !== undefined) manifestSource = 'request';
    }
    const record = this.#store.config.application(name);
    const offers = offersFor(canAct(user, view, snapshot), view, this.canMakeRequests);
    return {
      ...snapshot,
      view,
      ...(manifest === undefined ? {} : { manifest, manifestSource }),
      ...(record === undefined ? {} : { record }),
      history: await this.#history.history(view.requests, snapshot.tokenLogin),
      canAct: canAct(user, view, snapshot),
      ...(offers === undefined ? {} : { offers }),
    };
  }

  /**
   * What "Ask again" reuses: the rejected request the lifecycle lets this owner ask for again
   * (controller/requests/ askAgainOf), its history entry (who rejected it and why) and, for a
   * create or an edit, the manifest it asked for, read from its branch (undefined when the branch
   * is gone). 409 when there is nothing to ask again for.
   */
  async askAgain(user: PortalUser, name: string): Promise<{ detail: AppDetail; request: RequestSummary; entry: HistoryEntry | undefined; manifest: Application | undefined }> {
    const detail = await this.application(user, name);
    requireActor(user, name, detail.view, detail);
    if (!this.canMakeRequests) throw new PortalError(503, NO_FORGE, NO_FORGE_HINT);
    const request = askAgainOf(detail.view);
    if (request === undefined) throw new PortalError(409, `${name} has no rejected request to ask for again.`, 'Ask again follows a rejection, while no other request is open.');
    const manifest = request.kind === 'create' || request.kind === 'edit' ? await this.#history.requested(request) : undefined;
    return { detail, request, entry: detail.history.find((entry) => entry.number === request.number), manifest };
  }

  /** The scopes a new or edited application may hold: the built-in ones (open, OpenID Connect's) and every Api's. */
  scopesOf(main: MainState): { name: string; description: string; api?: string }[] {
    const scopes: { name: string; description: string; api?: string }[] = [
      { name: 'open', description: 'No particular API: the default.' },
      { name: 'openid', description: 'Sign people in (OpenID Connect): an ID token saying who the user is.' },
      { name: 'profile', description: 'With openid: the user’s name.' },
      { name: 'email', description: 'With openid: the user’s email address.' },
    ];
    for (const object of main.objects) {
      if (object.kind !== 'Api') continue;
      for (const scope of object.manifest.spec.scopes) scopes.push({ name: scope.name, description: scope.description ?? '', api: object.name });
    }
    return scopes;
  }

  /** For token management: the application as the token server has it, if this user may act on it. */
  async actorRecord(user: PortalUser, name: string): Promise<ApplicationRecord> {
    const snapshot = await this.snapshot({ app: name });
    const view = statusOf(snapshot.main, name, snapshot.requests);
    requireActor(user, name, view, snapshot);
    const record = this.#store.config.application(name);
    if (record === undefined) throw new PortalError(409, `${name} is not served by the token server yet.`, 'Its create request must be approved and applied first.');
    return record;
  }

  create(user: PortalUser, input: NewApplicationInput): Promise<OpenedCreate> {
    return this.#requests.create(user, input);
  }

  /** What an edit would change, without opening it (the confirmation step). */
  previewEdit(user: PortalUser, name: string, edits: EditInput): Promise<{ plan: ChangePlan; what: string[] }> {
    return this.#requests.previewEdit(user, name, edits);
  }

  edit(user: PortalUser, name: string, edits: EditInput): Promise<OpenedRequest> {
    return this.#requests.edit(user, name, edits);
  }

  /** A rotation as an edit request: a new sealed secret, shown once; the current one expires 7 days after. */
  rotate(user: PortalUser, name: string): Promise<OpenedRequest & { secret: string; oldExpiresAt: string }> {
    return this.#requests.rotate(user, name);
  }

  /** A deactivation or reactivation request: `spec.state` flipped, nothing else. */
  changeState(user: PortalUser, name: string, kind: 'deactivate' | 'reactivate'): Promise<OpenedRequest> {
    return this.#requests.changeState(user, name, kind);
  }

  /** Withdraws this user's open request about the application. */
  cancel(user: PortalUser, name: string): Promise<RequestSummary> {
    return this.#requests.cancel(user, name);
  }

  /** The publishers' queue: open requests, oldest first, each with the check's report. */
  queue(user: PortalUser): Promise<{ entries: QueueEntry[]; snapshot: Snapshot }> {
    return this.#requests.queue(user);
  }

  /** Merges request #number as the publisher saw it in the queue (`head`); see PortalRequests.approve. */
  approve(user: PortalUser, number: number, head: string | undefined, comment?: string): Promise<ApproveResult> {
    return this.#requests.approve(user, number, head, comment);
  }

  reject(user: PortalUser, number: number, reason: string): Promise<RejectResult> {
    return this.#requests.reject(user, number, reason);
  }

  /** For the reject page: 403 for a developer, 404 for a number that is not a Mergekey request. */
  reviewable(user: PortalUser, number: number): Promise<void> {
    return this.#requests.reviewable(user, number);
  }
}
