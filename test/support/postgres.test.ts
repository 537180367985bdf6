// The throwaway PostgreSQL of test/support/postgres.ts: it starts as production runs (127.0.0.1
// only, fsync on), gives each test its own database, and leaves nothing behind: not when stopped,
// and not when the process that started it is killed.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresCluster } from './postgres.ts';

const child = fileURLToPath(new URL('./postgres-orphan-child.ts', import.meta.url));

/** Whether `pid` runs: a zombie (exited, not yet reaped by an init that may never reap it) does not. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return condition();
}

describe('a throwaway PostgreSQL cluster', () => {
  let cluster: PostgresCluster;
  beforeAll(async () => {
    cluster = await startPostgres();
  });
  afterAll(() => cluster?.stop());

  it('listens on 127.0.0.1 only, with fsync on, from the newest installed version', async () => {
    expect(await cluster.psql('SHOW listen_addresses')).toBe('127.0.0.1\n');
    expect(await cluster.psql('SHOW fsync')).toBe('on\n');
    expect(await cluster.psql('SHOW synchronous_commit')).toBe('on\n');
    expect(await cluster.psql('SHOW server_version_num')).toMatch(new RegExp(`^${cluster.version}\\d{4}\\n$`));
    expect(cluster.url()).toBe(`postgres://postgres:${encodeURIComponent(cluster.password)}@127.0.0.1:${cluster.port}/postgres`);
  });

  it('gives each test a database of its own', async () => {
    const first = await cluster.createDatabase();
    const second = await cluster.createDatabase();
    expect(first).not.toBe(second);
    const name = (url: string) => new URL(url).pathname.slice(1);
    await cluster.psql('CREATE TABLE mine (n int); INSERT INTO mine VALUES (1)', name(first));
    expect(await cluster.psql("SELECT to_regclass('mine') IS NULL", name(second))).toBe('t\n');
  });

  it('stops and removes its directory, and a second stop does nothing', async () => {
    const own = await startPostgres();
    const pid = Number(readFileSync(join(own.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
    expect(alive(pid)).toBe(true);
    await own.stop();
    expect(alive(pid)).toBe(false);
    expect(existsSync(own.dir)).toBe(false);
    await own.stop();
  });

  it('leaves no postgres behind when the process that started it is killed', async () => {
    const proc = spawn(process.execPath, ['--import', 'tsx', child], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const signal = await new Promise((resolve) => proc.on('exit', (_, sig) => resolve(sig)));
    expect(signal).toBe('SIGKILL');
    const { dir, pid } = JSON.parse(out) as { dir: string; pid: number };
    expect(await until(() => !alive(pid) && !existsSync(dir), 10_000)).toBe(true);
  });
});
