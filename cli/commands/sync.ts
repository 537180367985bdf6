// `mergekey sync --admin URL`: asks a running controller to reconcile now instead of at the next
// poll, and (by default) waits for that reconcile to finish and reports it. When git is slow the
// controller answers 202 `running` before its request timeout; the command then watches the status
// until the run that started after its request has finished.
import type { ReconcileStatus } from '../../controller/reconcile/failures.ts';
import type { RunStatus } from '../../controller/store/sync-records.ts';
import { defineCommand } from '../command.ts';
import { EXIT_CODES, failure, usageError } from '../errors.ts';
import { ADMIN_OPTION, adminUrl, OPERATOR, serverRequest } from './status.ts';

export interface SyncOptions {
  /** The operator listener. */
  admin: string;
  /** Return as soon as the controller has the request. */
  noWait?: boolean;
  /** The rewritten head the operator accepts (the status names it). */
  acceptHistoryRewrite?: string;
  /** How often to ask for the status while a slow reconcile runs (tests shorten it). */
  pollMs?: number;
  /** How long to keep asking: a reconcile queued behind another, each bounded by the git timeout. */
  deadlineMs?: number;
}

export type SyncResult = { result: 'triggered' } | { result: 'finished'; run: RunStatus };

type SyncAnswer = { result: 'triggered'; requestedAt?: string } | { result: 'finished'; run: RunStatus } | { result: 'running'; requestedAt: string };

const COMMIT = /^[0-9a-fA-F]{12,64}$/;
const POLL_MS = 1_000;
const DEADLINE_MS = 10 * 60_000;

export async function sync(options: SyncOptions): Promise<SyncResult> {
  const accept = options.acceptHistoryRewrite;
  if (accept !== undefined && !COMMIT.test(accept)) {
    throw usageError(`--accept-history-rewrite must be a commit id (12 to 64 hex digits), got '${accept}'`, 'Copy the commit from `mergekey status`.');
  }
  const query = new URLSearchParams(options.noWait === true ? {} : { wait: 'true' });
  if (accept !== undefined) query.set('acceptHistoryRewrite', accept);
  const path = `/api/v1/sync${query.size === 0 ? '' : `?${query}`}`;
  const answer = (await serverRequest(options.admin, 'POST', path, OPERATOR)) as SyncAnswer;
  if (answer.result === 'triggered') return { result: 'triggered' };
  if (answer.result === 'finished') return answer;
  return { result: 'finished', run: await awaitRun(options, answer.requestedAt) };
}

/** Asks for the status until its last attempt is a run that started at or after `requestedAt`. */
async function awaitRun(options: SyncOptions, requestedAt: string): Promise<RunStatus> {
  const since = Date.parse(requestedAt);
  const deadline = Date.now() + (options.deadlineMs ?? DEADLINE_MS);
  for (;;) {
    const status = (await serverRequest(options.admin, 'GET', '/api/v1/status', OPERATOR)) as ReconcileStatus;
    const attempt = status.lastAttempt;
    if (attempt !== undefined && Date.parse(attempt.startedAt) >= since) return attempt;
    if (Date.now() > deadline) {
      throw failure(`the reconcile requested at ${requestedAt} has not finished yet`, { hint: 'Git may be slow or unreachable: see `mergekey status`.' });
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? POLL_MS));
  }
}

export function formatSync(result: SyncResult): string {
  if (result.result === 'triggered') return 'reconcile triggered\n';
  const run = result.run;
  const commit = run.commit === undefined ? '' : ` ${run.commit.slice(0, 12)}`;
  if (run.error !== undefined) return `failed${commit} after ${run.durationMs} ms: ${run.error.reason}: ${run.error.message}\n`;
  return `${run.result}${commit} in ${run.durationMs} ms\n`;
}

export const command = defineCommand({
  summary: 'Make the controller reconcile now.',
  description:
    'Ask a running controller to fetch the branch and apply it now, rather than at the next poll. ' +
    'Reconciles never overlap, and requests that arrive while one is queued join it. Waits for it ' +
    '(watching the status when git is slow) and prints its result; exits 1 when it failed (git ' +
    'unreachable, a commit held back, a rewritten history held). --accept-history-rewrite COMMIT ' +
    'applies the rewritten head the status names (a force push), which may bring back a secret ' +
    'rotated out since; any other head stays held.',
  arguments: [],
  options: {
    admin: ADMIN_OPTION,
    'no-wait': { type: 'boolean', description: 'Return once the controller has the request.' },
    'accept-history-rewrite': {
      type: 'string',
      valueName: 'COMMIT',
      description: 'Accept this rewritten head of the branch (the commit `mergekey status` names) and apply it.',
    },
  },
  examples: ['mergekey sync', 'mergekey sync --admin http://10.0.0.5:9000 --no-wait', 'mergekey sync --accept-history-rewrite 4f2a9c1e7b3d'],
  run: (input) =>
    sync({
      admin: adminUrl(input.admin),
      noWait: input.noWait,
      ...(input.acceptHistoryRewrite === undefined ? {} : { acceptHistoryRewrite: input.acceptHistoryRewrite }),
    }),
  render: (result) => formatSync(result),
  exitCode: (result) => (result.result === 'finished' && result.run.error !== undefined ? EXIT_CODES.failure : EXIT_CODES.ok),
});
