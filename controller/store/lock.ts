// One controller per data directory. Two `mergekey serve` processes on the same directory would
// both reconcile and both rotate signing keys; LMDB would keep each transaction intact but the
// two would fight over the result. The lock is a file holding the owner's PID: the primary
// process takes it, and its own worker processes (node:cluster) open the store without it.
//
// The lock file is created complete: the PID is written to a private temporary file that is then
// hard-linked into place, which fails if the lock exists. A reader therefore never sees an empty
// lock file, which it could not tell apart from one whose owner crashed mid-write.
import { linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { StoreError } from './errors.ts';

export const LOCK_FILE = 'controller.lock';

/** Lock files this process holds, so a PID in a file can be told apart from our own lock. */
const held = new Set<string>();

export interface ControllerLock {
  /** Removes the lock file (if it is still this process's). Idempotent. */
  release(): void;
}

/**
 * Takes the single-controller lock of `dataDir` (`<dataDir>/controller.lock`) and returns the
 * handle that releases it. A lock whose process is gone (crash, SIGKILL) is taken over. Throws
 * StoreError `store.locked` naming the PID when a live process holds it. The lock is also released
 * when the process exits normally.
 */
export function acquireControllerLock(dataDir: string): ControllerLock {
  const file = join(dataDir, LOCK_FILE);
  const content = `${process.pid}\n`;
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}`;
  writeFileSync(temp, content, { mode: 0o600, flag: 'wx' });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(temp, file);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        if (attempt >= 5) throw new StoreError('store.locked', `cannot take ${file}: other processes keep replacing it`);
      }
      const owner = readOwner(file);
      if (owner === undefined) continue; // removed between our link and our read: try again
      if (held.has(file) || (owner !== process.pid && isAlive(owner))) {
        throw new StoreError(
          'store.locked',
          `the data directory ${dataDir} is in use by another mergekey controller (PID ${owner}); ` +
            `stop it first, or remove ${file} if no mergekey process has that PID`,
        );
      }
      removeStale(file, owner);
    }
  } finally {
    unlinkSync(temp);
  }

  held.add(file);
  const release = () => {
    process.off('exit', release);
    if (!held.delete(file)) return;
    // Only remove the file if it is still ours: an operator may have removed it and another
    // controller started since.
    if (readOwner(file) === process.pid) unlinkSync(file);
  };
  process.on('exit', release);
  return { release };
}

function readOwner(file: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const pid = Number(text.trim());
  // A file with no valid PID was not written by this code (which links it in complete); it
  // belongs to nobody and counts as stale.
  return Number.isSafeInteger(pid) && pid > 0 ? pid : 0;
}

function isAlive(pid: number): boolean {
  if (pid === 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to another user; it is alive.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// Two processes may find the same stale lock at once. Each renames it to a private name first:
// only one rename of a given file succeeds, and if what was moved turns out to be a fresh lock
// (someone took over between our read and our rename), it is linked back.
function removeStale(file: string, stalePid: number): void {
  const aside = `${file}.stale.${process.pid}.${randomBytes(6).toString('hex')}`;
  try {
    renameSync(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (readOwner(aside) !== stalePid) {
    try {
      linkSync(aside, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  unlinkSync(aside);
}
