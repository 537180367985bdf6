// What the store keeps for the reconciler in the `sync` database (sync-state.ts): the inventory of
// what each record was applied from, each manifest path's status as conditions, and the last run.
// Declared with the store because they are what it persists, and what a second backend must keep
// the same way; the store keeps them as given and runs no reconcile code. The reconciler fills
// them in: reconcile/conditions.ts stamps conditions and derives Ready, failures.ts classifies a
// failure, problems.ts documents each problem code. Types only.
import type { Kind, Problem, ProblemCode } from '../manifests/index.ts';

/** `Kind/name`: how the store identifies an object. */
export type ObjectKey = `${Kind}/${string}`;

/** What the store holds for one object (the inventory kept beside the records). */
export interface ActualEntry {
  kind: Kind;
  name: string;
  path: string;
  fingerprint: string;
  /** The commit this version was applied from. */
  commit: string;
  /** Applications only. */
  state?: 'active' | 'inactive';
  clientId?: string;
}

export type ConditionStatus = 'True' | 'False' | 'Unknown';

/** Every reason a condition can carry. Clients `switch` on these; never rename one. */
export type ConditionReason =
  // Valid
  | 'Valid' //                the manifest passed every check
  | 'Invalid' //              file, schema, cross-object rule or sealed value problem (see problems)
  // Applied
  | 'Applied' //              the store holds this commit's version
  | 'KeptLastGood' //         invalid: the store keeps serving the last version that was valid
  | 'NotApplied' //           invalid and never applied: nothing is served for it
  | 'Removed' //              the manifest was removed: an application is inactive (record kept), others deleted
  // repository level
  | 'Fetched' //              the last fetch succeeded
  | 'Unreachable' //          git could not be reached or read; the last good state is served
  | 'BranchNotFound' //       the followed branch does not exist (deleted or renamed)
  | 'Refused' //              the repository URL or branch is not acceptable: fix the configuration
  | 'Synced' //               the fetched head is applied
  | 'AppliedWithErrors' //    the commit is applied except some objects, which keep their last good version (or none)
  | 'HeldBack' //             the head would deactivate too many applications at once
  | 'HistoryRewritten' //     the head does not contain the applied commit (a force push): held until an operator accepts it
  | 'TooLarge' //             the commit has more manifests, or longer paths, than are read at all
  | 'Unreadable' //           a manifest folder is a symlink, submodule or file, or the repository's object format changed
  | 'Failed' //               the reconcile failed unexpectedly; it is retried
  | 'Progressing' //          no reconcile has finished yet
  // Ready
  | 'Ready';

export type ConditionType = 'Valid' | 'Applied' | 'Fetched' | 'Synced' | 'Ready';

export interface Condition {
  type: ConditionType;
  status: ConditionStatus;
  reason: ConditionReason;
  message: string;
  /** RFC 3339; when `status` last changed (not when the message did). */
  lastTransitionTime: string;
}

/** The problem codes the reconciler adds to the manifests module's own, each documented in reconcile/problems.ts. */
export type ReconcileProblemCode =
  | 'file.symlink'
  | 'file.not-regular'
  | 'file.too-large'
  | 'sealed.unopenable'
  | 'store.client-id-changed'
  | 'store.client-id-taken'
  | 'store.settings-removed';

/** A problem of a manifest path as the status reports it. */
export interface ReconcileProblem extends Omit<Problem, 'code'> {
  code: ProblemCode | ReconcileProblemCode;
}

/** The status of one manifest path, as `mergekey status` and GET /api/v1/status report it. */
export interface ObjectStatus {
  path: string;
  kind: string;
  name: string;
  /** The commit whose version the store serves, if any. */
  servedCommit?: string;
  problems: ReconcileProblem[];
  conditions: Condition[];
}

export type FailureClass =
  /** A person must change the input (a new commit, the configuration); retrying the same head is pointless. */
  | 'stalled'
  /** Something outside is failing (git unreachable, branch gone): retry with backoff, serve the last good state. */
  | 'retry'
  /** Unexpected and probably passing (a local git or store error): retry on the next trigger. */
  | 'transient';

export interface RunError {
  failure: FailureClass;
  reason: ConditionReason;
  message: string;
}

/** The last reconcile attempt. */
export interface RunStatus {
  /** The head it worked on, when the fetch got that far. */
  commit?: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  /** Of `durationMs`, the time spent fetching from git (network and git's own work). */
  fetchMs?: number;
  result: 'applied' | 'unchanged' | 'failed';
  error?: RunError;
  /** Why the run started: poll, webhook, manual, startup, retry. */
  trigger: string;
}
