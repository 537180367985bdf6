// The PostgreSQL schema's migrations against a real server (test/support/postgres.ts): they create
// the shared state's tables, do nothing the second time, apply once when two replicas migrate at
// once, roll a failed migration back whole, and a replica refuses a schema newer or older than the
// code it runs.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sharedDatabases } from '../../../test/support/shared-db.ts';
import { StoreError } from '../errors.ts';
import { openPool, parseStateUrl, type Sql } from './connect.ts';
import { knownMigrations, migrate, requireSchema, schemaVersion } from './migrate.ts';

const TABLES = [
  'access_tokens',
  'authorization_codes',
  'consents',
  'cut_off_generation',
  'cut_offs',
  'portal_sessions',
  'refresh_families',
  'refresh_tokens',
  'revoked_access_tokens',
  'schema_migrations',
  'signing_keyring',
  'used_assertion_ids',
];

const pg = sharedDatabases();

/** A pool on a fresh database of its own. */
async function freshDatabase(): Promise<{ sql: Sql; name: string; url: string }> {
  const url = await pg.cluster.createDatabase();
  const sql = openPool(parseStateUrl(url));
  pg.onCleanup(() => sql.end());
  return { sql, name: new URL(url).pathname.slice(1), url };
}

/** The schema as the catalog describes it: every table's columns and every index, for comparing. */
function catalog(name: string): Promise<string> {
  return pg.cluster.psql(
    `SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable FROM information_schema.columns WHERE table_schema = 'public'
     UNION ALL SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1`,
    name,
  );
}

/** A directory of migration files, for the cases the real ones cannot show. */
function migrationsDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'mergekey-migrations-'));
  for (const [file, sql] of Object.entries(files)) writeFileSync(join(dir, file), sql);
  return dir;
}

async function storeError(promise: Promise<unknown>): Promise<StoreError> {
  const error = await promise.then(() => undefined, (err: unknown) => err);
  expect(error).toBeInstanceOf(StoreError);
  return error as StoreError;
}

describe('mergekey db migrate: the versioned schema', () => {
  it('knows the migrations in order, the first being the token state', () => {
    expect(knownMigrations().map((migration) => migration.name)).toEqual(['001-token-state']);
  });

  it('creates the schema on an empty database and records the migration', async () => {
    const { sql, name } = await freshDatabase();
    expect(await schemaVersion(sql)).toBe(0);
    expect(await migrate(sql)).toEqual({ from: 0, to: 1, applied: [{ version: 1, name: '001-token-state' }] });
    expect((await pg.cluster.psql("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1", name)).trim().split('\n')).toEqual(TABLES);
    const [row] = await sql`SELECT version, name, checksum FROM schema_migrations`;
    expect(row).toEqual({ version: 1, name: '001-token-state', checksum: knownMigrations()[0]!.checksum });
    expect(await pg.cluster.psql('SELECT value FROM cut_off_generation', name)).toBe('0\n');
    expect(await requireSchema(sql)).toBe(1);
  });

  it('does nothing when run again', async () => {
    const { sql, name } = await freshDatabase();
    await migrate(sql);
    const before = await catalog(name);
    expect(await migrate(sql)).toEqual({ from: 1, to: 1, applied: [] });
    expect(await catalog(name)).toBe(before);
    expect(await pg.cluster.psql('SELECT count(*) FROM schema_migrations', name)).toBe('1\n');
  });

  it('applies each migration once when two replicas migrate at once', async () => {
    const { sql: first, name, url } = await freshDatabase();
    const second = openPool(parseStateUrl(url));
    pg.onCleanup(() => second.end());
    const results = await Promise.all([migrate(first), migrate(second), migrate(first), migrate(second)]);
    expect(results.map((result) => result.applied.length).sort()).toEqual([0, 0, 0, 1]);
    expect(results.every((result) => result.to === 1)).toBe(true);
    expect(await pg.cluster.psql('SELECT version FROM schema_migrations', name)).toBe('1\n');
  });

  it('rolls a failed migration back whole and keeps the version before it', async () => {
    const { sql, name } = await freshDatabase();
    const dir = migrationsDir({ '001-one.sql': 'CREATE TABLE one (n int);', '002-two.sql': 'CREATE TABLE two (n int);\nSELECT no_such_function();' });
    try {
      const error = await storeError(migrate(sql, knownMigrations(dir)));
      expect(error.code).toBe('store.migration-failed');
      expect(error.message).toBe('migration 002-two failed and was rolled back (the schema stays at version 1): function no_such_function() does not exist');
      expect(await schemaVersion(sql)).toBe(1);
      expect(await pg.cluster.psql("SELECT to_regclass('one') IS NOT NULL, to_regclass('two') IS NULL", name)).toBe('t|t\n');
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('refuses a schema newer than the code knows, naming both versions, and changes nothing', async () => {
    const { sql, name } = await freshDatabase();
    await migrate(sql);
    await sql`INSERT INTO schema_migrations (version, name, checksum) VALUES (2, '002-from-the-future', 'x')`;
    const message = "the database's schema is at version 2, newer than this Mergekey knows (version 1): run a Mergekey release that knows it";
    const refused = await storeError(requireSchema(sql));
    expect([refused.code, refused.message]).toEqual(['store.schema-newer', message]);
    const before = await catalog(name);
    const migrating = await storeError(migrate(sql));
    expect([migrating.code, migrating.message]).toEqual(['store.schema-newer', message]);
    expect(await catalog(name)).toBe(before);
  });

  it('refuses a schema older than the code needs, telling the operator to migrate', async () => {
    const { sql } = await freshDatabase();
    const error = await storeError(requireSchema(sql));
    expect([error.code, error.message]).toEqual([
      'store.schema-older',
      "the database's schema is at version 0, older than this Mergekey needs (version 1): run `mergekey db migrate`",
    ]);
  });

  it('keeps no private signing key in the clear', async () => {
    const { sql } = await freshDatabase();
    await migrate(sql);
    const clear = { v: 1, version: 1, keys: [{ kid: 'k', alg: 'ES256', publicJwk: {}, privateJwk: { d: 'secret' }, state: 'current', createdAt: 0 }] };
    await expect(sql`INSERT INTO signing_keyring (version, keyring) VALUES (1, ${sql.json(clear)})`).rejects.toThrow(/signing_keyring_keyring_check/);
    const sealed = { ...clear, keys: [{ ...clear.keys[0], privateJwk: undefined, sealedPrivateJwk: 'eyJ…' }] };
    await sql`INSERT INTO signing_keyring (version, keyring) VALUES (1, ${sql.json(JSON.parse(JSON.stringify(sealed)))})`;
  });
});

// The statements the schema is shaped for (001-token-state.sql's comments), as the PostgreSQL
// implementations of token-state.ts will issue them: each decides a race in one round trip.
describe('the first migration serves the one-round-trip decisions', () => {
  it('rotates a refresh token for exactly one of 20 concurrent callers on two pools', async () => {
    const { sql, url } = await freshDatabase();
    await migrate(sql);
    const other = openPool(parseStateUrl(url));
    pg.onCleanup(() => other.end());
    await sql`INSERT INTO refresh_families (app, id, sub, iat, exp) VALUES ('reports', 'f1', 'alice', 0, 2000000000)`;
    await sql`INSERT INTO refresh_tokens (app, id, client_id, sub, scope, iat, exp, family) VALUES ('reports', 'r1', 'c', 'alice', 'open', 0, 2000000000, 'f1')`;
    const rotate = (pool: Sql, next: string) => pool`
      WITH used AS (
        UPDATE refresh_tokens SET used_at = 100 WHERE app = 'reports' AND id = 'r1' AND used_at IS NULL
        RETURNING app, client_id, sub, scope, exp, family)
      INSERT INTO refresh_tokens (app, id, client_id, sub, scope, iat, exp, family)
      SELECT app, ${next}, client_id, sub, scope, 100, exp, family FROM used
      RETURNING id`;
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => rotate(i % 2 === 0 ? sql : other, `r1-${i}`)));
    expect(answers.filter((rows) => rows.length === 1)).toHaveLength(1);
    expect(await sql`SELECT count(*)::int AS n FROM refresh_tokens WHERE family = 'f1'`).toEqual([{ n: 2 }]);
  });

  it('accepts a client assertion id once until it expires', async () => {
    const { sql } = await freshDatabase();
    await migrate(sql);
    const use = (exp: number, now: number) => sql`
      INSERT INTO used_assertion_ids (app, jti, exp) VALUES ('reports', 'a1', ${exp})
      ON CONFLICT (app, jti) DO UPDATE SET exp = excluded.exp WHERE used_assertion_ids.exp <= ${now}
      RETURNING jti`;
    const first = await Promise.all(Array.from({ length: 10 }, () => use(200, 100)));
    expect(first.filter((rows) => rows.length === 1)).toHaveLength(1);
    expect(await use(300, 150)).toHaveLength(0);
    expect(await use(300, 200)).toHaveLength(1);
  });
});
