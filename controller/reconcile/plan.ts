// What a reconcile will change, computed without effects: no git, no LMDB, no file system. The
// reconciler feeds it what the commit says (desired) and what the store holds (actual); `apply`
// carries the result out in one transaction. Everything a user relies on — invalid objects keep
// their last good version, removals deactivate, a mass deactivation is held back — is decided here,
// so it is tested on plain fixtures.
import { classifyPath, foldClientId, type Kind, type ManifestObject } from '../manifests/index.ts';
import type { ActualEntry, ObjectKey, ReconcileProblem } from '../store/sync-records.ts';

export function objectKey(kind: Kind, name: string): ObjectKey {
  return `${kind}/${name}`;
}

/**
 * The kind and name a manifest path stands for (`apps/billing.yaml` → Application/billing), so that
 * a file too broken to parse is still tied to the object it would define. A misplaced file
 * (`apps/team/billing.yaml`, `apps/billing.yml`) never defines an object: it is named by its path,
 * so that it cannot be mistaken for the real `apps/billing.yaml`.
 */
export function identityOf(path: string): { kind: Kind; name: string } | undefined {
  const where = classifyPath(path);
  if (where === undefined) return undefined;
  return { kind: where.kind, name: where.misplaced === undefined ? where.name : path };
}

/** One manifest path of the commit being reconciled. */
export interface DesiredEntry {
  path: string;
  kind: Kind;
  name: string;
  /** The object as loaded from this commit, when it parsed and matched its schema. */
  object?: ManifestObject;
  /** Hash of `object.manifest`; equal fingerprints mean nothing to write. */
  fingerprint?: string;
  /** Everything wrong with this path at this commit (file, schema and cross-object rules). */
  problems: ReconcileProblem[];
}


export interface PlanOptions {
  allowMassDeactivation: boolean;
  /**
   * For an incremental reconcile: the only paths that may have changed. `desired` then lists
   * (at least) the paths of the scope that still exist, and only objects whose path is in the
   * scope can be found removed; everything outside it is known to be as it was. Without a scope,
   * `desired` is the whole commit.
   */
  scope?: ReadonlySet<string>;
}

export interface Upsert {
  key: ObjectKey;
  path: string;
  object: ManifestObject;
  fingerprint: string;
}

export interface Deactivation {
  key: ObjectKey;
  path: string;
  /** Why: the manifest was removed, or it asks for `state: inactive` but is otherwise invalid. */
  reason: 'removed' | 'requested';
}

export type Outcome =
  /** The store will hold this commit's version. */
  | { kind: 'applied'; changed: boolean }
  /** Invalid: the store keeps the version applied from `commit`. */
  | { kind: 'kept'; commit: string; deactivated: boolean }
  /** Invalid, and no version of it was ever applied. */
  | { kind: 'absent' }
  /** The manifest is gone: an application becomes inactive (its record stays); other kinds are deleted. */
  | { kind: 'removed'; deleted: boolean };

export interface PathOutcome {
  path: string;
  key: ObjectKey;
  outcome: Outcome;
  problems: ReconcileProblem[];
}

export interface HeldBack {
  reason: 'MassDeactivation';
  message: string;
}

export interface ReconcilePlan {
  upserts: Upsert[];
  deactivations: Deactivation[];
  /** Apis, plans and users whose manifest was removed. */
  deletions: { key: ObjectKey; path: string }[];
  /** One entry per desired path (in input order), then one per removed object (in path order). */
  outcomes: PathOutcome[];
  /** Set when the plan must not be applied; the store stays as it is. */
  heldBack?: HeldBack;
}

/**
 * @param desired every manifest path of the commit (complete: a path not listed was removed), or
 *   with `options.scope`, every path of the scope that exists in the commit
 * @param actual every object the store holds
 */
export function plan(desired: readonly DesiredEntry[], actual: ReadonlyMap<ObjectKey, ActualEntry>, options: PlanOptions): ReconcilePlan {
  const upserts: Upsert[] = [];
  const deactivations: Deactivation[] = [];
  const deletions: { key: ObjectKey; path: string }[] = [];
  const outcomes: PathOutcome[] = [];

  // Who holds each client id now, so that a new manifest cannot take one from another application.
  const clientIdOwner = new Map<string, ObjectKey>();
  for (const [key, entry] of actual) {
    if (entry.clientId !== undefined) clientIdOwner.set(foldClientId(entry.clientId), key);
  }

  // Input order is kept (the reconciler passes the tree in path order): sorting every path of a
  // large repository on each commit would cost more than the rest of the plan.
  const seen = new Set<ObjectKey>();
  for (const entry of desired) {
    const key = objectKey(entry.kind, entry.name);
    seen.add(key);
    const current = actual.get(key);
    const problems = [...entry.problems, ...storeConflicts(entry, key, current, clientIdOwner, actual)];

    if (problems.length === 0 && entry.object !== undefined && entry.fingerprint !== undefined) {
      const changed = current?.fingerprint !== entry.fingerprint;
      if (changed) upserts.push({ key, path: entry.path, object: entry.object, fingerprint: entry.fingerprint });
      outcomes.push({ path: entry.path, key, outcome: { kind: 'applied', changed }, problems });
      continue;
    }

    // Invalid. Deactivating is always safe, so a manifest that asks for it gets it even when
    // something else in it is wrong: a broken field must not keep a retired client working.
    const requestsInactive = entry.object?.kind === 'Application' && entry.object.manifest.spec.state === 'inactive';
    const deactivate = requestsInactive && current?.state === 'active';
    if (deactivate) deactivations.push({ key, path: entry.path, reason: 'requested' });
    outcomes.push({
      path: entry.path,
      key,
      outcome: current === undefined ? { kind: 'absent' } : { kind: 'kept', commit: current.commit, deactivated: deactivate },
      problems,
    });
  }

  const scope = options.scope;
  const removed = [...actual]
    .filter(([key, entry]) => !seen.has(key) && (scope === undefined || scope.has(entry.path)))
    .sort(([, a], [, b]) => byPath(a, b));
  for (const [key, entry] of removed) {
    if (entry.kind === 'Application') {
      if (entry.state === 'active') deactivations.push({ key, path: entry.path, reason: 'removed' });
      outcomes.push({ path: entry.path, key, outcome: { kind: 'removed', deleted: false }, problems: [] });
    } else if (entry.kind === 'Settings') {
      // The server cannot run without settings: keep the last ones and say the file is missing.
      outcomes.push({
        path: entry.path,
        key,
        outcome: { kind: 'kept', commit: entry.commit, deactivated: false },
        problems: [{ path: entry.path, line: 1, column: 1, code: 'store.settings-removed', message: `${entry.path} was removed; the settings applied from commit ${entry.commit.slice(0, 12)} are kept` }],
      });
    } else {
      deletions.push({ key, path: entry.path });
      outcomes.push({ path: entry.path, key, outcome: { kind: 'removed', deleted: true }, problems: [] });
    }
  }

  upserts.sort(byPath);
  deactivations.sort(byPath);
  const result: ReconcilePlan = { upserts, deactivations, deletions, outcomes };
  const heldBack = options.allowMassDeactivation ? undefined : massDeactivation(result, actual);
  if (heldBack !== undefined) result.heldBack = heldBack;
  return result;
}

/**
 * Conflicts only the store can reveal, because they span commits: a client id is immutable, and
 * one another application already holds is never taken over (which would hand its tokens over).
 */
function storeConflicts(
  entry: DesiredEntry,
  key: ObjectKey,
  current: ActualEntry | undefined,
  clientIdOwner: ReadonlyMap<string, ObjectKey>,
  actual: ReadonlyMap<ObjectKey, ActualEntry>,
): ReconcileProblem[] {
  if (entry.object?.kind !== 'Application') return [];
  const { clientId } = entry.object.manifest.spec;
  const at = () => ({ path: entry.path, ...entry.object!.locate(['spec', 'clientId']) });
  if (current?.clientId !== undefined && current.clientId !== clientId) {
    return [{ ...at(), code: 'store.client-id-changed', message: `spec.clientId is immutable: it was ${current.clientId}` }];
  }
  const owner = clientIdOwner.get(foldClientId(clientId));
  if (owner !== undefined && owner !== key) {
    return [{ ...at(), code: 'store.client-id-taken', message: `spec.clientId ${clientId} already belongs to ${actual.get(owner)!.path}` }];
  }
  return [];
}

/**
 * A commit that would take more than half of the active applications out of service at once is
 * far more likely a mistake (a bad merge, a force push of the wrong branch) than a decision. A
 * single deactivation is what the lifecycle does every day and is never held back, even in a
 * repository with one application.
 */
function massDeactivation(result: ReconcilePlan, actual: ReadonlyMap<ObjectKey, ActualEntry>): HeldBack | undefined {
  const active = [...actual.values()].filter((e) => e.kind === 'Application' && e.state === 'active').length;
  const leaving = new Set<string>(result.deactivations.map((d) => d.path));
  for (const upsert of result.upserts) {
    if (upsert.object.kind !== 'Application') continue;
    const before = actual.get(upsert.key);
    if (before?.state === 'active' && upsert.object.manifest.spec.state === 'inactive') leaving.add(upsert.path);
  }
  if (leaving.size < 2 || leaving.size * 2 <= active) return undefined;
  const sample = [...leaving].sort().slice(0, 5).join(', ');
  return {
    reason: 'MassDeactivation',
    message:
      `this commit would deactivate ${leaving.size} of ${active} active applications (${sample}${leaving.size > 5 ? ', …' : ''}); ` +
      'it is held back: push a commit that restores them, or restart the server with --allow-mass-deactivation to apply it',
  };
}


function byPath(a: { path: string }, b: { path: string }): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}
