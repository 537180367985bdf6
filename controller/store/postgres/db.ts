// The shared PostgreSQL as every PostgreSQL implementation of a store interface sees it (issue 13):
// one pool, and one way to run work on it. `run` is that way: whatever the work throws becomes a
// StoreError naming the server (never the password), and a failure to reach the server marks the
// database unavailable, which `unavailable()` reports from memory (the token endpoint asks before
// every grant, readiness asks on every probe) until a later `run` succeeds again. Nothing here
// retries: a request that needs shared state fails closed (503), and the next one tries afresh.
//
// `roundTrips()` counts calls of `run`: each implementation makes one call one round trip (a
// statement, or a pipelined transaction), so the count is what `npm run bench:token` reports per
// token.
import { StoreError } from '../errors.ts';
import { openPool, parseStateUrl, postgresError, type PoolOptions, type Sql } from './connect.ts';
import { requireSchema } from './migrate.ts';

export interface SharedDb {
  readonly sql: Sql;
  /** The server, parsed; show it only through `redactUrl`. */
  readonly url: URL;
  /** Runs `work`; rejects with a StoreError, and marks the database unavailable when it could not be reached. */
  run<T>(work: (sql: Sql) => Promise<T>): Promise<T>;
  /** Undefined while the last round trip reached the server; otherwise why it did not. */
  unavailable(): string | undefined;
  /** Calls of `run` so far. */
  roundTrips(): number;
  close(): Promise<void>;
}

/** StoreError codes that mean the server could not be reached, rather than that it refused the work. */
const UNREACHABLE_CODES = new Set<StoreError['code']>(['store.unreachable']);

/** Wraps an open pool. */
export function sharedDb(sql: Sql, url: URL): SharedDb {
  let problem: string | undefined;
  let calls = 0;
  return {
    sql,
    url,
    async run(work) {
      calls += 1;
      try {
        const result = await work(sql);
        problem = undefined;
        return result;
      } catch (error) {
        const storeError = postgresError(error, url);
        if (UNREACHABLE_CODES.has(storeError.code)) problem = storeError.message;
        throw storeError;
      }
    },
    unavailable: () => problem,
    roundTrips: () => calls,
    close: () => sql.end({ timeout: 5 }),
  };
}

/**
 * Connects to `--state postgres://…` and checks the schema is the one this code serves (refusing
 * a newer or an older one with StoreError). Throws StoreError; leaves no pool open when it does.
 */
export async function connectSharedDb(state: string, options: PoolOptions = {}): Promise<SharedDb> {
  const url = parseStateUrl(state);
  const sql = openPool(url, options);
  try {
    await requireSchema(sql);
  } catch (error) {
    await sql.end({ timeout: 1 }).catch(() => undefined);
    throw postgresError(error, url);
  }
  return sharedDb(sql, url);
}
