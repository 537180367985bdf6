// `mergekey sync --admin URL`: asks a running controller to reconcile now instead of at the next
// poll, and (by default) waits for that reconcile to finish and reports it.
import type { RunStatus } from '../../controller/reconcile/status.ts';
import { defineCommand } from '../command.ts';
import { EXIT_CODES } from '../errors.ts';
import { ADMIN_OPTION, adminUrl, OPERATOR, serverRequest } from './status.ts';

export interface SyncOptions {
  /** The operator listener. */
  admin: string;
  /** Return as soon as the controller has the request. */
  noWait?: boolean;
}

export type SyncResult = { result: 'triggered' } | { result: 'finished'; run: RunStatus };

export async function sync(options: SyncOptions): Promise<SyncResult> {
  const path = options.noWait === true ? '/api/v1/sync' : '/api/v1/sync?wait=true';
  return (await serverRequest(options.admin, 'POST', path, OPERATOR)) as SyncResult;
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
    'Reconciles never overlap: if one is running, one more runs after it. Waits for it and prints ' +
    'its result; exits 1 when it failed (git unreachable, a commit held back).',
  arguments: [],
  options: {
    admin: ADMIN_OPTION,
    'no-wait': { type: 'boolean', description: 'Return once the controller has the request.' },
  },
  examples: ['mergekey sync', 'mergekey sync --admin http://10.0.0.5:9000 --no-wait'],
  run: (input) => sync({ admin: adminUrl(input.admin), noWait: input.noWait }),
  render: (result) => formatSync(result),
  exitCode: (result) => (result.result === 'finished' && result.run.error !== undefined ? EXIT_CODES.failure : EXIT_CODES.ok),
});
