// Whether the store can write now. A full file system (ENOSPC), a quota (EDQUOT), an LMDB map at
// its size limit (MDB_MAP_FULL) or an I/O error fails every commit until an operator frees space;
// none of them may take the process down. Each process tracks its own store:
//
// - writes go through `guard`, which turns a failed commit into StoreError('store.unwritable'),
//   which the OAuth server answers with 503 temporarily_unavailable and `Retry-After`, and marks
//   the store unwritable (readiness turns false, the token endpoint stops issuing);
// - while unwritable, a one-key probe write is tried every `PROBE_MS`; the first that commits (or
//   any other write that does) makes the store writable again, so service returns by itself.
//
// lmdb-js also rejects promises of its own that nobody can hold (the `commitError` of a failed
// commit, the flush of a `transactionSync`), which Node turns into a crash of the process. The
// handler `containWriteFailures` installs takes exactly those for a write failure of every open
// store and lets any other unhandled rejection crash the process as before.
import { StoreError } from './errors.ts';
import type { StoreHandles } from './handles.ts';

export interface StoreHealth {
  /** Undefined while the store writes; otherwise why it cannot (for readiness and logs). */
  problem(): string | undefined;
  /** Waits for a write; a failed commit marks the store unwritable and rejects with StoreError('store.unwritable'). */
  guard<T>(write: Promise<T>): Promise<T>;
  /** A commit failed elsewhere (an lmdb promise nobody held): the store is unwritable until a write commits. */
  failed(error: unknown): void;
  /** Calls `listener` with the problem whenever it changes (undefined: writable again); returns the way to stop. */
  watch(listener: (problem: string | undefined) => void): () => void;
}

/** How often an unwritable store tries a write again (ms). */
export const PROBE_MS = 1000;

/** The `Retry-After` (seconds) advised to clients while the store cannot write. */
export const RETRY_AFTER_SECONDS = 5;

// The probe's key sorts before every expiry the sweeper reads (sweeper.ts).
const PROBE_KEY = [0, 'probe'];

const healths = new WeakMap<StoreHandles, StoreHealth>();
const open = new Set<StoreHealth>();

/** The one health of this store in this process. */
export function storeHealth(store: StoreHandles): StoreHealth {
  let health = healths.get(store);
  if (health === undefined) {
    health = createHealth(store);
    healths.set(store, health);
    open.add(health);
    containWriteFailures();
  }
  return health;
}

/** Forgets a closed store (its probe stops). */
export function forgetStore(store: StoreHandles): void {
  const health = healths.get(store);
  if (health !== undefined) open.delete(health);
  healths.delete(store);
}

function createHealth(store: StoreHandles): StoreHealth {
  let problem: string | undefined;
  let probe: NodeJS.Timeout | undefined;
  const listeners = new Set<(problem: string | undefined) => void>();
  const set = (next: string | undefined) => {
    if (next === problem) return;
    problem = next;
    for (const listener of listeners) listener(next);
  };
  const recovered = () => {
    set(undefined);
    if (probe !== undefined) clearInterval(probe);
    probe = undefined;
  };
  const failed = (error: unknown) => {
    set(`the store cannot write: ${describe(error)}`);
    // The errno arrives a moment later, on the promise lmdb rejects too: name it once known.
    swallowCommitError(error, (errno) => {
      if (problem !== undefined) set(`the store cannot write: ${describe(errno)}`);
    });
    probe ??= setInterval(() => {
      let written: Promise<unknown>;
      try {
        written = store.root.transaction(() => store.expiries.put(PROBE_KEY, Date.now())).then(() => store.root.flushed);
      } catch {
        // The store was closed: nothing is left to recover.
        open.delete(health);
        return recovered();
      }
      written.then(recovered, (err: unknown) => {
        if (isWriteFailure(err)) failed(err);
      });
    }, PROBE_MS);
    probe.unref();
  };
  const health: StoreHealth = {
    problem: () => problem,
    failed,
    watch(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async guard(write) {
      try {
        const result = await write;
        if (problem !== undefined) recovered();
        return result;
      } catch (error) {
        if (!isWriteFailure(error)) throw error;
        const description = `the store cannot write: ${describe(error)}`;
        failed(error);
        throw new StoreError('store.unwritable', description, { cause: error });
      }
    },
  };
  return health;
}

/**
 * A write that resolves only once committed and flushed to disk (refresh rotations, revocations,
 * the keyring), through the store's health: a failed commit rejects with StoreError('store.unwritable').
 */
export function durableWrite(store: StoreHandles): <T>(transaction: () => T) => Promise<T> {
  const health = storeHealth(store);
  return (transaction) =>
    health.guard((async () => {
      const result = await store.root.transaction(transaction);
      await store.root.flushed;
      return result;
    })());
}

/** lmdb-js's failed commit: "Commit failed (see commitError for details)", or the write thread's own errno error. */
function isWriteFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if ('commitError' in error) return true;
  return /[\\/]lmdb[\\/]write\.js/.test(error.stack ?? '') && typeof (error as { code?: unknown }).code === 'number';
}

/** The commit failure's reason (its errno) is on a promise lmdb rejects too; take it so it is not unhandled. */
function swallowCommitError(error: unknown, reason: (errno: unknown) => void = () => {}): void {
  const inner = (error as { commitError?: Promise<unknown> } | undefined)?.commitError;
  if (inner !== undefined && typeof inner.then === 'function') inner.then(undefined, reason);
}

// errno values lmdb reports, by name, for the message: a full disk must read as one.
const ERRNO: Record<number, string> = { 5: 'EIO', 28: 'ENOSPC (no space left on device)', 122: 'EDQUOT', [-30792]: 'MDB_MAP_FULL' };

function describe(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'number' && ERRNO[code] !== undefined) return ERRNO[code]!;
  if ('commitError' in (error as object)) return 'a commit failed (the disk may be full)';
  return error instanceof Error ? error.message : String(error);
}

let contained = false;

function containWriteFailures(): void {
  if (contained) return;
  contained = true;
  process.on('unhandledRejection', (reason) => {
    if (!isWriteFailure(reason)) throw reason;
    for (const health of open) health.failed(reason);
  });
}
