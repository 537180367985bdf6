// The setup every test file of the PostgreSQL stores repeats, once: a throwaway cluster for the
// file (./postgres.ts), a fresh migrated database per test, pools on it as replicas would open
// them, a replica's own LMDB beside them, and cleanups run after each test, newest first. Call `sharedDatabases()` at the top level
// of a test file: it registers the vitest hooks.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { openHandles, type StoreHandles } from '../../controller/store/handles.ts';
import { openPool, parseStateUrl } from '../../controller/store/postgres/connect.ts';
import { connectSharedDb, sharedDb, type SharedDb } from '../../controller/store/postgres/db.ts';
import { migrate } from '../../controller/store/postgres/migrate.ts';
import { startPostgres, type PostgresCluster } from './postgres.ts';

export interface FreshDatabase {
  /** Its postgres:// URL (the superuser's, over TCP) and its name, for `cluster.psql(sql, name)`. */
  readonly url: string;
  readonly name: string;
  /** When its migration ran: ms since the epoch just before it began and just after it ended. */
  readonly migratedBetween: [number, number];
  /** One more pool on it (sharedDb over a plain pool), closed after the test. */
  connect(): SharedDb;
  /** `pools` SharedDbs as replicas open them (connectSharedDb: the serving pool, the schema checked), closed after the test. */
  replicas(pools?: number): Promise<SharedDb[]>;
}

export interface SharedDatabases {
  /** The file's cluster (set once beforeAll has run). */
  readonly cluster: PostgresCluster;
  /** Runs `cleanup` after the current test, before those registered earlier. */
  onCleanup(cleanup: () => Promise<unknown> | unknown): void;
  /** A new database of the file's cluster, migrated. */
  freshDatabase(): Promise<FreshDatabase>;
  /** A replica's own LMDB store in a temporary directory, closed and removed after the test. */
  lmdbStore(): StoreHandles;
}

export function sharedDatabases(): SharedDatabases {
  let cluster: PostgresCluster | undefined;
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  beforeAll(async () => {
    cluster = await startPostgres();
  });
  afterAll(() => cluster?.stop());
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  const started = (): PostgresCluster => {
    if (cluster === undefined) throw new Error('sharedDatabases(): the cluster starts in beforeAll; use it inside a test');
    return cluster;
  };
  const onCleanup = (cleanup: () => Promise<unknown> | unknown) => {
    cleanups.push(cleanup);
  };

  return {
    get cluster() {
      return started();
    },
    onCleanup,
    lmdbStore() {
      const dir = mkdtempSync(join(tmpdir(), 'mergekey-replica-'));
      const store = openHandles(dir);
      onCleanup(async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      });
      return store;
    },
    async freshDatabase() {
      const url = await started().createDatabase();
      const before = Date.now();
      const setup = openPool(parseStateUrl(url));
      try {
        await migrate(setup);
      } finally {
        await setup.end();
      }
      const after = Date.now();
      return {
        url,
        name: new URL(url).pathname.slice(1),
        migratedBetween: [before, after],
        connect() {
          const db = sharedDb(openPool(parseStateUrl(url)), parseStateUrl(url));
          onCleanup(() => db.close());
          return db;
        },
        async replicas(pools = 1) {
          const dbs = await Promise.all(Array.from({ length: pools }, () => connectSharedDb(url)));
          onCleanup(() => Promise.all(dbs.map((db) => db.close())));
          return dbs;
        },
      };
    },
  };
}
