// What the developer commands know about the repository: the manifests on the up-to-date main
// branch, read from its commit, and the requests (pull requests) about applications, from which
// each application's status is derived exactly as SPEC.md maps the brief's statuses to git.
import { validateRepository, type ManifestObject, type Problem, type RepoFile } from '../manifests/index.ts';
import type { Application, Settings, User } from '../manifests/types.generated.ts';
import {
  deriveStatus,
  deriveStatuses,
  parseRequestBranch,
  parseRequestMarker,
  requestKindFromLabels,
  sameLogin,
  toRequestSummary,
  type AppStatusView,
  type RequestSummary,
} from './index.ts';
import type { PullRequest, RequestsBackend } from '../github/index.ts';
import type { Clone } from './git.ts';

export interface MainState {
  /** The default branch's name, as GitHub reports it. */
  branch: string;
  /** Its commit after the fetch. */
  commit: string;
  /** Every manifest file of the commit, as read. */
  files: RepoFile[];
  objects: ManifestObject[];
  /** Problems on main itself; requests still work, but the check will report them. */
  problems: Problem[];
  settings: Settings | undefined;
  apps: Map<string, ManifestObject<Application>>;
  users: ManifestObject<User>[];
}

/** Fetches the default branch and loads every manifest of its commit. */
export async function loadMain(clone: Clone, backend: RequestsBackend): Promise<MainState> {
  const { defaultBranch } = await backend.getRepository();
  const commit = await clone.fetchBranch(defaultBranch);
  return loadCommitState(clone, defaultBranch, commit);
}

export async function loadCommitState(clone: Clone, branch: string, commit: string): Promise<MainState> {
  const { files } = await clone.readManifests(commit);
  const { objects, problems } = validateRepository(files);
  const apps = new Map<string, ManifestObject<Application>>();
  const users: ManifestObject<User>[] = [];
  let settings: Settings | undefined;
  for (const object of objects) {
    if (object.kind === 'Application') apps.set(object.name, object);
    else if (object.kind === 'User') users.push(object);
    else if (object.kind === 'Settings') settings = object.manifest;
  }
  return { branch, commit, files, objects, problems, settings, apps, users };
}

export interface ListOptions {
  state?: 'open' | 'all';
  /** Only requests about this application (and unnamed ones, whose files then tell). */
  app?: string;
  /** Fetch who merged each merged request (one call each). */
  withMergers?: boolean;
}

/**
 * Mergekey requests, newest first. Pull requests are listed once; only those that matter are read
 * again (a closed one, to learn who closed it: rejected or cancelled; a merged one for its merger
 * when asked), and with `app` only that application's.
 */
export async function listRequests(backend: RequestsBackend, options: ListOptions = {}): Promise<RequestSummary[]> {
  const pulls = await backend.listPullRequests({ state: options.state ?? 'all' });
  const wanted = pulls.filter((pull) => {
    const named = parseRequestBranch(pull.headRef)?.app ?? parseRequestMarker(pull.body)?.app;
    if (named === undefined) return requestKindFromLabels(pull.labels) !== undefined;
    return options.app === undefined || named === options.app;
  });
  const summaries: RequestSummary[] = [];
  // A few at a time: GitHub's secondary rate limits punish bursts.
  for (let i = 0; i < wanted.length; i += 4) {
    const batch = await Promise.all(wanted.slice(i, i + 4).map((pull) => summarise(backend, pull, options.withMergers === true)));
    for (const summary of batch) {
      if (summary !== undefined && (options.app === undefined || summary.app === options.app)) summaries.push(summary);
    }
  }
  return summaries;
}

async function summarise(backend: RequestsBackend, pull: PullRequest, withMergers: boolean): Promise<RequestSummary | undefined> {
  const detailed = (pull.state === 'closed' && !pull.merged) || (pull.merged && withMergers) ? await backend.getPullRequest(pull.number) : pull;
  const summary = toRequestSummary(detailed);
  if (summary !== undefined) return summary;
  const files = await backend.listChangedFiles(pull.number);
  return toRequestSummary(detailed, files.map((file) => file.path));
}

/** The status of one application from main and its requests; undefined when neither knows it. */
export function statusOf(main: MainState, app: string, requests: readonly RequestSummary[]): AppStatusView | undefined {
  return deriveStatus(
    main.apps.get(app)?.manifest,
    requests.filter((request) => request.app === app),
  );
}

export function statusesOf(main: MainState, requests: readonly RequestSummary[]): AppStatusView[] {
  return deriveStatuses(
    [...main.apps.values()].map((object) => object.manifest),
    requests,
  );
}

/** The User manifests whose `githubLogin` is `login`: who a GitHub user is in the repository. */
export function usersOfLogin(main: MainState, login: string): string[] {
  return main.users.filter((user) => user.manifest.spec.githubLogin !== undefined && sameLogin(user.manifest.spec.githubLogin, login)).map((user) => user.name);
}

/** A file's text on main; `requireAllowed` has made sure the application is there. */
export function mainText(main: MainState, path: string): string {
  const file = main.files.find((candidate) => candidate.path === path);
  if (file === undefined) throw new Error(`${path} is not on ${main.branch}`);
  return new TextDecoder().decode(file.content);
}
