// The PostgreSQL sweeper against a real server (test/support/postgres.ts), the clock injected: it
// deletes what expired in every table of migration 001, in bounded batches, and nothing alive;
// one replica sweeps at a time (a sweeper finding the lock held deletes nothing), a replica killed
// while holding it holds nothing; an unreachable server is a StoreError and deletes nothing.
// (Rows are written with SQL: the PostgreSQL token state is another module's, and this one needs
// only the tables.)
import { describe, expect, it } from 'vitest';
import { freePort } from '../../../test/support/postgres.ts';
import { sharedDatabases } from '../../../test/support/shared-db.ts';
import { StoreError } from '../errors.ts';
import type { ExpiringDb } from '../sweeper.ts';
import { openPool, parseStateUrl } from './connect.ts';
import { sharedDb, type SharedDb } from './db.ts';
import { postgresSweeper, SWEEP_LOCK } from './sweeper.ts';

const pg = sharedDatabases();
const { onCleanup } = pg;

/**
 * Rows in every table: `expired` access tokens expiring at 1500 and 50 that live until 9000, and
 * in each other table one row expired at `now` 2000 beside one alive then.
 */
async function populate(db: SharedDb, expired: number): Promise<void> {
  const { sql } = db;
  // Interleaved in key order: t000000 lives, t000001 … t0000nn expire, …
  const every = Math.floor((expired + 50) / 50);
  await sql`INSERT INTO access_tokens (app, jti, client_id, sub, scope, aud, iat, exp)
    SELECT 'billing', 't' || lpad(i::text, 6, '0'), 'billing-client', 'client:billing-client', 'open', '{https://as.test}', 1000, CASE WHEN i % ${every} = 0 AND i / ${every} < 50 THEN 9000 ELSE 1500 END
    FROM generate_series(0, ${expired + 49}) AS i`;
  await sql`INSERT INTO revoked_access_tokens (app, jti, exp) VALUES ('billing', 'gone', 1400), ('billing', 'still', 9000)`;
  await sql`INSERT INTO used_assertion_ids (app, jti, exp) VALUES ('billing', 'j-old', 1200), ('billing', 'j-new', 3000)`;
  // f1 has expired with its two tokens; f2 lives on (a rotation moved it later) while its first token expired.
  await sql`INSERT INTO refresh_families (app, id, sub, iat, exp) VALUES ('mobile', 'f1', 'user:alice', 1000, 1500), ('mobile', 'f2', 'user:alice', 1000, 3000)`;
  await sql`INSERT INTO refresh_tokens (app, id, client_id, sub, scope, iat, exp, family) VALUES
    ('mobile', 'r1a', 'mobile-client', 'user:alice', 'open', 1000, 1500, 'f1'), ('mobile', 'r1b', 'mobile-client', 'user:alice', 'open', 1000, 1500, 'f1'),
    ('mobile', 'r2a', 'mobile-client', 'user:alice', 'open', 1000, 1500, 'f2'), ('mobile', 'r2b', 'mobile-client', 'user:alice', 'open', 1100, 3000, 'f2')`;
  await sql`INSERT INTO authorization_codes (id, app, sub, exp, keep_until, record) VALUES
    ('c-old', 'web', 'user:alice', 1100, 1900, '{}'), ('c-kept', 'web', 'user:alice', 1100, 2500, '{}')`;
  await sql`INSERT INTO portal_sessions (id, user_name, expires_ms, last_seen_ms, record) VALUES
    ('s-old', 'alice', 2000000, 1000000, '{}'), ('s-live', 'alice', 9000000, 1000000, '{}')`;
  await sql`INSERT INTO cut_offs (kind, target, generation, at_ms) VALUES ('application', 'billing', 1, 900000)`;
  await sql`INSERT INTO consents (user_name, app, scopes, granted_ms, user_generation) VALUES ('alice', 'web', '{open}', 1000000, 0)`;
}

/** Every table's rows, as the keys that identify them. */
async function contents(name: string): Promise<Record<string, string[]>> {
  const tables: Record<string, string> = {
    access_tokens: "SELECT count(*) || ' live ' || count(*) FILTER (WHERE exp = 9000) FROM access_tokens",
    revoked_access_tokens: 'SELECT jti FROM revoked_access_tokens ORDER BY 1',
    used_assertion_ids: 'SELECT jti FROM used_assertion_ids ORDER BY 1',
    refresh_families: 'SELECT id FROM refresh_families ORDER BY 1',
    refresh_tokens: 'SELECT id FROM refresh_tokens ORDER BY 1',
    authorization_codes: 'SELECT id FROM authorization_codes ORDER BY 1',
    portal_sessions: 'SELECT id FROM portal_sessions ORDER BY 1',
    cut_offs: 'SELECT target FROM cut_offs',
    consents: 'SELECT app FROM consents',
  };
  const result: Record<string, string[]> = {};
  for (const [table, query] of Object.entries(tables)) result[table] = (await pg.cluster.psql(query, name)).split('\n').filter(Boolean);
  return result;
}

const BEFORE = {
  revoked_access_tokens: ['gone', 'still'], used_assertion_ids: ['j-new', 'j-old'], refresh_families: ['f1', 'f2'],
  refresh_tokens: ['r1a', 'r1b', 'r2a', 'r2b'], authorization_codes: ['c-kept', 'c-old'], portal_sessions: ['s-live', 's-old'],
  cut_offs: ['billing'], consents: ['web'],
};
const AFTER = {
  access_tokens: ['50 live 50'], revoked_access_tokens: ['still'], used_assertion_ids: ['j-new'], refresh_families: ['f2'],
  refresh_tokens: ['r2b'], authorization_codes: ['c-kept'], portal_sessions: ['s-live'], cut_offs: ['billing'], consents: ['web'],
};

describe('sweeping the shared database', () => {
  it('deletes what expired in every table, a bounded batch at a time, and nothing alive', async () => {
    const { name, connect } = await pg.freshDatabase();
    const db = connect();
    await populate(db, 2500);
    const swept: [ExpiringDb, number][] = [];
    const sweeper = postgresSweeper(db, { batch: 1000, now: () => 2_000_000, onSwept: (table, n) => swept.push([table, n]) });

    expect(await sweeper.sweep(1199)).toBe(0);
    await sweeper.measure(2000);
    // Due at 2000: 2500 access tokens, 1 tombstone, 1 id (the oldest, at 1200), 1 family, 3 refresh tokens, 1 code, 1 session.
    expect([sweeper.backlog(), sweeper.oldestExpiredAge()]).toEqual([2508, 2000 - 1200]);

    expect(await sweeper.sweep(2000)).toBe(2508);
    expect(await contents(name)).toEqual(AFTER);
    expect(swept.filter(([table]) => table === 'tokens').map(([, n]) => n)).toEqual([1000, 1000, 500]);
    expect(Math.max(...swept.map(([, n]) => n))).toBeLessThanOrEqual(1000);
    expect(new Set(swept.map(([table]) => table))).toEqual(new Set(['tokens', 'revocations', 'jtis', 'refreshTokens', 'authorizationCodes']));
    await sweeper.measure(2000);
    expect([sweeper.backlog(), sweeper.oldestExpiredAge()]).toEqual([0, 0]);
  });

  it('lets one replica sweep at a time: a held lock stops the others, and a replica killed holding it holds nothing', async () => {
    const { name, connect } = await pg.freshDatabase();
    await populate(connect(), 3000);
    const [a, b] = [postgresSweeper(connect(), { batch: 500 }), postgresSweeper(connect(), { batch: 500 })];

    // Another replica in the middle of a batch: its transaction holds the lock.
    const holder = connect().sql;
    const held = await holder.reserve();
    await held`BEGIN`;
    await held`SELECT pg_advisory_xact_lock(${SWEEP_LOCK})`;
    await held`DELETE FROM access_tokens WHERE exp <= 2000`;
    expect(await Promise.all([a.sweep(2000), b.sweep(2000)])).toEqual([0, 0]);
    expect(await contents(name)).toMatchObject({ ...BEFORE, access_tokens: ['3050 live 50'] });
    // What is due and not swept is still measured by the replicas that do not sweep.
    await a.measure(2000);
    expect(a.backlog()).toBe(3008);

    // That replica is killed (its connection ends; waited for): the lock goes with its transaction.
    expect(await pg.cluster.psql("SELECT pg_terminate_backend(pid, 10000) FROM pg_locks WHERE locktype = 'advisory' AND granted", name)).toBe('t\n');
    held.release();
    // Its half-done batch is rolled back whole.
    expect(await contents(name)).toMatchObject({ ...BEFORE, access_tokens: ['3050 live 50'] });
    // Both sweep at once now; every row is deleted once, by whichever held the lock for that batch.
    const [byA, byB] = await Promise.all([a.sweep(2000), b.sweep(2000)]);
    // Refresh tokens go before their families in a batch, so none is taken by the cascade uncounted.
    expect(byA + byB).toBe(3008);
    expect(await contents(name)).toEqual(AFTER);
  });

  it('runs in the background with its own clock until stopped', async () => {
    const { name, connect } = await pg.freshDatabase();
    await populate(connect(), 1200);
    let clock = 1_000_000;
    const sweeper = postgresSweeper(connect(), { batch: 500, idleMs: 1, now: () => clock });
    sweeper.start();
    clock = 2_000_000;
    await waitUntil(async () => (await pg.cluster.psql('SELECT count(*) FROM authorization_codes', name)) === '1\n' && (await pg.cluster.psql('SELECT count(*) FROM access_tokens', name)) === '50\n');
    await sweeper.stop();
    expect(await contents(name)).toEqual(AFTER);
  });

  it('reports an unreachable server as store.unreachable, deletes nothing, and keeps its loop going', async () => {
    const { name, connect } = await pg.freshDatabase();
    await populate(connect(), 10);
    const url = parseStateUrl(pg.cluster.url(name));
    url.port = String(await freePort());
    const down = sharedDb(openPool(url, { connectTimeout: 2 }), url);
    onCleanup(() => down.close());
    const errors: unknown[] = [];
    const sweeper = postgresSweeper(down, { idleMs: 1, now: () => 2_000_000, onError: (err) => errors.push(err) });

    const error = await sweeper.sweep(2000).then(() => undefined, (err: unknown) => err);
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).code).toBe('store.unreachable');
    sweeper.start();
    await waitUntil(async () => errors.length >= 2);
    await sweeper.stop();
    expect(errors.every((err) => err instanceof StoreError && err.code === 'store.unreachable')).toBe(true);
    expect(await contents(name)).toMatchObject({ ...BEFORE, access_tokens: ['60 live 50'] });
  });
});

async function waitUntil(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; !(await check()); i++) {
    if (i > 2000) throw new Error('the sweeper did not get there');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
