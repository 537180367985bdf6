// What the reconciler tells the confirmation after a commit is applied: the commit, the one the
// store held before, and what happened to each manifest it looked at. Pure data: the reconciler
// builds it without knowing who listens.
import type { ManifestObject } from '../manifests/index.ts';

export interface AppliedObject {
  path: string;
  kind: string;
  name: string;
  /** applied: the store serves this commit's version; kept: the last good one; absent: nothing; removed: gone (an app is inactive). */
  outcome: 'applied' | 'kept' | 'absent' | 'removed';
  /** For applications: the client id and state the store now serves. */
  clientId?: string;
  state?: 'active' | 'inactive';
  /** Why it was not applied, for kept and absent. */
  message?: string;
}

export interface AppliedEvent {
  /** The commit now applied. */
  commit: string;
  /** The commit applied before, when there was one. */
  previous?: string;
  /** RFC 3339. */
  at: string;
  objects: AppliedObject[];
}

interface OutcomeLike {
  path: string;
  key: string;
  outcome: { kind: AppliedObject['outcome'] };
  problems: readonly { path: string; line: number; column: number; message: string }[];
}

/**
 * The event for one apply. `served(outcome)` is the object the store serves for a path after it
 * (the new version when applied, the last good one otherwise), for an application's client id and
 * state.
 */
export function appliedEvent<O extends OutcomeLike>(
  commit: string,
  previous: string | undefined,
  at: string,
  outcomes: readonly O[],
  served: (outcome: O) => ManifestObject | undefined,
): AppliedEvent {
  const objects = outcomes.map((outcome): AppliedObject => {
    const slash = outcome.key.indexOf('/');
    const kind = outcome.key.slice(0, slash);
    const object: AppliedObject = { path: outcome.path, kind, name: outcome.key.slice(slash + 1), outcome: outcome.outcome.kind };
    const manifest = served(outcome)?.manifest;
    if (kind === 'Application' && manifest !== undefined && manifest.kind === 'Application') {
      object.clientId = manifest.spec.clientId;
      object.state = outcome.outcome.kind === 'removed' ? 'inactive' : manifest.spec.state;
    }
    if (outcome.problems.length > 0) {
      object.message = outcome.problems.map((p) => `${p.path}:${p.line}:${p.column}: ${p.message}`).join('; ');
    }
    return object;
  });
  return { commit, ...(previous === undefined ? {} : { previous }), at, objects };
}
