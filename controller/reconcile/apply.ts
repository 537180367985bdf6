// Carries a plan out. Every write of a reconcile — records, the client-id index, the inventory,
// object conditions and the applied commit id — happens in ONE synchronous transaction
// (`SyncState.applyCommit`): a crash (SIGKILL, power loss) leaves the store at the previous commit
// or at this one, never between. Nothing asynchronous runs inside it; secrets were opened and
// hashed before. Where each of these lives in the store is store/sync-state.ts's business.
//
// With several replicas (`--state postgres://…`) the cut-offs come from the shared database, which
// the reconciler asks before the transaction (`commitCutOffs` says which this commit produces) and
// which the transaction then writes with the configuration (`settled`).
import { apiCutOffs, applicationCutOffs, userCutOffs, type ConfigReader, type ConfigWriter, type DeletableKind } from '../store/config.ts';
import type { AppliedCommit, SyncState } from '../store/sync-state.ts';
import type { CutOffTargets, SettledCutOffs } from '../store/token-state.ts';
import type { ActualEntry, ObjectKey, ObjectStatus } from '../store/sync-records.ts';
import type { ReconcilePlan } from './plan.ts';
import type { StoreRecord } from './records.ts';

export interface ApplyInput {
  applied: AppliedCommit;
  plan: ReconcilePlan;
  /** A record for every upsert of the plan. */
  records: ReadonlyMap<ObjectKey, StoreRecord>;
  inventory: ReadonlyMap<ObjectKey, ActualEntry>;
  /** Object statuses that changed (put) or whose path is gone (remove). */
  statuses: { put: ObjectStatus[]; remove: string[] };
  /** The cut-offs the shared database settled for this commit; absent with `--state lmdb`. */
  settled?: SettledCutOffs;
}

/** Applies the plan and returns the inventory as it now is. Throws (and writes nothing) on failure. */
export function applyPlan(state: SyncState, input: ApplyInput): Map<ObjectKey, ActualEntry> {
  const inventory = new Map(input.inventory);
  const commit = input.applied.commit;
  // If anything throws in here (a client id the plan missed, a full disk), every write is aborted.
  state.applyCommit(({ config: writer, sync }) => {
    for (const upsert of input.plan.upserts) {
      const stored = input.records.get(upsert.key);
      if (stored === undefined) throw new Error(`no record prepared for ${upsert.key}`);
      const entry: ActualEntry = { kind: upsert.object.kind, name: upsert.object.name, path: upsert.path, fingerprint: upsert.fingerprint, commit };
      putRecord(writer, stored);
      if (stored.kind === 'Application') {
        entry.state = stored.record.spec.state;
        entry.clientId = stored.record.spec.clientId;
      }
      inventory.set(upsert.key, entry);
      sync.putInventory(upsert.key, entry);
    }
    for (const deactivation of input.plan.deactivations) {
      const name = deactivation.key.slice('Application/'.length);
      const before = inventory.get(deactivation.key);
      if (before === undefined || !writer.deactivateApplication(name, commit)) continue;
      // The record no longer matches any manifest version: a later commit that restores the same
      // manifest must be written again, so the fingerprint cannot stay equal to it.
      const entry: ActualEntry = { ...before, state: 'inactive', commit, fingerprint: `deactivated:${before.fingerprint}` };
      inventory.set(deactivation.key, entry);
      sync.putInventory(deactivation.key, entry);
    }
    for (const deletion of input.plan.deletions) {
      const [kind, name] = splitKey(deletion.key);
      writer.delete(kind as DeletableKind, name);
      inventory.delete(deletion.key);
      sync.removeInventory(deletion.key);
    }
    for (const status of input.statuses.put) sync.putObjectStatus(status);
    for (const path of input.statuses.remove) sync.removeObjectStatus(path);
    sync.setApplied(input.applied);
  }, input.settled);
  return inventory;
}

/**
 * The cut-offs `applyPlan` makes the configuration writer produce, read from the records `config`
 * serves before it (the same rules, store/config.ts): the deactivations, removed or re-passworded
 * users and withdrawn audiences and scopes of this commit.
 */
export function commitCutOffs(config: ConfigReader, input: Pick<ApplyInput, 'plan' | 'records' | 'inventory'>): CutOffTargets {
  const found: (CutOffTargets | undefined)[] = [];
  for (const upsert of input.plan.upserts) {
    const stored = input.records.get(upsert.key);
    if (stored?.kind === 'Application') found.push(applicationCutOffs(config.application(stored.record.name), stored.record));
    if (stored?.kind === 'Api') found.push(apiCutOffs(config.api(stored.record.name), stored.record));
    if (stored?.kind === 'User') found.push(userCutOffs(config.user(stored.record.name), stored.record));
  }
  for (const deactivation of input.plan.deactivations) {
    const record = config.application(deactivation.key.slice('Application/'.length));
    if (record === undefined || !input.inventory.has(deactivation.key)) continue;
    found.push(applicationCutOffs(record, { ...record, spec: { ...record.spec, state: 'inactive' } }));
  }
  for (const deletion of input.plan.deletions) {
    const [kind, name] = splitKey(deletion.key);
    if (kind === 'User') found.push(userCutOffs(config.user(name), undefined));
    if (kind === 'Api') found.push(apiCutOffs(config.api(name), undefined));
  }
  const all = found.filter((targets) => targets !== undefined);
  return {
    applications: all.flatMap((targets) => targets.applications ?? []),
    users: all.flatMap((targets) => targets.users ?? []),
    audiences: all.flatMap((targets) => targets.audiences ?? []),
    scopes: all.flatMap((targets) => targets.scopes ?? []),
  };
}

function putRecord(writer: ConfigWriter, stored: StoreRecord): void {
  switch (stored.kind) {
    case 'Application':
      return writer.putApplication(stored.record);
    case 'Api':
      return writer.putApi(stored.record);
    case 'Plan':
      return writer.putPlan(stored.record);
    case 'User':
      return writer.putUser(stored.record);
    case 'Settings':
      return writer.putSettings(stored.record);
  }
}

function splitKey(key: ObjectKey): [string, string] {
  const slash = key.indexOf('/');
  return [key.slice(0, slash), key.slice(slash + 1)];
}
