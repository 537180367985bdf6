// Deletes expired token state, so that the store stops growing at any sustained issuance rate.
//
// Every record that expires is written with an entry in the `expiries` db, in the same
// transaction: `[exp, db code, key]`. Keys sort by expiry, so everything expired by now is one
// contiguous prefix of that db, and sweeping is reading that prefix from its start: no record
// that is still alive is ever read, and no cursor has to be kept (a restarted sweeper resumes
// where the last committed batch left off, because deleted entries are simply gone). Each batch
// is its own small write transaction, and the sweeper yields to the event loop between batches,
// so the token endpoint's own writes are never held behind a long one. LMDB reuses the pages the
// deletions free, so the data file stops growing once deletion keeps pace with issuance (it never
// shrinks: `mdb_copy -c` compacts a copy offline).
//
// An entry is a hint, not the truth: the sweeper deletes the record only if the record itself
// says it has expired. A family's expiry moves later with each rotation (a new entry is written
// then), an assertion id is reused once expired, a revoked token's record is already gone.
//
// One process sweeps: the one holding the data directory's lock (the primary of `--workers N`,
// or the single process), started from server/start.ts. Workers never do.
import type { Database } from 'lmdb';
import { storeHealth, type StoreHealth } from './health.ts';
import type { ExpiryKey, StoreHandles } from './handles.ts';
import { SweepLoop } from './sweep-loop.ts';

/** The databases whose records expire, by the code their expiry entries carry. */
export const EXPIRY_DB = { tokens: 't', refreshTokens: 'r', jtis: 'j', revocations: 'v', authorizationCodes: 'c' } as const;
export type ExpiringDb = keyof typeof EXPIRY_DB;
const DB_OF_CODE = new Map(Object.entries(EXPIRY_DB).map(([db, code]) => [code as string, db as ExpiringDb]));

/**
 * The expiry entry of `key` in `db`. Whole seconds, rounded up, so a record is never swept
 * before its expiry; at least 1, because exp 0 holds the sweeper's own markers.
 */
export function expiryKey(db: ExpiringDb, key: string, exp: number): ExpiryKey {
  return [Math.max(1, Math.ceil(exp)), EXPIRY_DB[db], key];
}

// Markers at exp 0, before every real expiry: the legacy records have been indexed.
const INDEXED = [0, 'indexed'];

/** The expiry the record says it has, in seconds; Infinity when it never expires. */
function recordExpiry(db: ExpiringDb, key: string, value: unknown): number {
  switch (db) {
    case 'tokens':
    case 'refreshTokens':
      return (value as { exp: number }).exp;
    case 'jtis':
      return value as number;
    case 'authorizationCodes':
      return (value as { keepUntil: number }).keepUntil;
    case 'revocations':
      // Access token tombstones expire with the token; deactivation marks (`app/…`, one per
      // application) and user marks (`user/…`, one per user name) are kept.
      return key.startsWith('at/') ? (value as number) : Infinity;
  }
}

export interface SweeperOptions {
  /** ms since the epoch; tests inject it. */
  now?: () => number;
  /** Expiry entries per write transaction. */
  batch?: number;
  /** Rest between sweeps once nothing expired is left (ms). */
  idleMs?: number;
  /** Called after each batch with what it deleted, by db. */
  onSwept?: (db: ExpiringDb, count: number) => void;
  onError?: (error: unknown) => void;
}

export interface SweepStats {
  /** Seconds since the oldest expiry entry not yet swept expired; 0 when none is due. */
  oldestExpiredAge(): number;
  /** Expiry entries due and not yet swept, counted up to `BACKLOG_COUNT_LIMIT`. */
  backlog(): number;
}

/** Counting the backlog reads its keys: a scrape reads no more than this many. */
export const BACKLOG_COUNT_LIMIT = 100_000;

export const SWEEP_BATCH = 1000;
export const SWEEP_IDLE_MS = 1000;

export class Sweeper implements SweepStats {
  readonly #store: StoreHandles;
  readonly #expiries: Database<number, ExpiryKey>;
  readonly #health: StoreHealth;
  readonly #now: () => number;
  readonly #batch: number;
  readonly #onSwept: (db: ExpiringDb, count: number) => void;
  // A full disk fails a batch whole; the loop reports it and the next round tries again.
  readonly #loop: SweepLoop;

  constructor(store: StoreHandles, options: SweeperOptions = {}) {
    this.#store = store;
    this.#expiries = store.expiries;
    this.#health = storeHealth(store);
    this.#now = options.now ?? Date.now;
    this.#batch = options.batch ?? SWEEP_BATCH;
    this.#onSwept = options.onSwept ?? (() => {});
    this.#loop = new SweepLoop(async () => { await this.sweep(this.#now() / 1000); }, options.idleMs ?? SWEEP_IDLE_MS, options.onError ?? (() => {}));
  }

  /** Sweeps in the background until `stop`. */
  start(): void {
    this.#loop.start();
  }

  /** Stops after the batch in flight (its transaction commits or fails whole). */
  async stop(): Promise<void> {
    await this.#loop.stop();
  }

  /** Deletes everything expired at `now` (seconds), batch by batch. Resolves with how many records it deleted. */
  async sweep(now: number): Promise<number> {
    await this.indexLegacyRecords();
    let deleted = 0;
    for (;;) {
      const { entries, records } = await this.#sweepBatch(now);
      deleted += records;
      if (entries < this.#batch || this.#loop.stopped) return deleted;
      // Let requests run between two batches.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  oldestExpiredAge(): number {
    const now = this.#now() / 1000;
    for (const key of this.#expiries.getKeys({ start: [1], limit: 1 })) {
      const exp = key[0] as number;
      return exp <= now ? Math.floor(now - exp) : 0;
    }
    return 0;
  }

  backlog(): number {
    let count = 0;
    for (const _ of this.#expiries.getKeys({ start: [1], end: [Math.floor(this.#now() / 1000) + 1], limit: BACKLOG_COUNT_LIMIT })) count++;
    return count;
  }

  /**
   * Gives an expiry entry to every record written before the store had them (a store from an
   * earlier release), once: the marker says it is done. Batched like sweeping; a restart in the
   * middle starts over, which only rewrites the same entries.
   */
  async indexLegacyRecords(): Promise<void> {
    if (this.#expiries.get(INDEXED) !== undefined) return;
    for (const db of Object.keys(EXPIRY_DB) as ExpiringDb[]) {
      const source = this.#store[db];
      let start: string | undefined;
      for (;;) {
        const page = [...source.getRange({ ...(start === undefined ? {} : { start }), limit: this.#batch })];
        if (page.length === 0) break;
        await this.#health.guard(this.#store.root.transaction(() => {
          for (const { key, value } of page) {
            const exp = recordExpiry(db, key, value);
            if (Number.isFinite(exp)) this.#expiries.put(expiryKey(db, key, exp), 0);
          }
        }));
        if (page.length < this.#batch) break;
        start = `${page[page.length - 1]!.key}\u0000`;
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    await this.#health.guard(this.#store.root.transaction(() => this.#expiries.put(INDEXED, 0)));
  }

  async #sweepBatch(now: number): Promise<{ entries: number; records: number }> {
    // `[now + 1]` sorts after every `[now, …]` entry: the range is exactly the entries due.
    const due = [...this.#expiries.getKeys({ start: [1], end: [Math.floor(now) + 1], limit: this.#batch })];
    if (due.length === 0) return { entries: 0, records: 0 };
    const counts = new Map<ExpiringDb, number>();
    await this.#health.guard(this.#store.root.transaction(() => {
      for (const entry of due) {
        this.#expiries.remove(entry);
        const db = DB_OF_CODE.get(entry[1] as string);
        if (db === undefined) continue;
        const key = entry[2] as string;
        const value = this.#store[db].get(key);
        if (value === undefined || recordExpiry(db, key, value) > now) continue;
        this.#store[db].remove(key);
        counts.set(db, (counts.get(db) ?? 0) + 1);
      }
    }));
    let records = 0;
    for (const [db, count] of counts) {
      records += count;
      this.#onSwept(db, count);
    }
    return { entries: due.length, records };
  }
}
