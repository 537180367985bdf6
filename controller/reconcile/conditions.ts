// Status as conditions (Kubernetes/Flux style): each has a type, a True/False status, a
// machine-readable reason from a closed list, a message for people, and the time its status last
// changed. `Ready` is never set directly: it is derived from the others. The shapes and the closed
// list of reasons are declared once, with what the store keeps (store/sync-records.ts); this module
// computes them.
import type { Condition, ReconcileProblem } from '../store/sync-records.ts';
import type { Outcome, PathOutcome } from './plan.ts';

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
