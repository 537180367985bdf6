import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StoreError } from './errors.ts';
import { acquireControllerLock, LOCK_FILE, type ControllerLock } from './lock.ts';

const dirs: string[] = [];
const locks: ControllerLock[] = [];
const children: ChildProcess[] = [];
afterEach(() => {
  for (const lock of locks.splice(0)) lock.release();
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mergekey-lock-'));
  dirs.push(dir);
  return dir;
}

function acquire(dir: string): ControllerLock {
  const lock = acquireControllerLock(dir);
  locks.push(lock);
  return lock;
}

function lockedError(action: () => unknown): StoreError {
  try {
    action();
  } catch (err) {
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).code).toBe('store.locked');
    return err as StoreError;
  }
  throw new Error('expected store.locked');
}

/** The PID of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

describe('acquireControllerLock', () => {
  it('writes its PID and refuses a second controller, naming the holder', () => {
    const dir = dataDir();
    acquire(dir);
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8')).toBe(`${process.pid}\n`);
    const err = lockedError(() => acquireControllerLock(dir));
    expect(err.message).toBe(
      `the data directory ${dir} is in use by another mergekey controller (PID ${process.pid}); ` +
        `stop it first, or remove ${join(dir, LOCK_FILE)} if no mergekey process has that PID`,
    );
  });

  it('can be taken again once released, and release removes the file', () => {
    const dir = dataDir();
    acquire(dir).release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    acquire(dir);
    expect(existsSync(join(dir, LOCK_FILE))).toBe(true);
  });

  it('takes over the lock of a controller that died without releasing it', () => {
    const dir = dataDir();
    writeFileSync(join(dir, LOCK_FILE), `${deadPid()}\n`);
    acquire(dir);
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8')).toBe(`${process.pid}\n`);
  });

  it('takes over a lock that names its own PID from a previous life (a container restart)', () => {
    const dir = dataDir();
    writeFileSync(join(dir, LOCK_FILE), `${process.pid}\n`);
    acquire(dir);
    lockedError(() => acquireControllerLock(dir));
  });

  it('takes over a lock file with no PID in it', () => {
    const dir = dataDir();
    writeFileSync(join(dir, LOCK_FILE), 'garbage');
    acquire(dir);
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8')).toBe(`${process.pid}\n`);
  });

  it('does not remove a lock that another controller took after an operator deleted ours', () => {
    const dir = dataDir();
    const lock = acquire(dir);
    rmSync(join(dir, LOCK_FILE));
    writeFileSync(join(dir, LOCK_FILE), '4242\n');
    lock.release();
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8')).toBe('4242\n');
  });

  it('refuses a controller in another process and lets that process open the store', async () => {
    const dir = dataDir();
    acquire(dir);
    // What a worker (node:cluster) or a second `mergekey serve` on the same directory would run.
    const script = `
      import { acquireControllerLock } from './controller/store/lock.ts';
      import { openStore } from './controller/store/open.ts';
      let refused;
      try { acquireControllerLock(process.argv[1]); } catch (err) { refused = err.code + ': ' + err.message; }
      const store = openStore(process.argv[1]);
      store.sync.putSync('written-by-worker', process.pid);
      await store.close();
      process.stdout.write(JSON.stringify({ refused, pid: process.pid }));
    `;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, dir], { encoding: 'utf8' });
    const result = JSON.parse(out) as { refused: string; pid: number };
    expect(result.refused).toMatch(new RegExp(`^store.locked: .* in use by another mergekey controller \\(PID ${process.pid}\\)`));
    const { openStore } = await import('./open.ts');
    const store = openStore(dir);
    expect(store.sync.get('written-by-worker')).toBe(result.pid);
    await store.close();
  });

  it('is refused while another live process holds it', async () => {
    const dir = dataDir();
    const holder = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    children.push(holder);
    writeFileSync(join(dir, LOCK_FILE), `${holder.pid}\n`);
    const err = lockedError(() => acquireControllerLock(dir));
    expect(err.message).toContain(`(PID ${holder.pid})`);
  });
});
