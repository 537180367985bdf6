// The shared database's failure modes against a real server (test/support/postgres.ts): a stopped
// server makes `run` reject with StoreError('store.unreachable') and marks the database
// unavailable; the probe notices an outage and its end without any request; a server that accepts
// a connection and never answers (a network partition) ends `run` within its bound instead of
// hanging; and connecting refuses, naming the server without its password, a wrong password, an
// unreachable server and a schema newer than the code.
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresCluster } from '../../../test/support/postgres.ts';
import { StoreError } from '../errors.ts';
import { openPool, parseStateUrl, redactUrl } from './connect.ts';
import { connectSharedDb, sharedDb, type SharedDb } from './db.ts';
import { knownMigrations, migrate } from './migrate.ts';

let cluster: PostgresCluster;

beforeAll(async () => {
  cluster = await startPostgres();
});
afterAll(() => cluster?.stop());

/** A migrated database of its own. */
async function migratedDatabase(): Promise<string> {
  const url = await cluster.createDatabase();
  const sql = openPool(parseStateUrl(url), { max: 1 });
  await migrate(sql);
  await sql.end();
  return url;
}

/** Resolves with the first problem (or recovery) `db` reports. */
function nextChange(db: SharedDb): Promise<string | undefined> {
  return new Promise((resolve) => {
    const stop = db.watch((problem) => {
      stop();
      resolve(problem);
    });
  });
}

/** What `promise` rejected with. */
async function rejection(promise: Promise<unknown>): Promise<StoreError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof StoreError) return error;
    throw error;
  }
  throw new Error('it did not reject');
}

describe('the shared database through an outage', () => {
  it('refuses work while the server is stopped, notices it without a request, and recovers by itself', { timeout: 60_000 }, async () => {
    const db = await connectSharedDb(await migratedDatabase(), { probeMs: 50 });
    try {
      expect(await db.run((sql) => sql`SELECT 1 AS one`)).toEqual([{ one: 1 }]);
      expect(db.unavailable()).toBeUndefined();

      const down = nextChange(db);
      await cluster.stopServer();
      // The probe sees the outage although nothing asked.
      expect(await down).toMatch(new RegExp(`^cannot reach PostgreSQL at 127\\.0\\.0\\.1:${cluster.port}: `));
      const refused = await rejection(db.run((sql) => sql`SELECT 1`));
      expect(refused.code).toBe('store.unreachable');
      expect(refused.message).not.toContain(cluster.password);
      // The probe may have met the outage since, with its own words for it.
      expect(db.unavailable()).toMatch(new RegExp(`^cannot reach PostgreSQL at 127\\.0\\.0\\.1:${cluster.port}: `));

      const up = nextChange(db);
      await cluster.startServer();
      // The same pool, no new one: the probe's query reconnects and clears the mark.
      expect(await up).toBeUndefined();
      expect(db.unavailable()).toBeUndefined();
      expect(await db.run((sql) => sql`SELECT 2 AS two`)).toEqual([{ two: 2 }]);
    } finally {
      await db.close();
    }
  });
});

describe('credentials rotated while serving', () => {
  it('marks the database unavailable while the server refuses them, and recovers once it takes them again', { timeout: 60_000 }, async () => {
    const url = await migratedDatabase();
    const name = new URL(url).pathname.slice(1);
    const db = await connectSharedDb(url, { probeMs: 50 });
    const restore = `ALTER ROLE postgres PASSWORD '${cluster.password}'`;
    try {
      await cluster.psql("ALTER ROLE postgres PASSWORD 'rotated-elsewhere'");
      // Connections open before the rotation would go on working: end them, as a restart would.
      await cluster.psql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${name}'`);
      // The first round trips meet the ended connections (unreachable); the next ones, new
      // connections, are refused.
      let refused = await rejection(db.run((sql) => sql`SELECT 1`));
      for (let tries = 0; refused.code === 'store.unreachable' && tries < 10; tries++) refused = await rejection(db.run((sql) => sql`SELECT 1`));
      expect(refused.code).toBe('store.auth-refused');
      expect(refused.message).not.toContain('rotated-elsewhere');
      expect(db.unavailable()).toBeDefined();

      const up = nextChange(db);
      await cluster.psql(restore);
      expect(await up).toBeUndefined();
      expect(await db.run((sql) => sql`SELECT 3 AS three`)).toEqual([{ three: 3 }]);
    } finally {
      await cluster.psql(restore);
      await db.close();
    }
  });

  it('takes a server that accepts no writes (a standby after a failover) as unavailable: the write, and the probe alone, until it takes them again', { timeout: 20_000 }, async () => {
    const url = await migratedDatabase();
    const name = new URL(url).pathname.slice(1);
    const db = await connectSharedDb(url, { probeMs: 50 });
    const endConnections = () => cluster.psql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${name}' AND pid <> pg_backend_pid()`);
    const write = () => db.run((sql) => sql`INSERT INTO used_assertion_ids (app, jti, exp) VALUES ('billing', ${`jti-${Math.random()}`}, 1)`);
    try {
      await cluster.psql(`ALTER DATABASE "${name}" SET default_transaction_read_only = on`);
      await endConnections();
      // Reads go on: once the pool's new connections answer them, only the probe can tell.
      for (let tries = 0; tries < 50; tries++) {
        const read = await db.run((sql) => sql`SELECT 1 AS one`).then(() => true, () => false);
        if (read && db.unavailable() === undefined) break;
      }
      expect(db.unavailable()).toBeUndefined();
      const down = nextChange(db);
      expect(await down).toMatch(/read-only/);

      const refused = await rejection(write());
      expect([refused.code, refused.message]).toEqual(['store.unreachable', expect.stringMatching(/read-only/)]);

      const up = nextChange(db);
      await cluster.psql(`ALTER DATABASE "${name}" RESET default_transaction_read_only`);
      await endConnections();
      expect(await up).toBeUndefined();
      await write();
    } finally {
      await cluster.psql(`ALTER DATABASE "${name}" RESET default_transaction_read_only`);
      await db.close();
    }
  });
});

describe('a server that never answers', () => {
  let silent: Server;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    // Accepts connections and never says a word: what a client sees across a network partition.
    silent = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  it('ends run within its bound with store.unreachable, and marks the database unavailable', async () => {
    const port = (silent.address() as { port: number }).port;
    const url = parseStateUrl(`postgres://mergekey:not-shown@127.0.0.1:${port}/mergekey`);
    // The connect timeout is longer than the bound: the bound is what ends the wait.
    const db = sharedDb(openPool(url, { max: 1, connectTimeout: 60 }), url, { runTimeoutMs: 300, probeMs: 60_000 });
    try {
      const refused = await rejection(db.run((sql) => sql`SELECT 1`));
      expect(refused.code).toBe('store.unreachable');
      expect(refused.message).toBe(`cannot reach PostgreSQL at 127.0.0.1:${port}: no answer within 300 ms`);
      expect(db.unavailable()).toBe(refused.message);
    } finally {
      // The pool's connection never completed: do not wait for it to end politely.
      await Promise.race([db.close(), new Promise((resolve) => setTimeout(resolve, 100))]);
    }
  });
});

describe('connecting', () => {
  it('never shows a password given as a parameter of the URL (libpq allows ?password=)', () => {
    for (const state of ['postgres://?password=s3cret', 'mysql://mk@db/mk?password=s3cret', 'postgres://[::1?password=s3cret']) {
      const error = (() => {
        try {
          parseStateUrl(state);
        } catch (caught) {
          return caught as StoreError;
        }
        throw new Error(`${state} was accepted`);
      })();
      expect([error.code, error.message]).toEqual(['store.url-invalid', expect.not.stringContaining('s3cret')]);
    }
    expect(redactUrl(parseStateUrl('postgres://mk@db/mk?sslmode=require&Password=s3cret&sslpassword=s3cret'))).toBe(
      'postgres://mk@db/mk?sslmode=require&Password=***&sslpassword=***',
    );
  });

  it('refuses a wrong password, naming the server and never the password', async () => {
    const url = new URL(cluster.url());
    url.password = 'wrong-password-s3cret';
    const refused = await rejection(connectSharedDb(url.href));
    expect(refused.code).toBe('store.auth-refused');
    expect(refused.message).toContain(`PostgreSQL at 127.0.0.1:${cluster.port} refused the credentials`);
    expect(refused.message).not.toContain('wrong-password-s3cret');
  });

  it('refuses an unreachable server, naming host and port', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    const refused = await rejection(connectSharedDb(`postgres://mergekey:s3cret-pw@127.0.0.1:${port}/mergekey`));
    expect(refused.code).toBe('store.unreachable');
    expect(refused.message).toMatch(new RegExp(`^cannot reach PostgreSQL at 127\\.0\\.0\\.1:${port}: `));
    expect(refused.message).not.toContain('s3cret-pw');
  });

  it('refuses a malformed URL without any part of a password that holds @', async () => {
    const refused = await rejection(connectSharedDb('postgres://mergekey:s3c@ret@db.internal:port/mergekey'));
    expect([refused.code, refused.message]).toEqual(['store.url-invalid', 'the state URL is malformed: postgres://mergekey:***@db.internal:port/mergekey']);
  });

  it('refuses a schema newer than the code', async () => {
    const url = await migratedDatabase();
    const name = new URL(url).pathname.slice(1);
    const next = knownMigrations().length + 1;
    await cluster.psql(`INSERT INTO schema_migrations (version, name, checksum) VALUES (${next}, '00${next}-future', 'x')`, name);
    const refused = await rejection(connectSharedDb(url));
    expect(refused.code).toBe('store.schema-newer');
    expect(refused.message).toBe(
      `the database's schema is at version ${next}, newer than this Mergekey knows (version ${next - 1}): run a Mergekey release that knows it`,
    );
  });

  it('migrates first when asked, and reports what it applied', async () => {
    const url = await cluster.createDatabase();
    const reported: unknown[] = [];
    const db = await connectSharedDb(url, { migrate: (result) => reported.push(result) });
    await db.close();
    expect(reported).toEqual([{ from: 0, to: knownMigrations().length, applied: knownMigrations().map(({ version, name }) => ({ version, name })) }]);
  });
});
