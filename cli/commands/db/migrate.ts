// `mergekey db migrate --state postgres://…`: creates or upgrades the schema of the shared
// PostgreSQL that replicas keep their runtime state in (issue 13). Idempotent; safe when replicas
// run it at once (controller/store/postgres/migrate.ts). The embedded LMDB store needs none.
import { StoreError, type StoreErrorCode } from '../../../controller/store/errors.ts';
import { openPool, parseStateUrl, postgresError, redactUrl } from '../../../controller/store/postgres/connect.ts';
import { migrate, type MigrateResult } from '../../../controller/store/postgres/migrate.ts';
import { defineCommand } from '../../command.ts';
import { failure, usageError } from '../../errors.ts';

export interface DbMigrateOptions {
  /** postgres://… (else env MERGEKEY_STATE). */
  state?: string;
  env?: NodeJS.ProcessEnv;
}

export interface DbMigrateResult extends MigrateResult {
  /** The database, its password hidden. */
  database: string;
}

/** What the operator can do about each failure. */
const HINTS: Partial<Record<StoreErrorCode, string>> = {
  'store.url-invalid': 'Pass --state postgres://USER:PASSWORD@HOST:PORT/DATABASE (or set MERGEKEY_STATE).',
  'store.unreachable': 'Check the host and port in --state, and that PostgreSQL is running and accepts connections from here.',
  'store.auth-refused': 'Check the user and password in --state.',
  'store.database-missing': 'Create the database first (CREATE DATABASE), or name an existing one in --state.',
  'store.schema-newer': 'Nothing was changed.',
};

export async function dbMigrate(options: DbMigrateOptions): Promise<DbMigrateResult> {
  const state = options.state ?? (options.env ?? process.env).MERGEKEY_STATE;
  if (state === undefined || state === '') {
    throw usageError('db migrate needs the PostgreSQL to migrate: --state postgres://…', HINTS['store.url-invalid']);
  }
  if (state === 'lmdb') throw usageError('--state lmdb needs no migration: the embedded store upgrades itself', 'Pass --state postgres://… to migrate a shared PostgreSQL.');
  let url: URL;
  try {
    url = parseStateUrl(state);
  } catch (error) {
    throw asCliError(error, true);
  }
  const sql = openPool(url, { max: 1 });
  try {
    return { database: redactUrl(url), ...(await migrate(sql)) };
  } catch (error) {
    throw asCliError(postgresError(error, url), false);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

function asCliError(error: unknown, usage: boolean): unknown {
  if (!(error instanceof StoreError)) return error;
  const hint = HINTS[error.code];
  return usage ? usageError(error.message, hint) : failure(error.message, hint === undefined ? { cause: error } : { hint, cause: error });
}

export function formatDbMigrate(result: DbMigrateResult): string {
  if (result.applied.length === 0) return `${result.database}: the schema is at version ${result.to}, nothing to do\n`;
  const lines = result.applied.map((migration) => `applied ${migration.name}\n`);
  return `${lines.join('')}${result.database}: the schema is now at version ${result.to} (was ${result.from})\n`;
}

export const command = defineCommand({
  summary: 'Create or upgrade the schema of the shared PostgreSQL.',
  description:
    'Apply the migrations the PostgreSQL named by --state lacks, in order, each in its own ' +
    'transaction, and print what was applied. Running it again does nothing, and replicas may run ' +
    'it at once: an advisory lock lets one migrate while the others wait and then find nothing ' +
    "to do. A schema newer than this release knows is refused and left alone. The database must " +
    'exist and its user must be allowed to create tables in it. Exits 1 when the server cannot be reached, ' +
    'refuses the credentials or a migration fails (rolled back), 2 on a malformed URL.',
  arguments: [],
  options: {
    state: {
      type: 'string',
      valueName: 'URL',
      description: 'The PostgreSQL to migrate: postgres://USER:PASSWORD@HOST:PORT/DATABASE (env MERGEKEY_STATE).',
    },
  },
  examples: ['MERGEKEY_STATE=postgres://mergekey:…@db.internal:5432/mergekey mergekey db migrate'],
  run: (input) => dbMigrate({ state: input.state }),
  render: (result) => formatDbMigrate(result),
});
