// What the portal knows of the repository and its requests, rebuilt from git and GitHub on each
// page: main as last fetched, the requests listed from GitHub (or why they cannot be), and each
// request's history with the person who decided it. GitHub names the server's token for whatever
// the portal did, so the person comes from the merge commit's Approved-by trailer or the portal's
// decision comment, remembered once a request is closed (it never changes afterwards). Who asked
// and who decided is believed from the portal's markers only where their MAC verifies under the
// server's key (../requests/markers.ts): anyone with triage or write access may edit them.
import { appPath, believeRequesters, type MarkerKey, type RequestSummary } from '../requests/index.ts';
import { approvalOf, requestRecords, type DecisionSources, type RequestRecord } from '../requests/decisions.ts';
import { loadApplication } from '../requests/manifest.ts';
import { listRequests, type MainState } from '../requests/state.ts';
import type { Application } from '../manifests/types.generated.ts';
import { PortalError } from './portal-errors.ts';
import type { Workspace } from './workspace.ts';

export interface Snapshot {
  main: MainState;
  /** Why `main` may be out of date (the fetch failed). */
  stale?: string;
  /** Why requests are unknown though a forge is configured (GitHub unreachable): statuses then come from main alone. */
  githubProblem?: string;
  /** The server has no forge at all (no GitHub token): it serves tokens, and requests exist nowhere it can see. */
  noForge?: true;
  /** Each with `requestedBy` only where the portal's marker verifies (`believe`). */
  requests: RequestSummary[];
  /** The login of the server's token: the author of the portal's requests. */
  tokenLogin: string | undefined;
}

/** One request as the details page shows it: who asked, who decided, when and why. */
export type HistoryEntry = RequestRecord;

export class RequestHistory {
  readonly #workspace: Workspace;
  /** The server's key for the portal's markers: it signs them, and believes only what verifies. */
  readonly markers: MarkerKey;
  /** Decisions of closed requests, by number and close time: fixed once closed. */
  readonly #decisions: NonNullable<DecisionSources['memo']> = new Map();

  constructor(workspace: Workspace, markers: MarkerKey) {
    this.#workspace = workspace;
    this.markers = markers;
  }

  /** The requests with the User each was made for where the portal's signed marker says so, and nowhere else. */
  believe(requests: readonly RequestSummary[], tokenLogin: string | undefined): RequestSummary[] {
    return believeRequesters(requests, { key: this.markers, portalLogin: tokenLogin });
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
      return { ...base, requests: [], tokenLogin: undefined, noForge: true };
    }
    try {
      const [requests, tokenLogin] = await Promise.all([
        listRequests(github.backend, { ...(options.app === undefined ? {} : { app: options.app }), ...(options.withMergers === true ? { withMergers: true } : {}) }),
        this.#workspace.tokenLogin(),
      ]);
      return { ...base, requests: this.believe(requests, tokenLogin), tokenLogin };
    } catch (error) {
      return { ...base, requests: [], tokenLogin: undefined, githubProblem: `GitHub cannot be reached: ${(error as Error).message}` };
    }
  }

  /** The manifest a request asks for (an open create, a rejected one asked again), read from its branch. */
  async requested(request: RequestSummary): Promise<Application | undefined> {
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

  /** Each request with who asked, who decided it, when and why (controller/requests/decisions.ts). */
  async history(requests: readonly RequestSummary[], tokenLogin: string | undefined): Promise<HistoryEntry[]> {
    const github = this.#workspace.github;
    if (github === undefined) return [];
    return requestRecords(requests, {
      backend: github.backend,
      portalLogin: tokenLogin,
      markers: this.markers,
      approval: (commit) => this.#workspace.exclusive((clone) => approvalOf(clone, commit)),
      memo: this.#decisions,
    });
  }
}
