// What the portal knows of the repository and its requests, rebuilt from git and GitHub on each
// page: main as last fetched, the requests listed from GitHub (or why they cannot be), and each
// request's history with the person who decided it. GitHub names the server's token for whatever
// the portal did, so the person comes from the merge commit's Approved-by trailer or the portal's
// decision comment, remembered once a request is closed (it never changes afterwards).
import { parseDecisionMarker, requestOutcome, sameLogin, TRAILERS, appPath, type RequestKind, type RequestOutcome, type RequestSummary } from '../requests/index.ts';
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
  requests: RequestSummary[];
  /** The login of the server's token: the author of the portal's requests. */
  tokenLogin: string | undefined;
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

/** The most closed requests whose decider is remembered; the memory starts over beyond it. */
const MAX_REMEMBERED_DECISIONS = 10_000;

export class RequestHistory {
  readonly #workspace: Workspace;
  /** Who decided a request closed by the server's token, by number and close time: fixed once closed. */
  readonly #decisions = new Map<string, string | undefined>();

  constructor(workspace: Workspace) {
    this.#workspace = workspace;
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
      return { ...base, requests, tokenLogin };
    } catch (error) {
      return { ...base, requests: [], tokenLogin: undefined, githubProblem: `GitHub cannot be reached: ${(error as Error).message}` };
    }
  }

  /** The manifest an open create request asks for, read from its branch. */
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

  /** Each request with who decided it. */
  async history(requests: readonly RequestSummary[], tokenLogin: string | undefined): Promise<HistoryEntry[]> {
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
      if (this.#decisions.size >= MAX_REMEMBERED_DECISIONS) this.#decisions.clear();
      this.#decisions.set(key, decision?.by);
      return decision?.by;
    } catch {
      return undefined;
    }
  }
}
