// The shared PostgreSQL as every PostgreSQL implementation of a store interface sees it (issue 13):
// one pool, and one way to run work on it. `run` is that way: whatever the work throws becomes a
// StoreError naming the server (never the password), and a failure to reach the server marks the
// database unavailable, which `unavailable()` reports from memory (the token endpoint asks before
// every grant, readiness asks on every probe). Nothing here retries a request's work: a request
// that needs shared state fails closed (503), and the next one tries afresh.
//
// Failing closed must not mean hanging, nor staying down:
// - bounded: the server cancels a statement after `STATEMENT_TIMEOUT_MS`, and `run` gives up
//   waiting after `RUN_TIMEOUT_MS` whatever the reason (a server stopped mid-connection, a network
//   partition that delivers nothing, a pool whose every connection is stuck), rejecting with
//   StoreError('store.unreachable');
// - known without a request, and recovering by itself: the client (porsager's `postgres`) opens a
//   new connection for the next query once the server is back, so any successful `run` clears the
//   mark. But a replica that receives no request would neither notice an outage (readiness would
//   say yes) nor, when requests ask `unavailable()` first, its end: so a probe (every `PROBE_MS`,
//   on an unref'd timer, not counted as a round trip) sets and clears the mark too. A server that
//   answers but takes no writes (read-only) is unavailable too: the probe asks.
//
// `roundTrips()` counts calls of `run`: each implementation makes one call one round trip (a
// statement, or a pipelined transaction), so the count is what `npm run bench:token` reports per
// token.
import { StoreError } from '../errors.ts';
import { openPool, parseStateUrl, postgresError, type PoolOptions, type Sql } from './connect.ts';
import { migrate, requireSchema, type MigrateResult } from './migrate.ts';

export interface SharedDb {
  readonly sql: Sql;
  /** The server, parsed; show it only through `redactUrl`. */
  readonly url: URL;
  /** Runs `work`; rejects with a StoreError, and marks the database unavailable when it could not be reached or let in. */
  run<T>(work: (sql: Sql) => Promise<T>): Promise<T>;
  /** Undefined while the last round trip reached the server; otherwise why it did not. */
  unavailable(): string | undefined;
  /** Calls `listener` when the database becomes unavailable (with why) or available again (undefined); returns the way to stop. */
  watch(listener: (problem: string | undefined) => void): () => void;
  /** Calls of `run` so far. */
  roundTrips(): number;
  close(): Promise<void>;
}

export interface SharedDbOptions {
  /** How often the database is probed (ms); `PROBE_MS` by default. */
  probeMs?: number;
  /** How long `run` waits for its work (ms); `RUN_TIMEOUT_MS` by default. */
  runTimeoutMs?: number;
}

/** How often the database is probed (ms): the longest an outage, or its end, goes unnoticed without requests. */
export const PROBE_MS = 1000;

/** The server cancels a statement that runs longer (ms): a lock held elsewhere, an overloaded server. */
export const STATEMENT_TIMEOUT_MS = 5000;

/**
 * `run` stops waiting after this (ms): past the statement timeout (the server's own answer comes
 * first when it can answer) and the connect timeout, below the request timeout (30 s).
 */
export const RUN_TIMEOUT_MS = 8000;

/** Seconds to wait for a new connection. */
export const CONNECT_TIMEOUT_S = 5;

/**
 * How long closing waits for what it would still tell the server (a NOTIFY, an UNLISTEN) before
 * it gives up (ms): a server frozen or partitioned away must not hold a stop past an
 * orchestrator's grace period.
 */
export const CLOSE_WAIT_MS = 2000;

/** Resolves once `work` settles (its outcome ignored), or after `ms`, whichever comes first. */
export async function settledWithin(work: Promise<unknown>, ms = CLOSE_WAIT_MS): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work.then(() => undefined, () => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/**
 * StoreError codes that make the database unavailable, rather than refuse one piece of work: it
 * cannot be reached, or (credentials rotated, a database dropped while serving) it no longer lets
 * this replica in. Each lasts until a round trip succeeds again.
 */
const UNAVAILABLE_CODES = new Set<StoreError['code']>(['store.unreachable', 'store.auth-refused', 'store.database-missing']);

/** Wraps an open pool. */
export function sharedDb(sql: Sql, url: URL, options: SharedDbOptions = {}): SharedDb {
  const probeMs = options.probeMs ?? PROBE_MS;
  const runTimeoutMs = options.runTimeoutMs ?? RUN_TIMEOUT_MS;
  let problem: string | undefined;
  let calls = 0;
  const listeners = new Set<(problem: string | undefined) => void>();

  // Watchers hear the transitions only: while down, the reason may change from one failure to the
  // next (a reset, then a refusal) without it being news.
  const set = (next: string | undefined) => {
    const changed = (next === undefined) !== (problem === undefined);
    problem = next;
    if (changed) for (const listener of listeners) listener(next);
  };

  /** Runs `work` within the bound; any outcome updates the mark. */
  async function attempt<T>(work: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${runTimeoutMs} ms`), { code: 'ETIMEDOUT' })), runTimeoutMs);
    });
    const working = (async () => work())();
    // Given up on, the work may still settle later: its outcome is nobody's any more.
    working.catch(() => undefined);
    try {
      const result = await Promise.race([working, late]);
      set(undefined);
      return result;
    } catch (error) {
      const storeError = postgresError(error, url);
      if (UNAVAILABLE_CODES.has(storeError.code)) set(storeError.message);
      throw storeError;
    } finally {
      clearTimeout(timer);
    }
  }

  // One probe at a time: a probe that waits for its bound does not pile others up behind it.
  // It asks whether the server takes writes: a read-only one (a standby after a failover) answers
  // `SELECT 1` but refuses every grant, and must not be reported ready.
  let probing = false;
  const probe = setInterval(() => {
    if (probing) return;
    probing = true;
    attempt(async () => {
      const [row] = await sql<{ read_only: string }[]>`SELECT current_setting('transaction_read_only') AS read_only`;
      if (row?.read_only === 'on') throw Object.assign(new Error('the server takes no writes (read-only: a standby, or default_transaction_read_only)'), { code: '25006' });
    })
      .catch(() => undefined)
      .finally(() => (probing = false));
  }, probeMs);
  probe.unref();

  return {
    sql,
    url,
    run(work) {
      calls += 1;
      return attempt(() => work(sql));
    },
    unavailable: () => problem,
    watch(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    roundTrips: () => calls,
    async close() {
      clearInterval(probe);
      await sql.end({ timeout: 5 });
    },
  };
}

/** The pool settings of a serving process: bounded waits (see above). */
export const SERVING_POOL: PoolOptions = { connectTimeout: CONNECT_TIMEOUT_S, statementTimeoutMs: STATEMENT_TIMEOUT_MS };

export interface ConnectOptions extends PoolOptions, SharedDbOptions {
  /** Migrate the schema first (`--migrate`), then report what was done. */
  migrate?: (result: MigrateResult) => void;
}

/**
 * Connects to `--state postgres://…` (migrating first when asked) and checks the schema is the one
 * this code serves, refusing a newer or an older one with StoreError. Throws StoreError; leaves no
 * pool open when it does.
 */
export async function connectSharedDb(state: string, options: ConnectOptions = {}): Promise<SharedDb> {
  const url = parseStateUrl(state);
  if (options.migrate !== undefined) {
    // A connection of its own, without the serving statement timeout: a migration may build an
    // index on a large table, or wait for another replica's migration to finish.
    const migrating = openPool(url, { max: 1, ...(options.connectTimeout === undefined ? {} : { connectTimeout: options.connectTimeout }) });
    try {
      options.migrate(await migrate(migrating));
    } catch (error) {
      throw postgresError(error, url);
    } finally {
      await migrating.end({ timeout: 5 }).catch(() => undefined);
    }
  }
  const sql = openPool(url, { ...SERVING_POOL, ...options });
  try {
    await requireSchema(sql);
  } catch (error) {
    await sql.end({ timeout: 1 }).catch(() => undefined);
    throw postgresError(error, url);
  }
  return sharedDb(sql, url, options);
}
