// The reconciler's own state in the store: what it applied, from where, and how each manifest
// path fared. Configuration and this bookkeeping are written in ONE synchronous LMDB transaction
// (`applyCommit`): a crash (SIGKILL, power loss) leaves the store at the previous commit or at the
// next one, never between. It stays in each replica's own LMDB on any backend (issue 13: every
// replica follows git itself), so it is synchronous.
//
// Layout of the `sync` database:
//   reconcile/applied               AppliedCommit  the commit the store reflects
//   reconcile/inventory/<Kind/name> ActualEntry    what each record was applied from
//   reconcile/object/<path>         ObjectStatus   conditions of each manifest path (a path too
//                                                  long for an LMDB key: `#` and its SHA-256)
//   reconcile/run                   RunStatus      the last attempt (written in a `finally`)
// and, in the `meta` database, the record of a rebuild from git (check.ts).
//
// The values' types are declared in sync-records.ts: what the store keeps, which the reconciler
// fills in; the store keeps them as given and runs no reconcile code.
import { createHash } from 'node:crypto';
import { readStoreRebuild, type StoreRebuild } from './check.ts';
import { configWriter, type ConfigWriter } from './config.ts';
import type { StoreHandles } from './handles.ts';
import { cutOffs, writeSettledCutOffs, type SettledCutOffs } from './token-state.ts';
import type { ActualEntry, ObjectKey, ObjectStatus, RunStatus } from './sync-records.ts';

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

/** The sync-state writes of one commit, inside `applyCommit`'s transaction. */
export interface SyncWriter {
  putInventory(key: ObjectKey, entry: ActualEntry): void;
  removeInventory(key: ObjectKey): void;
  putObjectStatus(status: ObjectStatus): void;
  removeObjectStatus(path: string): void;
  setApplied(applied: AppliedCommit): void;
}

export interface SyncState {
  /** Everything the reconciler kept, as a process starting over reads it. */
  load(): PersistedSyncState;
  /** The applied commit alone: what readiness and the keys' creation look at. */
  appliedCommit(): AppliedCommit | undefined;
  /** The store's cut-off generation: where the shared database's cut-offs take it from (store/config-head.ts). */
  cutOffGeneration(): number;
  /** The store's rebuild from git, if it was ever rebuilt: the status reports it. */
  storeRebuild(): StoreRebuild | undefined;
  /** Records the last attempt, whatever happened (from the reconciler's `finally`). */
  writeRun(run: RunStatus): void;
  /**
   * Runs `write` in one synchronous transaction: the configuration it writes and the sync state it
   * writes land together or not at all. If `write` throws, every write made in it is aborted and
   * the error is thrown here.
   *
   * With `shared` (`--state postgres://…`), the cut-offs are those the shared database settled for
   * the commit (store/config-head.ts), written in the same transaction, and the configuration
   * writer writes none of its own: every replica's tokens then carry generations of one counter.
   */
  applyCommit<T>(write: (writers: { config: ConfigWriter; sync: SyncWriter }) => T, shared?: SettledCutOffs): T;
}

export function syncState(store: StoreHandles): SyncState {
  const { root, sync } = store;
  // Inside the transaction `applyCommit` opens: lmdb-js's `*Sync` writes join it.
  const writer: SyncWriter = {
    putInventory: (key, entry) => void sync.putSync(INVENTORY + key, entry),
    removeInventory: (key) => void sync.removeSync(INVENTORY + key),
    putObjectStatus: (status) => void sync.putSync(objectStatusKey(status.path), status),
    removeObjectStatus: (path) => void sync.removeSync(objectStatusKey(path)),
    setApplied: (applied) => void sync.putSync(APPLIED, applied),
  };
  const config = configWriter(store);
  const { generation } = cutOffs(store);
  const sharedConfig = configWriter(store, Date.now, { cutOffs: 'shared' });
  return {
    load() {
      const inventory = new Map<ObjectKey, ActualEntry>();
      for (const { key, value } of sync.getRange({ start: INVENTORY, end: `${INVENTORY}\uffff` })) {
        inventory.set(key.slice(INVENTORY.length) as ObjectKey, value as ActualEntry);
      }
      const objects = new Map<string, ObjectStatus>();
      for (const { value } of sync.getRange({ start: OBJECT, end: `${OBJECT}\uffff` })) {
        objects.set((value as ObjectStatus).path, value as ObjectStatus);
      }
      const applied = sync.get(APPLIED) as AppliedCommit | undefined;
      const run = sync.get(RUN) as RunStatus | undefined;
      return { inventory, objects, ...(applied === undefined ? {} : { applied }), ...(run === undefined ? {} : { run }) };
    },
    appliedCommit: () => sync.get(APPLIED) as AppliedCommit | undefined,
    cutOffGeneration: () => generation(),
    storeRebuild: () => readStoreRebuild(store),
    writeRun: (run) => void sync.putSync(RUN, run),
    // Use `transactionSync`: when its callback throws, LMDB aborts every write made in it. (lmdb-js
    // 3's asynchronous `transaction()` does not settle when its callback throws.)
    applyCommit: (write, shared) =>
      root.transactionSync(() => {
        if (shared === undefined) return write({ config, sync: writer });
        writeSettledCutOffs(store, shared);
        return write({ config: sharedConfig, sync: writer });
      }),
  };
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
