// What a request is on GitHub: the labels, branch names and body marker that tie a pull request
// to an application and a kind of request. Defined once here so that the CLI that opens requests,
// the check that labels them and the list that reads them back can never disagree.
import type { PullRequest } from '../github/client.ts';

/** The four kinds of request a developer makes about one application. */
export const REQUEST_KINDS = ['create', 'edit', 'deactivate', 'reactivate'] as const;
export type RequestKind = (typeof REQUEST_KINDS)[number];

export function isRequestKind(value: string): value is RequestKind {
  return (REQUEST_KINDS as readonly string[]).includes(value);
}

/** The label that marks a pull request as a request of this kind, e.g. `mergekey:create`. */
export const REQUEST_LABELS: Readonly<Record<RequestKind, string>> = {
  create: 'mergekey:create',
  edit: 'mergekey:edit',
  deactivate: 'mergekey:deactivate',
  reactivate: 'mergekey:reactivate',
};

/** The label the check puts on a publisher change (apis/, plans/, users/, mergekey.yaml). */
export const PUBLISHER_LABEL = 'mergekey:publisher';

/**
 * The label a rejection puts on a request before closing it. GitHub's record of who closed a pull
 * request tells a rejection from a cancellation, except when one token both opened and closed it:
 * the portal opens requests for its users and closes them for publishers with the server's token.
 * The label can only turn a close into a rejection, never a rejection into a cancellation.
 */
export const REJECTED_LABEL = 'mergekey:rejected';

/** Colours and descriptions for creating the labels once in a repository (`mergekey init`). */
export const LABEL_DEFINITIONS: readonly { name: string; color: string; description: string }[] = [
  { name: REQUEST_LABELS.create, color: '0e8a16', description: 'Mergekey: a developer asks to register an application' },
  { name: REQUEST_LABELS.edit, color: '1d76db', description: 'Mergekey: a developer asks to change an application' },
  { name: REQUEST_LABELS.deactivate, color: 'b60205', description: 'Mergekey: a developer asks to deactivate an application' },
  { name: REQUEST_LABELS.reactivate, color: 'fbca04', description: 'Mergekey: a developer asks to reactivate an application' },
  { name: PUBLISHER_LABEL, color: '5319e7', description: 'Mergekey: a change to APIs, plans, users or settings' },
  { name: REJECTED_LABEL, color: 'd93f0b', description: 'Mergekey: a publisher rejected this request' },
];

// There is deliberately no per-application label: GitHub limits a label to 50 characters and an
// application name may have 63, so the application is named by the branch and the body marker.

/** The kind a pull request's labels declare, or undefined when none (or more than one) does. */
export function requestKindFromLabels(labels: readonly string[]): RequestKind | undefined {
  const kinds = REQUEST_KINDS.filter((kind) => labels.includes(REQUEST_LABELS[kind]));
  return kinds.length === 1 ? kinds[0] : undefined;
}

export const BRANCH_PREFIX = 'mergekey/';
const BRANCH_PATTERN = /^mergekey\/(create|edit|deactivate|reactivate)-([a-z0-9][a-z0-9-]*[a-z0-9])-([0-9a-f]{6,16})$/;

/**
 * The branch a request is pushed to: `mergekey/<kind>-<app>-<id>`. `id` (6 to 16 lowercase hex
 * digits) keeps a second request for the same app from colliding with a stale branch.
 */
export function requestBranchName(kind: RequestKind, app: string, id: string): string {
  const branch = `${BRANCH_PREFIX}${kind}-${app}-${id}`;
  if (!BRANCH_PATTERN.test(branch)) {
    throw new TypeError(`cannot make a request branch from kind "${kind}", app "${app}" and id "${id}"`);
  }
  return branch;
}

/** Reads a branch made by `requestBranchName` back; undefined for any other branch. */
export function parseRequestBranch(branch: string): { kind: RequestKind; app: string; id: string } | undefined {
  const match = BRANCH_PATTERN.exec(branch);
  if (match === null) return undefined;
  return { kind: match[1] as RequestKind, app: match[2]!, id: match[3]! };
}

const MAC = '[A-Za-z0-9_-]{43}';
const MARKER_PATTERN = new RegExp(`<!--\\s*mergekey:request\\s+kind=([a-z]+)\\s+app=([a-z0-9-]+)(?:\\s+requested-by=([a-z0-9-]+)(?:\\s+mac=(${MAC}))?)?\\s*-->`);

/**
 * A person the portal recorded in a marker, with the MAC it signed that record with
 * (markers.ts): absent from what it wrote before it signed them, and from what anyone types.
 */
export interface RecordedPerson {
  name: string;
  mac?: string;
}

/**
 * A hidden line for the pull request body that names the request for tools. `requestedBy` names
 * the User (users/NAME.yaml) a request was made for when a shared token opens it (the portal),
 * with its MAC (markers.ts): the pull request's GitHub author is then the token's user, not the
 * person who asked, and anyone who may edit the body may edit this line.
 */
export function requestMarker(kind: RequestKind, app: string, requestedBy?: RecordedPerson): string {
  const person = requestedBy === undefined ? '' : ` requested-by=${requestedBy.name}${requestedBy.mac === undefined ? '' : ` mac=${requestedBy.mac}`}`;
  return `<!-- mergekey:request kind=${kind} app=${app}${person} -->`;
}

export function parseRequestMarker(body: string | null | undefined): { kind: RequestKind; app: string; requestedBy?: RecordedPerson } | undefined {
  const match = MARKER_PATTERN.exec(body ?? '');
  if (match === null || !isRequestKind(match[1]!)) return undefined;
  const requestedBy = match[3] === undefined ? undefined : { name: match[3], ...(match[4] === undefined ? {} : { mac: match[4] }) };
  return { kind: match[1], app: match[2]!, ...(requestedBy === undefined ? {} : { requestedBy }) };
}

/** Commit trailers a request made for someone else carries: who asked, and who approved its merge. */
export const TRAILERS = { requestedBy: 'Requested-by', approvedBy: 'Approved-by' } as const;

const DECISION_PATTERN = new RegExp(`<!--\\s*mergekey:decision\\s+outcome=(approved|rejected|cancelled)(?:\\s+by=([a-z0-9-]+)(?:\\s+mac=(${MAC}))?)?\\s*-->`);

export type DecidedOutcome = Exclude<RequestOutcome, 'open'>;

/**
 * A hidden line opening a comment that records a decision. Made with a shared token, it names the
 * person (a User name) who approved, rejected or cancelled the request, with its MAC
 * (markers.ts): only comments by that token's user whose MAC verifies are to be believed, as
 * anyone may write this line in a comment of their own, or edit the token's comment on GitHub.
 * Without `by`, the comment's author decided. The publisher's own words follow a blank line
 * (`decisionText` in decisions.ts reads them back).
 */
export function decisionMarker(outcome: DecidedOutcome, by?: RecordedPerson): string {
  const person = by === undefined ? '' : ` by=${by.name}${by.mac === undefined ? '' : ` mac=${by.mac}`}`;
  return `<!-- mergekey:decision outcome=${outcome}${person} -->`;
}

export function parseDecisionMarker(body: string | null | undefined): { outcome: DecidedOutcome; by?: RecordedPerson } | undefined {
  const match = DECISION_PATTERN.exec(body ?? '');
  if (match === null) return undefined;
  const by = match[2] === undefined ? undefined : { name: match[2], ...(match[3] === undefined ? {} : { mac: match[3] }) };
  return { outcome: match[1] as DecidedOutcome, ...(by === undefined ? {} : { by }) };
}

/** `apps/<name>.yaml` → `<name>`; undefined for any other path. */
export function appNameFromPath(path: string): string | undefined {
  const match = /^apps\/([a-z0-9][a-z0-9-]*[a-z0-9])\.yaml$/.exec(path);
  return match === null ? undefined : match[1];
}

export function appPath(name: string): string {
  return `apps/${name}.yaml`;
}

/**
 * The facts about a pull request that the lifecycle needs: the GitHub client's `PullRequest`
 * without what only GitHub's API gives, so a fixture or a cache works too.
 */
export type PullRequestFacts = Omit<PullRequest, 'baseRef' | 'draft' | 'htmlUrl'> & Partial<Pick<PullRequest, 'htmlUrl'>>;

interface RequestSummaryBase {
  number: number;
  kind: RequestKind;
  app: string;
  author: string;
  title: string;
  createdAt: string;
  updatedAt: string;
  headSha: string;
  htmlUrl?: string;
  /** The branch it was opened from: the portal chooses it, and binds its markers' MACs to it. */
  headRef?: string;
  /**
   * The User the body marker names, as written there: anyone who may edit the body may change it,
   * so it decides nothing. `requestedBy` is what is believed of it.
   */
  recordedRequester?: RecordedPerson;
  /**
   * The User the portal's account opened it for, once the marker's MAC verified under the
   * server's key (`believeRequesters`, markers.ts); never set from the body alone.
   */
  requestedBy?: string;
}

/** One request as the lifecycle sees it. Which fields exist depends on how it ended. */
export type RequestSummary =
  | (RequestSummaryBase & { state: 'open' })
  | (RequestSummaryBase & {
      state: 'merged';
      mergedAt: string;
      /** Who approved by merging; null when GitHub does not say, undefined when not fetched. */
      mergedBy?: string | null;
      mergeCommitSha: string | null;
    })
  | (RequestSummaryBase & {
      state: 'closed';
      closedAt: string;
      /** Who closed it unmerged: its author (cancelled) or someone else (rejected). */
      closedBy: string | null;
      /** Carries REJECTED_LABEL: rejected, whoever closed it. */
      labelledRejected?: boolean;
    });

export type RequestOutcome = 'open' | 'approved' | 'rejected' | 'cancelled';

/**
 * How a request ended, as SPEC.md maps it: merged = approved; closed unmerged by its author =
 * cancelled; closed unmerged by anyone else (or by someone GitHub no longer knows) = rejected.
 * A request labelled REJECTED_LABEL is rejected even when its author closed it: the portal's
 * token is the author of the requests it opens and closes them for publishers too.
 */
export function requestOutcome(request: RequestSummary): RequestOutcome {
  switch (request.state) {
    case 'open':
      return 'open';
    case 'merged':
      return 'approved';
    case 'closed':
      if (request.labelledRejected === true) return 'rejected';
      return request.closedBy !== null && sameLogin(request.closedBy, request.author) ? 'cancelled' : 'rejected';
  }
}

/** Who asked: the User the request was made for (portal requests, verified), else its GitHub author. */
export function requesterOf(request: Pick<RequestSummary, 'author' | 'requestedBy'>): string {
  return request.requestedBy ?? request.author;
}

/** GitHub logins are case-insensitive. */
export function sameLogin(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/**
 * Turns a pull request into a request summary, or undefined when it is not a Mergekey request.
 * The kind comes from the label (the check sets it, publishers see it), falling back to the
 * body marker and the branch name; the application comes from the branch name (immutable once the
 * pull request exists), the body marker, or the single app file `changedPaths` shows.
 *
 * Throws when a request closed unmerged lacks `closedBy`: it decides between rejected and
 * cancelled, so the caller must fetch it (the GitHub client's `getPullRequest` does).
 */
export function toRequestSummary(pr: PullRequestFacts, changedPaths?: readonly string[]): RequestSummary | undefined {
  const fromBranch = parseRequestBranch(pr.headRef);
  const fromMarker = parseRequestMarker(pr.body);
  const kind = requestKindFromLabels(pr.labels) ?? fromMarker?.kind ?? fromBranch?.kind;
  const appsChanged = (changedPaths ?? []).map(appNameFromPath).filter((name) => name !== undefined);
  const app = fromBranch?.app ?? fromMarker?.app ?? (appsChanged.length === 1 ? appsChanged[0] : undefined);
  if (kind === undefined || app === undefined) return undefined;
  const base: RequestSummaryBase = {
    number: pr.number,
    kind,
    app,
    author: pr.author,
    title: pr.title,
    createdAt: pr.createdAt,
    updatedAt: pr.updatedAt,
    headSha: pr.headSha,
    ...(pr.htmlUrl === undefined ? {} : { htmlUrl: pr.htmlUrl }),
    headRef: pr.headRef,
    ...(fromMarker?.requestedBy === undefined ? {} : { recordedRequester: fromMarker.requestedBy }),
  };
  if (pr.state === 'open') return { ...base, state: 'open' };
  if (pr.merged) {
    const mergedAt = pr.mergedAt ?? pr.closedAt ?? pr.updatedAt;
    return { ...base, state: 'merged', mergedAt, mergeCommitSha: pr.mergeCommitSha, ...(pr.mergedBy === undefined ? {} : { mergedBy: pr.mergedBy }) };
  }
  if (pr.closedBy === undefined) throw new TypeError(`pull request #${pr.number} is closed but who closed it was not fetched`);
  return {
    ...base,
    state: 'closed',
    closedAt: pr.closedAt ?? pr.updatedAt,
    closedBy: pr.closedBy,
    ...(pr.labels.includes(REJECTED_LABEL) ? { labelledRejected: true } : {}),
  };
}
