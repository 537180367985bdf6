// Opening a request: the rules first (nothing is written when they refuse), then ONE commit on top
// of the up-to-date main that changes only apps/<name>.yaml, pushed to a fresh request branch, and
// a pull request whose title, label and body say what is asked and what merging would change.
// Whatever fails after the push removes the branch again, so a refused or failed request leaves
// nothing behind, locally (no local branch is ever made) or on origin.
import { randomBytes } from 'node:crypto';
import {
  appPath,
  classifyChange,
  describeChange,
  isRequestAllowed,
  REQUEST_LABELS,
  requestBranchName,
  requestMarker,
  TRAILERS,
  type ChangePlan,
  type Decision,
  type RequestKind,
  type RequestSummary,
} from './index.ts';
import { validateRepository, type Problem, type RepoFile } from '../manifests/index.ts';
import type { Application } from '../manifests/types.generated.ts';
import { RequestError, withGitHubErrors } from './errors.ts';
import { describeProblems, loadApplication } from './manifest.ts';
import { signedRequester, type MarkerKey } from './markers.ts';
import type { Session } from './session.ts';
import { listRequests, statusOf, type MainState } from './state.ts';

export interface RequestChange {
  kind: RequestKind;
  app: string;
  /** The full new text of apps/<app>.yaml. */
  content: string;
  /** What changes, for the title of an edit ("description, scopes"). */
  what?: string;
  /**
   * The User (users/NAME.yaml) the request is made for, when a shared token opens it (the
   * portal): recorded in the body marker and a `Requested-by:` trailer, since GitHub will name the
   * token's user as the author. The marker is signed with `key` (markers.ts), the server's, so
   * that an edit of the body cannot give the request to someone else.
   */
  requestedBy?: { name: string; key: MarkerKey };
}

export interface OpenedRequest {
  kind: RequestKind;
  app: string;
  number: number;
  url: string;
  branch: string;
  commit: string;
  title: string;
  labels: string[];
  plan: ChangePlan;
  /** Something that went wrong after the pull request was opened (it still stands). */
  warning?: string;
}

const VERBS: Readonly<Record<RequestKind, string>> = { create: 'Create', edit: 'Edit', deactivate: 'Deactivate', reactivate: 'Reactivate' };

/**
 * The requests about `app` and whether `kind` may be asked now, by the same rules the repo's check
 * enforces. Throws a RequestError with the lifecycle's refusal code when it may not.
 */
export async function requireAllowed(session: Session, main: MainState, app: string, kind: RequestKind): Promise<RequestSummary[]> {
  const requests = await withGitHubErrors(() => listRequests(session.github.backend, { app }));
  const view = statusOf(main, app, requests);
  const decision: Decision = isRequestAllowed(app, view?.status, kind, requests);
  if (!decision.allowed) throw new RequestError(decision.code, { app }, decision.message);
  return requests;
}

export function titleOf(kind: RequestKind, app: string, what?: string): string {
  return `${VERBS[kind]} application ${app}${what === undefined || what === '' ? '' : ` (${what})`}`;
}

/**
 * Checks the change as the repo's check will (manifest and repository rules, lifecycle
 * classification), then commits, pushes and opens the pull request.
 */
export async function openRequest(session: Session, main: MainState, change: RequestChange): Promise<OpenedRequest> {
  const path = appPath(change.app);
  const head = loadApplication(change.app, change.content);
  const base = main.apps.get(change.app)?.manifest;
  requireValidRepository(main, path, change.content);
  const classification = classifyChange(
    base === undefined ? [] : [{ path, kind: 'Application', name: change.app, manifest: base }],
    [{ path, kind: 'Application', name: change.app, manifest: head }],
    [{ status: base === undefined ? 'added' : 'modified', path }],
    { declared: change.kind },
  );
  if (!classification.ok) {
    const [first] = classification.refusals;
    throw new RequestError(first!.code, { app: change.app, ...(first!.path === undefined ? {} : { path: first!.path }) }, first!.message);
  }

  const plan = describeChange(base, head, main.settings === undefined ? {} : { defaultPlan: main.settings.spec.defaultPlan });
  const title = titleOf(change.kind, change.app, change.what);
  const how = change.requestedBy === undefined ? `Requested with mergekey app ${change.kind}.` : `Requested by ${change.requestedBy.name} in the Mergekey portal.\n\n${TRAILERS.requestedBy}: ${change.requestedBy.name}`;
  const message = `${title}\n\n${plan.lines.map((line) => `- ${line.replaceAll('`', '')}`).join('\n')}\n\n${how}\n`;
  const commit = await session.clone.commitFile(main.commit, path, change.content, message);
  const branch = requestBranchName(change.kind, change.app, randomBytes(4).toString('hex'));
  await session.clone.pushNewBranch(commit, branch);

  const backend = session.github.backend;
  let number: number | undefined;
  try {
    const pull = await withGitHubErrors(() =>
      backend.openPullRequest({ head: branch, base: main.branch, title, body: requestBody(change, branch, head, plan) }),
    );
    number = pull.number;
    // Two developers may race past the rules above; the older request wins, this one withdraws.
    const open = await withGitHubErrors(() => listRequests(backend, { app: change.app, state: 'open' }));
    const older = open.find((request) => request.number < pull.number);
    if (older !== undefined) {
      await withGitHubErrors(() => backend.closePullRequest(pull.number));
      number = undefined;
      throw new RequestError(
        'open-request-exists',
        { app: change.app, request: older.number },
        `${change.app} already has an open ${older.kind} request (#${older.number}), opened while this one was being made; this one was withdrawn`,
      );
    }
    let labels: string[] = [];
    let warning: string | undefined;
    try {
      labels = await backend.addLabels(pull.number, [REQUEST_LABELS[change.kind]]);
    } catch (error) {
      // The request stands without its label: its branch names the kind, and the check labels it.
      warning = `the pull request was opened but could not be labelled: ${(error as Error).message}`;
    }
    return {
      kind: change.kind,
      app: change.app,
      number: pull.number,
      url: pull.htmlUrl,
      branch,
      commit,
      title,
      labels,
      plan,
      ...(warning === undefined ? {} : { warning }),
    };
  } catch (error) {
    // The pull request did not come to be (or withdrew): leave no branch behind.
    if (number === undefined) await session.clone.deleteRemoteBranch(branch).catch(() => undefined);
    throw error;
  }
}

/** The repository as merging would leave it must validate; refuse with the new problems if not. */
function requireValidRepository(main: MainState, path: string, content: string): void {
  const before = new Set(main.problems.map(problemKey));
  const after = validateRepository(mergedFiles(main, path, content)).problems;
  const fresh = after.filter((problem) => problem.path === path || !before.has(problemKey(problem)));
  if (fresh.length > 0) throw new RequestError('repository-rules', { path }, `the request would not pass the repository's rules: ${describeProblems(fresh)}`);
}

function mergedFiles(main: MainState, path: string, content: string): RepoFile[] {
  return [...main.files.filter((file) => file.path !== path), { path, content: new TextEncoder().encode(content) }];
}

function problemKey(problem: Problem): string {
  return `${problem.path}\0${problem.code}\0${problem.message}`;
}

function requestBody(change: RequestChange, branch: string, head: Application, plan: ChangePlan): string {
  const { kind, app } = change;
  const requestedBy = change.requestedBy?.name;
  const intro: Record<RequestKind, string> = {
    create: `Registers a new application \`${app}\` (client id \`${head.spec.clientId}\`). Its client secret is sealed to the controller's key: only the token server can read it.`,
    edit: `Changes the application \`${app}\`.`,
    deactivate: `Deactivates the application \`${app}\`: once merged, it gets no tokens and every token it holds stops working.`,
    reactivate: `Reactivates the application \`${app}\`: once merged, it gets tokens again.`,
  };
  return [
    requestMarker(kind, app, change.requestedBy === undefined ? undefined : signedRequester(change.requestedBy.key, branch, change.requestedBy.name)),
    intro[kind] + (requestedBy === undefined ? '' : ` Asked for by **${requestedBy}** in the Mergekey portal.`),
    '',
    plan.markdown,
    '---',
    'Publishers approve by merging (`mergekey review approve N`) and reject by closing with a reason (`mergekey review reject N --reason …`). ' +
      `The author withdraws it with \`mergekey app cancel ${app}\`.`,
    '',
  ].join('\n');
}
