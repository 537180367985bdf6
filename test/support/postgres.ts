// A throwaway PostgreSQL cluster for tests and benchmarks, from Debian's binaries
// (/usr/lib/postgresql/<version>/bin, the newest installed): `initdb` into a temporary directory,
// `pg_ctl start` on a free port listening on 127.0.0.1 only (and a unix socket in that directory),
// fsync on as in production. `stop()` stops it and removes the directory; a watchdog process
// does the same if the test process dies without stopping it (SIGKILL, a crashed worker), so no
// postgres outlives its test. Tests never use a machine-wide service.
//
// initdb and postgres refuse to run as root: when the test runs as root, every binary runs as the
// `postgres` user (runuser) and the directory is given to it; otherwise they run directly.
//
// No database driver here (only controller/store/ imports one): databases are made through psql
// on the unix socket, where the superuser is trusted. TCP connections need the password, so a
// test can also present a wrong one.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface PostgresCluster {
  /** Always 127.0.0.1. */
  readonly host: string;
  readonly port: number;
  /** The superuser (`postgres`) and its password (TCP connections need it). */
  readonly user: string;
  readonly password: string;
  /** The temporary directory: the data directory, the unix socket, the server log. */
  readonly dir: string;
  /** The PostgreSQL major version whose binaries run it, e.g. 15. */
  readonly version: number;
  /** A postgres:// URL for the superuser on `database` (default `postgres`) over TCP. */
  url(database?: string): string;
  /** Creates a fresh, empty database (a unique name unless given) and returns its URL. */
  createDatabase(name?: string): Promise<string>;
  /** Runs SQL through psql on the unix socket as the superuser; returns psql's unaligned output. */
  psql(sql: string, database?: string): Promise<string>;
  /**
   * Stops the server (fast shutdown: sessions are ended, what was committed stays) but keeps its
   * directory and port, so that `startServer()` brings the same cluster back: an outage.
   */
  stopServer(): Promise<void>;
  /** Starts the server `stopServer()` stopped, on the same port, with the same data. */
  startServer(): Promise<void>;
  /**
   * Freezes the server (SIGSTOP to the postmaster and every backend): connections stay open and
   * new ones are accepted by the kernel, but nothing answers, as across a network partition.
   */
  pauseServer(): Promise<void>;
  /** Lets a paused server go on (SIGCONT); what was waiting is answered. */
  resumeServer(): Promise<void>;
  /** Stops the server (fast shutdown) and removes the directory. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Extra server settings (`-c name=value`), e.g. { max_connections: '200' }. */
  settings?: Record<string, string>;
}

/** The newest PostgreSQL installed from Debian's packages: its major version and bin directory. */
export function postgresBinaries(): { version: number; bin: string } | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((name) => /^\d+$/.test(name) && existsSync(join(root, name, 'bin', 'initdb')))
    .map(Number)
    .sort((a, b) => b - a);
  const version = versions[0];
  return version === undefined ? undefined : { version, bin: join(root, String(version), 'bin') };
}

const asRoot = process.getuid?.() === 0;

/** Runs one of the binaries, as `postgres` when we are root. */
async function runBinary(bin: string, name: string, args: string[]): Promise<string> {
  const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, name), ...args]] : [join(bin, name), args];
  try {
    const { stdout } = await run(file, argv, { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const { stderr, stdout } = error as { stderr?: string; stdout?: string };
    throw new Error(`${name} ${args.join(' ')} failed: ${(stderr ?? '') || (stdout ?? '') || String(error)}`, { cause: error });
  }
}

/** A port free on 127.0.0.1 now (the kernel's choice): taken and released, so nothing listens on it. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Stops the cluster and removes `dir` once `parent` has exited, whichever way it did. Detached, so
 * it outlives a SIGKILLed parent; `stop()` kills it first.
 */
function startWatchdog(parent: number, bin: string, dir: string): number | undefined {
  const pgCtl = asRoot ? `runuser -u postgres -- '${join(bin, 'pg_ctl')}'` : `'${join(bin, 'pg_ctl')}'`;
  const script = `while kill -0 ${parent} 2>/dev/null; do sleep 1; done; ${pgCtl} stop -m immediate -D '${join(dir, 'data')}' >/dev/null 2>&1; rm -rf '${dir}'`;
  const child = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
  child.unref();
  return child.pid;
}

/** Ends the watchdog's process group (its shell and its sleep), if it still runs. */
function stopWatchdog(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid);
  } catch {
    // It has exited already.
  }
}

/** The postmaster's pid (from postmaster.pid), then its children's. */
async function serverProcesses(data: string): Promise<number[]> {
  const postmaster = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const { stdout } = await run('pgrep', ['-P', String(postmaster)]).catch(() => ({ stdout: '' }));
  return [postmaster, ...stdout.split('\n').filter((line) => line !== '').map(Number)];
}

/** Starts a throwaway cluster. Throws when Debian's postgresql is not installed (.ci/run installs it). */
export async function startPostgres(options: StartOptions = {}): Promise<PostgresCluster> {
  const binaries = postgresBinaries();
  if (binaries === undefined) throw new Error('PostgreSQL is not installed: apt-get install postgresql (.ci/run does)');
  const { version, bin } = binaries;
  const dir = mkdtempSync(join(tmpdir(), 'mergekey-pg-'));
  if (asRoot) {
    const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
    const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
    chownSync(dir, uid, gid);
  }
  const user = 'postgres';
  const password = randomBytes(18).toString('base64url');
  const data = join(dir, 'data');
  let watchdog: number | undefined;
  let stopped = false;
  try {
    const pwfile = join(dir, 'pwfile');
    writeFileSync(pwfile, `${password}\n`, { mode: 0o644 });
    // --no-sync makes only initdb's own files skip the flush; the server below runs with fsync on.
    await runBinary(bin, 'initdb', ['-D', data, '-U', user, `--pwfile=${pwfile}`, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--no-locale', '--no-sync']);
    rmSync(pwfile);
    watchdog = startWatchdog(process.pid, bin, dir);
    const settings: Record<string, string> = {
      listen_addresses: '127.0.0.1',
      unix_socket_directories: dir,
      fsync: 'on',
      synchronous_commit: 'on',
      ...options.settings,
    };
    const serverOptions = Object.entries(settings).map(([name, value]) => `-c ${name}=${value}`).join(' ');
    let port = 0;
    const startOn = (onPort: number) =>
      runBinary(bin, 'pg_ctl', ['start', '-w', '-t', '60', '-D', data, '-l', join(dir, 'server.log'), '-o', `-p ${onPort} ${serverOptions}`]);
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      try {
        await startOn(port);
        break;
      } catch (error) {
        // Another process may have taken the port between our check and the server's bind.
        if (attempt === 3) throw error;
      }
    }
    const cluster: PostgresCluster = {
      host: '127.0.0.1',
      port,
      user,
      password,
      dir,
      version,
      url: (database = 'postgres') => `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`,
      psql: (sql, database = 'postgres') =>
        runBinary(bin, 'psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', dir, '-p', String(port), '-U', user, '-d', database, '-c', sql]),
      async createDatabase(name = `test_${randomBytes(6).toString('hex')}`) {
        if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`);
        await cluster.psql(`CREATE DATABASE ${name}`);
        return cluster.url(name);
      },
      async stopServer() {
        await runBinary(bin, 'pg_ctl', ['stop', '-w', '-m', 'fast', '-D', data]);
      },
      async startServer() {
        await startOn(port);
      },
      async pauseServer() {
        const [postmaster, ...backends] = await serverProcesses(data);
        for (const pid of backends) process.kill(pid, 'SIGSTOP');
        process.kill(postmaster!, 'SIGSTOP');
      },
      async resumeServer() {
        const [postmaster, ...backends] = await serverProcesses(data);
        process.kill(postmaster!, 'SIGCONT');
        for (const pid of backends) process.kill(pid, 'SIGCONT');
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        stopWatchdog(watchdog);
        try {
          // Already stopped by stopServer() is fine: the directory goes either way.
          await runBinary(bin, 'pg_ctl', ['stop', '-w', '-m', 'fast', '-D', data]).catch((error: unknown) => {
            if (!existsSync(join(data, 'postmaster.pid'))) return;
            throw error;
          });
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    };
    return cluster;
  } catch (error) {
    stopWatchdog(watchdog);
    await runBinary(bin, 'pg_ctl', ['stop', '-m', 'immediate', '-D', data]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
