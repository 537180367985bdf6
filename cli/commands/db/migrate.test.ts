// `mergekey db migrate` against a real PostgreSQL (test/support/postgres.ts): its whole output, and
// its errors as an operator sees them: a clear message and exit code, no stack, never the password.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresCluster } from '../../../test/support/postgres.ts';
import { main, type Io } from '../../main.ts';

function capture(): Io & { out: string; err: string } {
  const io = { out: '', err: '', stdout: (t: string) => void (io.out += t), stderr: (t: string) => void (io.err += t) };
  return io;
}

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = capture();
  const code = await main(['db', 'migrate', ...argv], io);
  return { code, out: io.out, err: io.err };
}

describe('mergekey db migrate', () => {
  let cluster: PostgresCluster;
  beforeAll(async () => {
    cluster = await startPostgres();
  });
  afterAll(() => cluster?.stop());

  /** The URL as the command shows it. */
  const shown = (url: string) => url.replace(encodeURIComponent(cluster.password), '***');

  it('creates the schema, then has nothing to do', async () => {
    const url = await cluster.createDatabase();
    expect(await run('--state', url)).toEqual({ code: 0, out: `applied 001-token-state\n${shown(url)}: the schema is now at version 1 (was 0)\n`, err: '' });
    expect(await run('--state', url)).toEqual({ code: 0, out: `${shown(url)}: the schema is at version 1, nothing to do\n`, err: '' });
  });

  it('reads the URL from MERGEKEY_STATE', async () => {
    const url = await cluster.createDatabase();
    const saved = process.env.MERGEKEY_STATE;
    process.env.MERGEKEY_STATE = url;
    try {
      expect(await run()).toEqual({ code: 0, out: `applied 001-token-state\n${shown(url)}: the schema is now at version 1 (was 0)\n`, err: '' });
    } finally {
      if (saved === undefined) delete process.env.MERGEKEY_STATE;
      else process.env.MERGEKEY_STATE = saved;
    }
  });

  it('refuses a schema newer than it knows and leaves it alone', async () => {
    const url = await cluster.createDatabase();
    await run('--state', url);
    await cluster.psql("INSERT INTO schema_migrations (version, name, checksum) VALUES (2, '002-later', 'x')", new URL(url).pathname.slice(1));
    expect(await run('--state', url)).toEqual({
      code: 1,
      out: '',
      err: "mergekey: the database's schema is at version 2, newer than this Mergekey knows (version 1): run a Mergekey release that knows it\nNothing was changed.\n",
    });
  });

  it('says a password was refused, without showing it', async () => {
    const url = (await cluster.createDatabase()).replace(encodeURIComponent(cluster.password), 'not-the-password');
    const result = await run('--state', url);
    expect(result).toEqual({
      code: 1,
      out: '',
      err: `mergekey: PostgreSQL at 127.0.0.1:${cluster.port} refused the credentials: password authentication failed for user "postgres"\nCheck the user and password in --state.\n`,
    });
  });

  it('says a server cannot be reached, without showing the password', async () => {
    // The cluster's own port once it is stopped would race other tests; port 1 refuses on loopback.
    const result = await run('--state', `postgres://postgres:${cluster.password}@127.0.0.1:1/mergekey`);
    expect(result).toEqual({
      code: 1,
      out: '',
      err: 'mergekey: cannot reach PostgreSQL at 127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1\nCheck the host and port in --state, and that PostgreSQL is running and accepts connections from here.\n',
    });
  });

  it('names a database that does not exist', async () => {
    expect(await run('--state', cluster.url('no_such_database'))).toEqual({
      code: 1,
      out: '',
      err: `mergekey: PostgreSQL at 127.0.0.1:${cluster.port}: database "no_such_database" does not exist\nCreate the database first (CREATE DATABASE), or name an existing one in --state.\n`,
    });
  });

  it('refuses a malformed or foreign URL as a usage error, hiding its password', async () => {
    const hint = 'Pass --state postgres://USER:PASSWORD@HOST:PORT/DATABASE (or set MERGEKEY_STATE).\n';
    expect(await run('--state', 'postgres://alice:s3cret@:5432')).toEqual({ code: 2, out: '', err: `mergekey: the state URL is malformed: postgres://alice:***@:5432\n${hint}` });
    expect(await run('--state', 'mysql://alice:s3cret@db/mergekey')).toEqual({
      code: 2,
      out: '',
      err: `mergekey: the state URL must start with postgres:// or postgresql://, got mysql://alice:***@db/mergekey\n${hint}`,
    });
    expect(await run('--state', 'lmdb')).toEqual({
      code: 2,
      out: '',
      err: 'mergekey: --state lmdb needs no migration: the embedded store upgrades itself\nPass --state postgres://… to migrate a shared PostgreSQL.\n',
    });
  });

  it('asks for the URL when there is none', async () => {
    const saved = process.env.MERGEKEY_STATE;
    delete process.env.MERGEKEY_STATE;
    try {
      expect(await run()).toEqual({
        code: 2,
        out: '',
        err: 'mergekey: db migrate needs the PostgreSQL to migrate: --state postgres://…\nPass --state postgres://USER:PASSWORD@HOST:PORT/DATABASE (or set MERGEKEY_STATE).\n',
      });
    } finally {
      if (saved !== undefined) process.env.MERGEKEY_STATE = saved;
    }
  });
});
