// `mergekey app list`: every application with its status, as the brief's "My Applications" page
// shows them: awaiting approval, approved (then active or inactive, its state), rejected,
// cancelled, with the counts of approved, rejected and cancelled requests. Statuses come from the
// main branch plus the pull requests, mapped as SPEC.md says.
import {
  countApplications,
  filterWords,
  matchesFilter,
  parseStatusFilter,
  REQUEST_WORDS,
  requestOutcome,
  sameLogin,
  stateOfApp,
  STATUS_FILTERS,
  STATUS_WORDS,
  statusOfApp,
  type AppState,
  type AppStatusView,
  type RequestCounts,
  type RequestKind,
  type RequestSummary,
  type Status,
  type StatusFilter,
} from '../../../controller/requests/index.ts';
import { defineCommand } from '../../command.ts';
import { usageError } from '../../errors.ts';
import { GITHUB_OPTIONS } from '../../github-options.ts';
import { withGitHubErrors } from '../../../controller/requests/errors.ts';
import { startWithMain, type SessionOptions } from '../../../controller/requests/session.ts';
import { listRequests, statusesOf, usersOfLogin, type MainState } from '../../../controller/requests/state.ts';

export interface ListOptions extends SessionOptions {
  /** A status, or the state of approved applications. */
  status?: StatusFilter | undefined;
  /** Only applications you own (an owner's githubLogin is yours) or asked for. */
  mine?: boolean | undefined;
}

export interface AppListEntry {
  name: string;
  status: Status;
  /** The status in words: "awaiting approval", "approved", … */
  statusLabel: string;
  /** An approved application's state; absent before approval. */
  state?: AppState;
  reason: string;
  displayName?: string;
  clientId?: string;
  owners: string[];
  openRequest?: { number: number; kind: RequestKind; author: string };
  /** This application's requests by outcome. */
  requests: RequestCounts;
}

export interface AppListResult {
  /** Over every application listed before --status filters them (after --mine). */
  counts: ReturnType<typeof countApplications>;
  /** Requests by outcome, over the same applications. */
  requests: RequestCounts;
  apps: AppListEntry[];
  login?: string;
}

export async function list(options: ListOptions): Promise<AppListResult> {
  const session = await startWithMain(options);
  const backend = session.github.backend;
  const [requests, me] = await withGitHubErrors(() =>
    Promise.all([listRequests(backend), options.mine === true ? backend.whoAmI() : Promise.resolve(undefined)]),
  );
  let views = statusesOf(session.main, requests);
  if (me !== undefined) views = views.filter((view) => isMine(session.main, view, me.login));
  const totals: RequestCounts = { approved: 0, rejected: 0, cancelled: 0 };
  for (const view of views) {
    for (const request of view.requests) {
      const outcome = requestOutcome(request);
      if (outcome !== 'open') totals[outcome] += 1;
    }
  }
  const filter = options.status;
  const shown = filter === undefined ? views : views.filter((view) => matchesFilter(view.status, filter));
  return {
    counts: countApplications(views),
    requests: totals,
    apps: shown.map(entry),
    ...(me === undefined ? {} : { login: me.login }),
  };
}

/**
 * Yours: an owner's githubLogin is your login, or you asked for a request about it (yourself, or
 * in the portal: a `requested-by` on what the portal's account opened). The CLI cannot verify a
 * marker (only the server holds its key), so this is a filter of what to list, never a permission.
 */
function isMine(main: MainState, view: AppStatusView, login: string): boolean {
  const myUsers = usersOfLogin(main, login);
  if (view.onMain?.spec.owners.some((owner) => myUsers.includes(owner)) === true) return true;
  const portalLogin = main.settings?.spec.portalGitHubLogin;
  const askedInPortal = (request: RequestSummary) =>
    portalLogin !== undefined && sameLogin(request.author, portalLogin) && request.recordedRequester !== undefined && myUsers.includes(request.recordedRequester.name);
  return view.requests.some((request) => sameLogin(request.author, login) || askedInPortal(request));
}

function entry(view: AppStatusView): AppListEntry {
  const spec = view.onMain?.spec;
  const status = statusOfApp(view.status);
  const state = stateOfApp(view.status);
  return {
    name: view.app,
    status,
    statusLabel: STATUS_WORDS[status],
    ...(state === undefined ? {} : { state }),
    reason: view.reason,
    ...(spec?.displayName === undefined ? {} : { displayName: spec.displayName }),
    ...(spec === undefined ? {} : { clientId: spec.clientId }),
    owners: spec?.owners ?? [],
    ...(view.openRequest === undefined
      ? {}
      : { openRequest: { number: view.openRequest.number, kind: view.openRequest.kind, author: view.openRequest.author } }),
    requests: view.counts,
  };
}

export function formatList(result: AppListResult): string {
  const c = result.counts;
  const lines = [
    `Applications: ${c.approved} approved (${c.active} active, ${c.inactive} inactive), ${c['awaiting-approval']} awaiting approval, ${c.rejected} rejected, ${c.cancelled} cancelled`,
    `Requests: ${result.requests.approved} approved, ${result.requests.rejected} rejected, ${result.requests.cancelled} cancelled`,
  ];
  if (result.apps.length === 0) return [...lines, '', 'No applications to show.', ''].join('\n');
  const rows = result.apps.map((app) => [
    app.name,
    app.statusLabel,
    app.state ?? '',
    app.openRequest === undefined ? '' : `${REQUEST_WORDS[app.openRequest.kind]} #${app.openRequest.number}`,
    `${app.requests.approved}/${app.requests.rejected}/${app.requests.cancelled}`,
    app.clientId ?? '',
  ]);
  const header = ['NAME', 'STATUS', 'STATE', 'OPEN REQUEST', 'APPROVED/REJECTED/CANCELLED', 'CLIENT ID'];
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)));
  const format = (row: string[]) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd();
  return [...lines, '', format(header), ...rows.map(format), ''].join('\n');
}

export const command = defineCommand({
  summary: 'List applications with their status and request counts.',
  description:
    'List every application known to the main branch or to a create request, with its status: ' +
    'awaiting approval (an open create request), approved (on the main branch, with its state: ' +
    'active or inactive), rejected (its create request was closed by someone other than its author) ' +
    'or cancelled (closed by its author). Shows how many requests were approved, rejected and ' +
    'cancelled. Run it in a clone of the manifests repository; main is fetched first.',
  arguments: [],
  options: {
    status: {
      type: 'string',
      valueName: 'STATUS',
      description: `Show only applications in this status or state: ${STATUS_FILTERS.join(', ')} (or the words the list prints, such as "awaiting approval"). The counts still cover all.`,
    },
    mine: { type: 'boolean', description: 'Only applications you own (an owner whose githubLogin is yours) or asked for.' },
    format: { type: 'string', valueName: 'FORMAT', choices: ['text', 'json'], default: 'text', description: 'text prints a table; json prints { counts, requests, apps }.' },
    ...GITHUB_OPTIONS,
  },
  examples: ['mergekey app list', 'mergekey app list --status awaiting-approval --mine', 'mergekey app list --status inactive', 'mergekey app list --format json'],
  run: (input) => list({ status: statusOption(input.status), mine: input.mine, githubRepo: input.githubRepo, githubApiUrl: input.githubApiUrl }),
  render: (result, input) => (input.format === 'json' ? `${JSON.stringify(result, null, 2)}\n` : formatList(result)),
});

/** `--status` as typed: a name or the printed words; anything else is a usage error naming the choices. */
function statusOption(text: string | undefined): StatusFilter | undefined {
  if (text === undefined) return undefined;
  const filter = parseStatusFilter(text);
  if (filter === undefined) {
    throw usageError(`option '--status' must be a status or state: ${STATUS_FILTERS.join(', ')} (got '${text}')`, `Words as the list prints them work too: --status "${filterWords('awaiting-approval')}".`);
  }
  return filter;
}
