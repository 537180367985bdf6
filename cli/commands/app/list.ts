// `mergekey app list`: every application with its status, as the brief's "My Applications" page
// shows them: approved (active or inactive), awaiting approval, rejected, cancelled, with the
// counts of approved, rejected and cancelled requests. Statuses come from the main branch plus the
// pull requests, mapped as SPEC.md says.
import {
  APP_STATUS_LABELS,
  APP_STATUSES,
  countApplications,
  requestOutcome,
  sameLogin,
  type AppStatus,
  type AppStatusView,
  type RequestCounts,
} from '../../../controller/requests/index.ts';
import { defineCommand } from '../../command.ts';
import { GITHUB_OPTIONS } from '../../github-options.ts';
import { withGitHubErrors } from '../../../controller/requests/errors.ts';
import { startWithMain, type SessionOptions } from '../../../controller/requests/session.ts';
import { listRequests, statusesOf, usersOfLogin, type MainState } from '../../../controller/requests/state.ts';

export interface ListOptions extends SessionOptions {
  status?: AppStatus | undefined;
  /** Only applications you own (an owner's githubLogin is yours) or asked for. */
  mine?: boolean | undefined;
}

export interface AppListEntry {
  name: string;
  status: AppStatus;
  /** The brief's words: "awaiting approval", "active", … */
  statusLabel: string;
  reason: string;
  displayName?: string;
  clientId?: string;
  owners: string[];
  openRequest?: { number: number; kind: string; author: string };
  /** This application's requests by outcome. */
  requests: RequestCounts;
}

export interface AppListResult {
  /** Over every application listed before --status filters them (after --mine). */
  counts: Record<AppStatus, number> & { approved: number };
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
  const shown = options.status === undefined ? views : views.filter((view) => view.status === options.status);
  return {
    counts: countApplications(views),
    requests: totals,
    apps: shown.map(entry),
    ...(me === undefined ? {} : { login: me.login }),
  };
}

/** Yours: an owner's githubLogin is your login, or you asked for a request about it (yourself, or in the portal). */
function isMine(main: MainState, view: AppStatusView, login: string): boolean {
  const myUsers = usersOfLogin(main, login);
  if (view.onMain?.spec.owners.some((owner) => myUsers.includes(owner)) === true) return true;
  return view.requests.some((request) => sameLogin(request.author, login) || (request.requestedBy !== undefined && myUsers.includes(request.requestedBy)));
}

function entry(view: AppStatusView): AppListEntry {
  const spec = view.onMain?.spec;
  return {
    name: view.app,
    status: view.status,
    statusLabel: APP_STATUS_LABELS[view.status],
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
    `Applications: ${c.approved} approved (${c.active} active, ${c.inactive} inactive), ${c.awaiting} awaiting approval, ${c.rejected} rejected, ${c.cancelled} cancelled`,
    `Requests: ${result.requests.approved} approved, ${result.requests.rejected} rejected, ${result.requests.cancelled} cancelled`,
  ];
  if (result.apps.length === 0) return [...lines, '', 'No applications to show.', ''].join('\n');
  const rows = result.apps.map((app) => [
    app.name,
    app.statusLabel,
    app.openRequest === undefined ? '' : `#${app.openRequest.number} ${app.openRequest.kind}`,
    `${app.requests.approved}/${app.requests.rejected}/${app.requests.cancelled}`,
    app.clientId ?? '',
  ]);
  const header = ['NAME', 'STATUS', 'OPEN REQUEST', 'APPROVED/REJECTED/CANCELLED', 'CLIENT ID'];
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)));
  const format = (row: string[]) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd();
  return [...lines, '', format(header), ...rows.map(format), ''].join('\n');
}

export const command = defineCommand({
  summary: 'List applications with their status and request counts.',
  description:
    'List every application known to the main branch or to a create request, with its status: ' +
    'active or inactive (approved: on the main branch), awaiting approval (an open create request), ' +
    'rejected (its create request was closed by someone other than its author) or cancelled ' +
    '(closed by its author). Shows how many requests were approved, rejected and cancelled. Run it ' +
    'in a clone of the manifests repository; main is fetched first.',
  arguments: [],
  options: {
    status: { type: 'string', valueName: 'STATUS', choices: APP_STATUSES, description: 'Show only applications in this status (the counts still cover all).' },
    mine: { type: 'boolean', description: 'Only applications you own (an owner whose githubLogin is yours) or asked for.' },
    format: { type: 'string', valueName: 'FORMAT', choices: ['text', 'json'], default: 'text', description: 'text prints a table; json prints { counts, requests, apps }.' },
    ...GITHUB_OPTIONS,
  },
  examples: ['mergekey app list', 'mergekey app list --status awaiting --mine', 'mergekey app list --format json'],
  run: (input) => list({ status: input.status, mine: input.mine, githubRepo: input.githubRepo, githubApiUrl: input.githubApiUrl }),
  render: (result, input) => (input.format === 'json' ? `${JSON.stringify(result, null, 2)}\n` : formatList(result)),
});
