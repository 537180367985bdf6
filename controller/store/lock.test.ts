import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
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

async function acquire(dir: string): Promise<ControllerLock> {
  const lock = await acquireControllerLock(dir);
  locks.push(lock);
  return lock;
}

async function lockedError(action: () => unknown): Promise<StoreError> {
  let caught: unknown;
  try {
    await action();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(StoreError);
  expect((caught as StoreError).code).toBe('store.locked');
  return caught as StoreError;
}

// A process that takes the lock of argv[1] as `mergekey serve` does, says so, and stays.
const HOLDER = `
  import { acquireControllerLock } from './controller/store/lock.ts';
  await acquireControllerLock(process.argv[1]);
  process.stdout.write('locked ' + process.pid + '\\n');
  setInterval(() => {}, 1000);
`;

/** Resolves with the first line of `child`'s stdout that matches `pattern`. */
function line(child: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const match = text.split('\n').find((l) => pattern.test(l));
      if (match !== undefined) resolve(match);
    });
    child.on('exit', () => reject(new Error(`exited before printing ${pattern}: ${text}`)));
  });
}

/** The state letter of /proc/PID/stat (R, S, Z, …), or undefined once the process is gone. */
function procState(pid: number): string | undefined {
  try {
    return /\) (\w)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))![1];
  } catch {
    return undefined;
  }
}

describe('acquireControllerLock', () => {
  it('refuses a second controller in the same process, naming the holder, and writes the PID for operators', async () => {
    const dir = dataDir();
    await acquire(dir);
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8')).toBe(`${process.pid}\n`);
    const err = await lockedError(() => acquireControllerLock(dir));
    expect(err.message).toBe(`the data directory ${dir} is in use by another mergekey controller (PID ${process.pid}); stop it first`);
  });

  it('can be taken again once released, and release removes the PID file', async () => {
    const dir = dataDir();
    (await acquire(dir)).release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    await acquire(dir);
    expect(existsSync(join(dir, LOCK_FILE))).toBe(true);
  });

  it('is one lock for two paths to the same directory', async () => {
    const dir = dataDir();
    const link = join(dataDir(), 'link');
    symlinkSync(dir, link);
    await acquire(dir);
    const err = await lockedError(() => acquireControllerLock(link));
    expect(err.message).toContain(`(PID ${process.pid})`);
  });

  it('is not blocked by a PID file naming a live unrelated process (a reused PID)', async () => {
    const dir = dataDir();
    // This test's own process is alive and is no controller of `dir`.
    writeFileSync(join(dir, LOCK_FILE), `${process.pid}\n`);
    await acquire(dir);
    const other = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    children.push(other);
    const dir2 = dataDir();
    writeFileSync(join(dir2, LOCK_FILE), `${other.pid}\n`);
    await acquire(dir2);
    expect(readFileSync(join(dir2, LOCK_FILE), 'utf8')).toBe(`${process.pid}\n`);
  });

  it('is not blocked by a PID file with no PID in it', async () => {
    const dir = dataDir();
    writeFileSync(join(dir, LOCK_FILE), 'garbage');
    await acquire(dir);
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8')).toBe(`${process.pid}\n`);
  });

  it('refuses while a controller in another process holds it, naming that process, and frees it when that process is killed', async () => {
    const dir = dataDir();
    const holder = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', HOLDER, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(holder);
    await line(holder, /^locked /);
    const err = await lockedError(() => acquireControllerLock(dir));
    expect(err.message).toBe(`the data directory ${dir} is in use by another mergekey controller (PID ${holder.pid}); stop it first`);

    const exited = new Promise((resolve) => holder.on('exit', resolve));
    holder.kill('SIGKILL');
    await exited;
    await acquire(dir);
  });

  it('is not held by a killed controller that its parent has not reaped (a zombie)', async () => {
    const dir = dataDir();
    // The shell starts the holder in the background and then becomes `sleep`, which never waits for
    // children: once killed, the holder stays a zombie for as long as the sleep lives.
    const parent = spawn('sh', ['-c', `"$0" --import tsx --input-type=module -e "$1" "$2" & exec sleep 600`, process.execPath, HOLDER, dir], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(parent);
    const pid = Number(/^locked (\d+)/.exec(await line(parent, /^locked /))![1]);
    await lockedError(() => acquireControllerLock(dir));

    process.kill(pid, 'SIGKILL');
    // Not a wait for the lock: for the kernel to make the holder a zombie, which the test asserts.
    while (procState(pid) !== 'Z') await new Promise((resolve) => setImmediate(resolve));
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8')).toBe(`${pid}\n`);
    await acquire(dir);
    expect(procState(pid)).toBe('Z');
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8')).toBe(`${process.pid}\n`);
  });

  it('lets the holder\'s other processes open the store without it, as workers do', async () => {
    const dir = dataDir();
    await acquire(dir);
    const script = `
      import { openHandles } from './controller/store/handles.ts';
      const store = openHandles(process.argv[1], { checkDataFile: false });
      store.sync.putSync('written-by-worker', process.pid);
      await store.close();
      process.stdout.write(String(process.pid));
    `;
    const pid = Number(execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, dir], { encoding: 'utf8' }));
    const { openHandles } = await import('./handles.ts');
    const store = openHandles(dir);
    expect(store.sync.get('written-by-worker')).toBe(pid);
    await store.close();
  });
});
