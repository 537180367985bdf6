// The PostgreSQL schema, versioned: migrations are the SQL files of migrations/, named
// `NNN-name.sql` and applied in order, each in its own transaction together with its row in
// `schema_migrations` (version, name, SHA-256 of the file, when). `migrate` applies what is
// missing and nothing else, so running it twice does nothing; each transaction first takes a
// transaction-scoped advisory lock and reads the version again under it, so two replicas migrating
// at once apply each migration once (the second waits, then finds it applied). `requireSchema` is
// what a replica checks before it serves: the schema must be exactly the version this code knows.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { StoreError } from '../errors.ts';
import type { Sql } from './connect.ts';

export interface Migration {
  version: number;
  /** The file's name without `.sql`, e.g. `001-token-state`. */
  name: string;
  sql: string;
  /** base64url SHA-256 of the file, recorded with it. */
  checksum: string;
}

export interface MigrateResult {
  /** The schema's version before, 0 when there was none. */
  from: number;
  /** The schema's version now: the newest migration known. */
  to: number;
  /** What this run applied, in order; empty when the schema was already current. */
  applied: { version: number; name: string }[];
}

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));
const FILE = /^(\d{3})-[a-z0-9-]+\.sql$/;

/** "mkmg": the advisory lock every migrating transaction takes. */
const MIGRATION_LOCK = 0x6d6b6d67;

/** The migrations in `dir`, in order; their versions must run 1, 2, 3… without a gap. */
export function knownMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  const migrations = readdirSync(dir)
    .filter((file) => file.endsWith('.sql'))
    .map((file) => {
      const match = FILE.exec(file);
      if (match === null) throw new Error(`migration file name must be NNN-name.sql: ${file}`);
      const sql = readFileSync(`${dir}/${file}`, 'utf8');
      return { version: Number(match[1]), name: file.slice(0, -'.sql'.length), sql, checksum: createHash('sha256').update(sql).digest('base64url') };
    })
    .sort((a, b) => a.version - b.version);
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) throw new Error(`migrations must be numbered 001, 002, … without gaps: ${migration.name}`);
  });
  return migrations;
}

function latest(migrations: readonly Migration[]): number {
  return migrations.at(-1)?.version ?? 0;
}

function newerSchema(found: number, known: number): StoreError {
  return new StoreError(
    'store.schema-newer',
    `the database's schema is at version ${found}, newer than this Mergekey knows (version ${known}): run a Mergekey release that knows it`,
  );
}

/** The schema's version: the newest migration recorded, 0 when there is none (or no table). */
export async function schemaVersion(sql: Sql): Promise<number> {
  const [row] = await sql`SELECT to_regclass('schema_migrations') IS NOT NULL AS present`;
  if (row?.present !== true) return 0;
  const [{ version }] = (await sql`SELECT coalesce(max(version), 0)::int AS version FROM schema_migrations`) as unknown as [{ version: number }];
  return version;
}

/** Applies the migrations the schema lacks, one transaction each. Throws StoreError. */
export async function migrate(sql: Sql, migrations: readonly Migration[] = knownMigrations()): Promise<MigrateResult> {
  const known = latest(migrations);
  let from: number | undefined;
  const applied: MigrateResult['applied'] = [];
  for (;;) {
    const step = await sql.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`;
      await tx`CREATE TABLE IF NOT EXISTS schema_migrations (
        version int PRIMARY KEY,
        name text NOT NULL,
        checksum text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now())`;
      const [{ version }] = (await tx`SELECT coalesce(max(version), 0)::int AS version FROM schema_migrations`) as unknown as [{ version: number }];
      if (version > known) throw newerSchema(version, known);
      const next = migrations.find((migration) => migration.version === version + 1);
      if (next === undefined) return { version, applied: undefined };
      try {
        // No parameters: the simple protocol, which runs a file of several statements.
        await tx.unsafe(next.sql);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        throw new StoreError('store.migration-failed', `migration ${next.name} failed and was rolled back (the schema stays at version ${version}): ${message}`, { cause: error });
      }
      await tx`INSERT INTO schema_migrations (version, name, checksum) VALUES (${next.version}, ${next.name}, ${next.checksum})`;
      return { version, applied: next };
    });
    from ??= step.version;
    if (step.applied === undefined) return { from, to: step.version, applied };
    applied.push({ version: step.applied.version, name: step.applied.name });
  }
}

/**
 * Refuses a schema this code cannot serve: newer than it knows (a later release migrated it), or
 * older (never migrated, or not since an upgrade). Returns the version.
 */
export async function requireSchema(sql: Sql, migrations: readonly Migration[] = knownMigrations()): Promise<number> {
  const known = latest(migrations);
  const version = await schemaVersion(sql);
  if (version > known) throw newerSchema(version, known);
  if (version < known) {
    throw new StoreError(
      'store.schema-older',
      `the database's schema is at version ${version}, older than this Mergekey needs (version ${known}): run \`mergekey db migrate\``,
    );
  }
  return version;
}
