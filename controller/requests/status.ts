// The developer-facing status of an application, derived from the main branch plus its pull
// requests exactly as SPEC.md maps the brief's statuses to git. Pure: no git, no GitHub.
import type { Application } from '../manifests/types.generated.ts';
import { requesterOf, requestOutcome, type RequestSummary } from './requests.ts';

/**
 * The lifecycle's status of an application: where it stands in the brief's lifecycle, with the
 * approved ones split by their state. The rules (allowed.ts) work on it; people are shown the
 * shared words below instead, a status and a state as two separate things.
 */
export const APP_STATUSES = ['awaiting', 'active', 'inactive', 'rejected', 'cancelled'] as const;
export type AppStatus = (typeof APP_STATUSES)[number];

/**
 * The statuses everyone is shown (portal, CLI, JSON, README), named as in URLs, `--status` and JSON;
 * STATUS_WORDS are the same in prose. An approved application also has a state (active or inactive).
 */
export const STATUSES = ['awaiting-approval', 'approved', 'rejected', 'cancelled'] as const;
export type Status = (typeof STATUSES)[number];

export const STATUS_WORDS: Readonly<Record<Status, string>> = {
  'awaiting-approval': 'awaiting approval',
  approved: 'approved',
  rejected: 'rejected',
  cancelled: 'cancelled',
};

/** An approved application's state, as its manifest's `spec.state` says. */
export type AppState = 'active' | 'inactive';

/** The status people are shown for a lifecycle status: active and inactive are both approved. */
export function statusOfApp(status: AppStatus): Status {
  switch (status) {
    case 'awaiting':
      return 'awaiting-approval';
    case 'active':
    case 'inactive':
      return 'approved';
    case 'rejected':
    case 'cancelled':
      return status;
  }
}

/** The state of an approved application; undefined for one that is not (it has no state yet). */
export function stateOfApp(status: AppStatus): AppState | undefined {
  return status === 'active' || status === 'inactive' ? status : undefined;
}

/** What a list may be filtered by: a status, or the state of the approved ones. */
export const STATUS_FILTERS = [...STATUSES, 'active', 'inactive'] as const;
export type StatusFilter = (typeof STATUS_FILTERS)[number];

/**
 * A filter as a person types it: the names above, or the words the lists print ("awaiting
 * approval" with its space, in any case). Undefined for anything else.
 */
export function parseStatusFilter(text: string): StatusFilter | undefined {
  const name = text.trim().toLowerCase().replace(/\s+/g, '-');
  return (STATUS_FILTERS as readonly string[]).includes(name) ? (name as StatusFilter) : undefined;
}

/** The words for a filter, in a sentence ("No application is awaiting approval."). */
export function filterWords(filter: StatusFilter): string {
  return filter === 'active' || filter === 'inactive' ? filter : STATUS_WORDS[filter];
}

export function matchesFilter(status: AppStatus, filter: StatusFilter): boolean {
  return filter === 'active' || filter === 'inactive' ? stateOfApp(status) === filter : statusOfApp(status) === filter;
}

export interface RequestCounts {
  approved: number;
  rejected: number;
  cancelled: number;
}

export interface AppStatusView {
  app: string;
  status: AppStatus;
  /** One sentence saying why, naming the pull request that decided it. */
  reason: string;
  /** The application as it is on main, when it is there. */
  onMain: Application | undefined;
  /** The open request, if any (the lifecycle allows one per application). */
  openRequest: RequestSummary | undefined;
  /** Every request about this application, newest first. */
  requests: RequestSummary[];
  counts: RequestCounts;
}

function newestFirst(a: RequestSummary, b: RequestSummary): number {
  return b.number - a.number;
}

/**
 * The status of one application.
 * - on main: `active` or `inactive`, by its `state` (a merged create means approved);
 * - not on main, an open create request: `awaiting`;
 * - not on main, the newest create request closed unmerged: `rejected` when closed by someone
 *   other than its author, `cancelled` when closed by its author;
 * - not on main though a create was merged: the manifest was removed after approval, which the
 *   controller treats as a deactivation, so `inactive`.
 * Returns undefined when neither main nor any create request knows the application.
 * Every request passed must concern the same application (throws otherwise).
 */
export function deriveStatus(onMain: Application | undefined, requests: readonly RequestSummary[]): AppStatusView | undefined {
  const app = onMain?.metadata.name ?? requests[0]?.app;
  if (app === undefined) return undefined;
  const stranger = requests.find((request) => request.app !== app);
  if (stranger !== undefined) {
    throw new TypeError(`request #${stranger.number} concerns "${stranger.app}", not "${app}"`);
  }
  const sorted = [...requests].sort(newestFirst);
  const counts: RequestCounts = { approved: 0, rejected: 0, cancelled: 0 };
  for (const request of sorted) {
    const outcome = requestOutcome(request);
    if (outcome !== 'open') counts[outcome] += 1;
  }
  const openRequest = sorted.find((request) => request.state === 'open');
  const view = (status: AppStatus, reason: string): AppStatusView => ({ app, status, reason, onMain, openRequest, requests: sorted, counts });

  if (onMain !== undefined) {
    const state = onMain.spec.state === 'inactive' ? 'inactive' : 'active';
    const pending = openRequest === undefined ? '' : `; ${openRequest.kind} request #${openRequest.number} is open`;
    return view(state, `on main with state ${state}${pending}`);
  }
  const creates = sorted.filter((request) => request.kind === 'create');
  // An older create can still be open behind a newer closed one; open wins.
  const latest = creates.find((request) => request.state === 'open') ?? creates[0];
  if (latest === undefined) return undefined;
  switch (latest.state) {
    case 'open':
      return view('awaiting', `create request #${latest.number} by ${requesterOf(latest)} is open`);
    case 'merged':
      return view('inactive', `create request #${latest.number} was merged but apps/${app}.yaml is no longer on main`);
    case 'closed':
      return requestOutcome(latest) === 'cancelled'
        ? view('cancelled', `create request #${latest.number} was closed by its author ${requesterOf(latest)}`)
        : view('rejected', `create request #${latest.number} was closed unmerged by ${latest.closedBy ?? 'a user GitHub no longer knows'}`);
  }
}

/**
 * Statuses of every application known to main or to a create request, sorted by name.
 * `requests` may mix applications; each is matched to its own.
 */
export function deriveStatuses(appsOnMain: readonly Application[], requests: readonly RequestSummary[]): AppStatusView[] {
  const byApp = new Map<string, RequestSummary[]>();
  for (const request of requests) {
    const list = byApp.get(request.app) ?? [];
    list.push(request);
    byApp.set(request.app, list);
  }
  const onMain = new Map(appsOnMain.map((app) => [app.metadata.name, app]));
  const names = [...new Set([...onMain.keys(), ...byApp.keys()])].sort();
  const views: AppStatusView[] = [];
  for (const name of names) {
    const view = deriveStatus(onMain.get(name), byApp.get(name) ?? []);
    if (view !== undefined) views.push(view);
  }
  return views;
}

/**
 * How many applications have each status, and how many of the approved ones are active and
 * inactive: the counts My Applications and `mergekey app list` show.
 */
export function countApplications(views: readonly AppStatusView[]): Record<Status, number> & Record<AppState, number> {
  const counts = { 'awaiting-approval': 0, approved: 0, rejected: 0, cancelled: 0, active: 0, inactive: 0 };
  for (const view of views) {
    counts[statusOfApp(view.status)] += 1;
    const state = stateOfApp(view.status);
    if (state !== undefined) counts[state] += 1;
  }
  return counts;
}
