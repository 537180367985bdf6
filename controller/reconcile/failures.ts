// Failures classified by what happens next (Flux's stalling/retry split: the classes are declared
// with the run record the store keeps, store/sync-records.ts FailureClass), and the shape of the
// status the server reports at GET /api/v1/status.
import { GitError } from '../git/source.ts';
import type { StoreRebuild } from '../store/check.ts';
import type { AppliedCommit } from '../store/sync-state.ts';
import type { Condition, ConditionReason, FailureClass, ObjectStatus, RunStatus } from '../store/sync-records.ts';

export class ReconcileError extends Error {
  override readonly name = 'ReconcileError';
  constructor(
    readonly failure: FailureClass,
    readonly reason: ConditionReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function classify(error: unknown): ReconcileError {
  if (error instanceof ReconcileError) return error;
  if (error instanceof GitError) {
    switch (error.code) {
      case 'REFUSED':
        return new ReconcileError('stalled', 'Refused', error.message, { cause: error });
      case 'UNREACHABLE':
        return new ReconcileError('retry', 'Unreachable', `${error.message}; serving the last good state`, { cause: error });
      case 'BRANCH_NOT_FOUND':
        return new ReconcileError('retry', 'BranchNotFound', `${error.message}; serving the last good state`, { cause: error });
      case 'GIT_FAILED':
        return new ReconcileError('transient', 'Failed', error.message, { cause: error });
      case 'TOO_LARGE':
        return new ReconcileError('stalled', 'TooLarge', `${error.message}; the last good state is served`, { cause: error });
      case 'NOT_READABLE':
        return new ReconcileError('stalled', 'Unreadable', `${error.message}; the last good state is served`, { cause: error });
    }
  }
  const message = error instanceof Error ? error.message : String(error);
  return new ReconcileError('transient', 'Failed', `reconcile failed: ${message}`, { cause: error });
}


export interface ReconcileStatus {
  repository: string;
  branch: string;
  /**
   * Fetched, Synced (the fetched head is applied; False while a rewritten history is held) and
   * Valid (every object valid, else AppliedWithErrors naming them); Ready when all three are.
   */
  conditions: Condition[];
  lastApplied?: AppliedCommit;
  lastAttempt?: RunStatus;
  lastSuccessfulFetch?: { at: string; commit: string; secondsAgo: number };
  /** When the next automatic attempt is planned (poll or retry), if any. */
  nextAttemptAt?: string;
  objects: { total: number; ready: number; notReady: number };
  /** Every manifest path and its conditions, sorted by path. */
  objectStatuses: ObjectStatus[];
  /** Set once the store was rebuilt from git (`--rebuild-store`): when, why and what was lost. */
  storeRebuild?: StoreRebuild;
}
