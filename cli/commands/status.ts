// `mergekey status --admin URL`: what the controller serves and why — the last applied commit,
// the last attempt and its error, how long since git was last reached, and every object that is
// not Ready with file:line:column.
import type { Condition, ObjectStatus } from '../../controller/store/sync-records.ts';
import type { ReconcileStatus } from '../../controller/reconcile/failures.ts';
import { defineCommand, type OptionSpec } from '../command.ts';
import { EXIT_CODES, failure, usageError } from '../errors.ts';

// How the CLI talks to a running controller: one request, a clear error for each way it can fail
// (nothing listening, a timeout, an unexpected answer). The public listener (OAuth, token
// listing) is `--server`; `status` and `sync` ask the operator listener, `--admin`.
export const DEFAULT_SERVER = 'http://127.0.0.1:8080';

export const SERVER_OPTION = {
  type: 'string',
  valueName: 'URL',
  description: `The controller to ask (env MERGEKEY_SERVER; default ${DEFAULT_SERVER}).`,
} as const satisfies OptionSpec;

/** --server, else MERGEKEY_SERVER, else the local default. */
export function serverUrl(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flag ?? (env.MERGEKEY_SERVER || DEFAULT_SERVER);
}

/** `mergekey serve`'s operator listener with its default --admin-host and --admin-port. */
export const DEFAULT_ADMIN = 'http://127.0.0.1:9000';

export const ADMIN_OPTION = {
  type: 'string',
  valueName: 'URL',
  description: `The controller's operator listener (mergekey serve --admin-host/--admin-port; env MERGEKEY_ADMIN_URL; default ${DEFAULT_ADMIN}).`,
} as const satisfies OptionSpec;

/** --admin, else MERGEKEY_ADMIN_URL, else the local default. */
export function adminUrl(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flag ?? (env.MERGEKEY_ADMIN_URL || DEFAULT_ADMIN);
}

const TIMEOUT_MS = 60_000;

/** Where the address came from, for the messages: the public listener or the operator one. */
export interface Listener {
  option: string;
  env: string;
}

export const PUBLIC: Listener = { option: '--server', env: 'MERGEKEY_SERVER' };
export const OPERATOR: Listener = { option: '--admin', env: 'MERGEKEY_ADMIN_URL' };

export async function serverRequest(server: string, method: 'GET' | 'POST', path: string, listener: Listener = PUBLIC): Promise<unknown> {
  if (!URL.canParse(server) || !/^https?:$/.test(new URL(server).protocol)) {
    throw usageError(`${listener.option} must be an http(s) URL (got '${server}')`);
  }
  const url = new URL(path, server.endsWith('/') ? server : `${server}/`);
  let response: Response;
  try {
    response = await fetch(url, { method, signal: AbortSignal.timeout(TIMEOUT_MS), headers: { accept: 'application/json' } });
  } catch (error) {
    const inner = (error as { cause?: { code?: string; message?: string } }).cause;
    const cause = inner?.code ?? inner?.message ?? (error as Error).message;
    throw failure(`cannot reach the controller at ${server}: ${cause}`, { hint: `Is \`mergekey serve\` running there? Set ${listener.option} or ${listener.env}.`, cause: error });
  }
  const text = await response.text();
  if (response.status === 404 && listener === OPERATOR) {
    throw failure(`${method} ${url.pathname} answered 404 at ${server}: is it the public listener? Status and sync are on the operator listener`, {
      hint: `Set --admin or MERGEKEY_ADMIN_URL to mergekey serve's --admin-host and --admin-port (default ${DEFAULT_ADMIN}).`,
    });
  }
  if (!response.ok) throw failure(`${method} ${url.pathname} answered ${response.status}: ${text.slice(0, 200)}`);
  try {
    return JSON.parse(text);
  } catch {
    throw failure(`${method} ${url.pathname} did not answer JSON; is ${server} a mergekey controller?`);
  }
}

export interface StatusOptions {
  /** The operator listener. */
  admin: string;
}

export async function status(options: StatusOptions): Promise<ReconcileStatus> {
  return (await serverRequest(options.admin, 'GET', '/api/v1/status', OPERATOR)) as ReconcileStatus;
}

export function isReady(result: ReconcileStatus): boolean {
  return readyOf(result.conditions)?.status === 'True' && result.objects.notReady === 0;
}

function readyOf(conditions: readonly Condition[]): Condition | undefined {
  return conditions.find((c) => c.type === 'Ready');
}

export function formatStatus(result: ReconcileStatus, all: boolean, now = Date.now()): string {
  const ago = (iso: string) => `${since(now - Date.parse(iso))} ago`;
  const ready = readyOf(result.conditions);
  const lines: [string, string][] = [
    ['Repository', `${result.repository} (branch ${result.branch})`],
    ['Ready', ready === undefined ? 'Unknown' : `${ready.status}: ${ready.message}`],
    ['Applied', result.lastApplied === undefined ? 'nothing yet' : `${short(result.lastApplied.commit)} at ${result.lastApplied.at} (${ago(result.lastApplied.at)})`],
  ];
  const attempt = result.lastAttempt;
  if (attempt !== undefined) {
    const what = attempt.error === undefined ? attempt.result : `${attempt.error.reason}: ${attempt.error.message}`;
    lines.push(['Attempted', `${attempt.commit === undefined ? '(no commit)' : short(attempt.commit)} at ${attempt.finishedAt} by ${attempt.trigger}: ${what}`]);
  }
  lines.push(['Fetched', result.lastSuccessfulFetch === undefined ? 'never (since the server started)' : `${short(result.lastSuccessfulFetch.commit)}, ${since(result.lastSuccessfulFetch.secondsAgo * 1000)} ago`]);
  if (result.nextAttemptAt !== undefined) lines.push(['Next attempt', result.nextAttemptAt]);
  lines.push(['Objects', `${result.objects.total} total, ${result.objects.ready} ready, ${result.objects.notReady} not ready`]);
  const width = Math.max(...lines.map(([k]) => k.length));
  const out = lines.map(([k, v]) => `${k.padEnd(width)}  ${v}`);

  const shown = all ? result.objectStatuses : result.objectStatuses.filter((o) => readyOf(o.conditions)?.status !== 'True');
  if (shown.length > 0) {
    out.push('', ...objectTable(shown));
  }
  if (!all && result.objects.ready > 0) out.push('', `(${result.objects.ready} ready objects not listed; --all lists them)`);
  return out.join('\n') + '\n';
}

function objectTable(objects: readonly ObjectStatus[]): string[] {
  const rows = objects.map((o) => {
    const ready = readyOf(o.conditions);
    const detail = o.problems.length > 0 ? o.problems.map((p) => `${p.path}:${p.line}:${p.column}: ${p.message}`).join('; ') : (ready?.message ?? '');
    return [o.path, o.kind, ready?.status ?? 'Unknown', ready?.reason ?? '', detail];
  });
  const header = ['PATH', 'KIND', 'READY', 'REASON', 'DETAIL'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.slice(0, 1000).map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}

function short(commit: string): string {
  return commit.slice(0, 12);
}

function since(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}

export const command = defineCommand({
  summary: "Show what the controller serves: applied commit, last attempt, objects' conditions.",
  description:
    'Ask a running controller for its status: the last applied commit and when, the last attempt ' +
    'and its error, the time since git was last fetched, and every object that is not Ready with ' +
    'file:line:column. Exits 0 when the repository and every object are Ready, 1 otherwise.',
  arguments: [],
  options: {
    admin: ADMIN_OPTION,
    format: {
      type: 'string',
      valueName: 'FORMAT',
      description: 'text prints a summary and a table; json prints the status document.',
      choices: ['text', 'json'],
      default: 'text',
    },
    all: { type: 'boolean', description: 'List every object, not only those that are not Ready.' },
  },
  examples: ['mergekey status', 'mergekey status --admin http://10.0.0.5:9000 --format json'],
  run: (input) => status({ admin: adminUrl(input.admin) }),
  render: (result, input) => (input.format === 'json' ? JSON.stringify(result, null, 2) + '\n' : formatStatus(result, input.all)),
  exitCode: (result) => (isReady(result) ? EXIT_CODES.ok : EXIT_CODES.failure),
});
