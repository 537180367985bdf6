// Carries a plan out. Every write of a reconcile — records, the client-id index, the inventory,
// object conditions and the applied commit id — happens in ONE synchronous LMDB transaction: a
// crash (SIGKILL, power loss) leaves the store at the previous commit or at this one, never
// between. Nothing asynchronous runs inside it; secrets were opened and hashed before.
//
// Layout of the `sync` database (owned by the reconciler):
//   reconcile/applied              { commit, at, rewrittenFrom? } the commit the store reflects
//   reconcile/inventory/<Kind/name> ActualEntry             what each record was applied from
//   reconcile/object/<path>        ObjectStatus             conditions of each manifest path (a path too
//                                                           long for an LMDB key: `#` and its SHA-256)
//   reconcile/run                  RunStatus                the last attempt (written in a `finally`)
import { createHash } from 'node:crypto';
import { configWriter, type ConfigWriter, type DeletableKind } from '../store/config.ts';
import type { Store } from '../store/open.ts';
import type { ObjectStatus } from './conditions.ts';
import type { ActualEntry, ObjectKey, ReconcilePlan } from './plan.ts';
import type { StoreRecord } from './records.ts';
import type { RunStatus } from './failures.ts';

const APPLIED = 'reconcile/applied';
const RUN = 'reconcile/run';
const INVENTORY = 'reconcile/inventory/';
const OBJECT = 'reconcile/object/';

export interface AppliedCommit {
  commit: string;
  /** RFC 3339. */
  at: string;
  /** Set when this commit replaced a rewritten history, as an operator accepted: the commit it replaced. */
  rewrittenFrom?: string;
}

export interface PersistedSyncState {
  applied?: AppliedCommit;
  inventory: Map<ObjectKey, ActualEntry>;
  objects: Map<string, ObjectStatus>;
  run?: RunStatus;
}

export function loadSyncState(store: Store): PersistedSyncState {
  const inventory = new Map<ObjectKey, ActualEntry>();
  for (const { key, value } of store.sync.getRange({ start: INVENTORY, end: `${INVENTORY}\uffff` })) {
    inventory.set(key.slice(INVENTORY.length) as ObjectKey, value as ActualEntry);
  }
  const objects = new Map<string, ObjectStatus>();
  for (const { value } of store.sync.getRange({ start: OBJECT, end: `${OBJECT}\uffff` })) {
    objects.set((value as ObjectStatus).path, value as ObjectStatus);
  }
  const applied = store.sync.get(APPLIED) as AppliedCommit | undefined;
  const run = store.sync.get(RUN) as RunStatus | undefined;
  return { inventory, objects, ...(applied === undefined ? {} : { applied }), ...(run === undefined ? {} : { run }) };
}

/** The applied commit alone: what the token server and the crash test look at. */
export function readAppliedCommit(store: Store): AppliedCommit | undefined {
  return store.sync.get(APPLIED) as AppliedCommit | undefined;
}

export interface ApplyInput {
  applied: AppliedCommit;
  plan: ReconcilePlan;
  /** A record for every upsert of the plan. */
  records: ReadonlyMap<ObjectKey, StoreRecord>;
  inventory: ReadonlyMap<ObjectKey, ActualEntry>;
  /** Object statuses that changed (put) or whose path is gone (remove). */
  statuses: { put: ObjectStatus[]; remove: string[] };
}

/** Applies the plan and returns the inventory as it now is. Throws (and writes nothing) on failure. */
export function applyPlan(store: Store, input: ApplyInput): Map<ObjectKey, ActualEntry> {
  const inventory = new Map(input.inventory);
  const commit = input.applied.commit;
  const writer = configWriter(store);
  // If anything throws in here (a client id the plan missed, a full disk), LMDB aborts every write.
  store.root.transactionSync(() => {
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
      store.sync.putSync(INVENTORY + upsert.key, entry);
    }
    for (const deactivation of input.plan.deactivations) {
      const name = deactivation.key.slice('Application/'.length);
      const before = inventory.get(deactivation.key);
      if (before === undefined || !writer.deactivateApplication(name, commit)) continue;
      // The record no longer matches any manifest version: a later commit that restores the same
      // manifest must be written again, so the fingerprint cannot stay equal to it.
      const entry: ActualEntry = { ...before, state: 'inactive', commit, fingerprint: `deactivated:${before.fingerprint}` };
      inventory.set(deactivation.key, entry);
      store.sync.putSync(INVENTORY + deactivation.key, entry);
    }
    for (const deletion of input.plan.deletions) {
      const [kind, name] = splitKey(deletion.key);
      writer.delete(kind as DeletableKind, name);
      inventory.delete(deletion.key);
      store.sync.removeSync(INVENTORY + deletion.key);
    }
    for (const status of input.statuses.put) store.sync.putSync(objectStatusKey(status.path), status);
    for (const path of input.statuses.remove) store.sync.removeSync(objectStatusKey(path));
    store.sync.putSync(APPLIED, input.applied);
  });
  return inventory;
}

/**
 * LMDB refuses keys over 1978 bytes, and a manifest path can be longer (a deeply nested misplaced
 * file): one such path must not fail every reconcile. A long path is keyed by its hash instead; the
 * status itself carries the path.
 */
function objectStatusKey(path: string): string {
  const key = OBJECT + path;
  return Buffer.byteLength(key) <= 512 ? key : `${OBJECT}#${createHash('sha256').update(path).digest('base64url')}`;
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

/** The last attempt, written whatever happened (from the reconciler's `finally`). */
export function writeRunStatus(store: Store, run: RunStatus): void {
  store.sync.putSync(RUN, run);
}
