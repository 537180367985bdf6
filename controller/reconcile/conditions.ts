// Status as conditions, declared once (Kubernetes/Flux style): each has a type, a True/False
// status, a machine-readable reason from a closed list, a message for people, and the time its
// status last changed. `Ready` is never set directly: it is derived from the others.
import type { ReconcileProblem } from './problems.ts';
import type { Outcome, PathOutcome } from './plan.ts';

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

export type ConditionInput = Omit<Condition, 'lastTransitionTime'>;

/**
 * Stamps conditions with transition times: a condition whose status did not change keeps its
 * previous time, so "False since 09:12" stays true while the reason or message evolves.
 */
export function stamp(inputs: ConditionInput[], previous: readonly Condition[] | undefined, now: string): Condition[] {
  const withReady = [...inputs, deriveReady(inputs)];
  return withReady.map((input) => {
    const before = previous?.find((c) => c.type === input.type);
    const lastTransitionTime = before !== undefined && before.status === input.status ? before.lastTransitionTime : now;
    return { ...input, lastTransitionTime };
  });
}

/**
 * Ready is True when every other condition is; otherwise it carries the first failing one's reason.
 * At the repository level the conditions are Fetched, Synced and Valid (every object valid).
 */
export function deriveReady(inputs: readonly ConditionInput[]): ConditionInput {
  const failing = inputs.find((c) => c.status !== 'True');
  if (failing === undefined) return { type: 'Ready', status: 'True', reason: 'Ready', message: 'up to date' };
  return { type: 'Ready', status: failing.status, reason: failing.reason, message: failing.message };
}

export function formatProblem(problem: ReconcileProblem): string {
  return `${problem.path}:${problem.line}:${problem.column}: ${problem.message}`;
}

export interface ObjectStatus {
  path: string;
  kind: string;
  name: string;
  /** The commit whose version the store serves, if any. */
  servedCommit?: string;
  problems: ReconcileProblem[];
  conditions: Condition[];
}

/** The conditions of one manifest path after a reconcile of `commit`. */
export function objectConditions(outcome: PathOutcome, commit: string): { conditions: ConditionInput[]; servedCommit?: string } {
  const problems = outcome.problems;
  const valid: ConditionInput =
    problems.length === 0
      ? { type: 'Valid', status: 'True', reason: 'Valid', message: 'valid' }
      : { type: 'Valid', status: 'False', reason: 'Invalid', message: problems.map(formatProblem).join('; ') };
  const applied = appliedCondition(outcome.outcome, outcome.path, commit);
  return { conditions: [valid, applied.condition], ...(applied.servedCommit === undefined ? {} : { servedCommit: applied.servedCommit }) };
}

function appliedCondition(outcome: Outcome, path: string, commit: string): { condition: ConditionInput; servedCommit?: string } {
  const short = (c: string) => c.slice(0, 12);
  switch (outcome.kind) {
    case 'applied':
      return { condition: { type: 'Applied', status: 'True', reason: 'Applied', message: `applied from commit ${short(commit)}` }, servedCommit: commit };
    case 'kept':
      return {
        condition: {
          type: 'Applied',
          status: 'False',
          reason: 'KeptLastGood',
          message: outcome.deactivated
            ? `deactivated as requested; otherwise the version from commit ${short(outcome.commit)} is kept until the manifest is fixed`
            : `the version from commit ${short(outcome.commit)} is served until the manifest is fixed`,
        },
        servedCommit: outcome.commit,
      };
    case 'absent':
      return { condition: { type: 'Applied', status: 'False', reason: 'NotApplied', message: 'never applied: nothing is served for it until the manifest is fixed' } };
    case 'removed':
      return {
        condition: {
          type: 'Applied',
          status: 'True',
          reason: 'Removed',
          message: outcome.deleted
            ? `${path} was removed: its record is deleted and no longer served`
            : `${path} was removed: the application is inactive and its record is kept`,
        },
        servedCommit: commit,
      };
  }
}
