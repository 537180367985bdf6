// One controller per data directory. Two `mergekey serve` processes on the same directory would
// both reconcile and both rotate signing keys; LMDB would keep each transaction intact but the
// two would fight over the result. The primary process takes the lock and holds it for its whole
// life; its own worker processes (node:cluster) open the store without it.
//
// The lock is a Unix socket bound in Linux's abstract namespace under a name derived from the data
// directory's device and inode numbers. The kernel frees an abstract socket when the last
// descriptor on it closes, and a process's descriptors close when it exits — also when it is
// SIGKILLed, and before its parent reaps it, so a zombie holds nothing. A PID in a file could not
// tell a dead holder from a live one reliably: a zombie answers `kill(pid, 0)`, and after a restart
// (a container's) the PID may belong to any other process. Node has no flock(2), and the npm
// packages that wrap it build native code at install, which this install does not run.
//
// Device and inode, not the path: two paths to one directory (a symlink, a bind mount) are one
// lock. The name is per network namespace: servers in containers with separate network
// namespaces over one shared volume do not see each other's lock (README, "The store").
//
// `<dataDir>/controller.lock` still holds the holder's PID, for an operator to read; nothing
// decides on it. A refused server asks the holder itself for its PID, over the socket.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { StoreError } from './errors.ts';

export const LOCK_FILE = 'controller.lock';

/** How long a refused server waits for the holder to say its PID before naming none. */
const HOLDER_ANSWER_MS = 2_000;

export interface ControllerLock {
  /** Frees the lock and removes the PID file (if it is still this process's). Idempotent. */
  release(): void;
}

/** The abstract socket name of `dataDir`'s lock (a leading NUL selects the abstract namespace). */
export function lockName(dataDir: string): string {
  const { dev, ino } = statSync(dataDir, { bigint: true });
  return `\0mergekey-controller-lock-${createHash('sha256').update(`${dev}:${ino}`).digest('hex').slice(0, 40)}`;
}

/**
 * Takes the single-controller lock of `dataDir` and returns the handle that frees it. Throws
 * StoreError `store.locked` naming the holder's PID when a live process holds it. The kernel frees
 * the lock when this process exits, however it exits.
 */
export async function acquireControllerLock(dataDir: string): Promise<ControllerLock> {
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new StoreError('store.unreadable', `cannot create the data directory ${dataDir}: ${(err as Error).message}`, { cause: err });
  }
  const name = lockName(dataDir);
  // The holder answers whoever connects with its PID: that is how a refused server names it.
  const server = createServer((socket) => {
    socket.on('error', () => socket.destroy());
    socket.end(`${process.pid}\n`);
  });
  const deadline = Date.now() + HOLDER_ANSWER_MS;
  for (;;) {
    try {
      await listen(server, name);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') {
        throw new StoreError('store.unreadable', `cannot take the lock of ${dataDir}: ${(err as Error).message}`, { cause: err });
      }
    }
    const pid = await askHolder(name, deadline);
    // No answer and the name still bound: the holder may be dying (a SIGKILLed process's threads
    // take a moment to exit, and its descriptors close with the last one), so try again until the
    // holder has had its time to answer. A holder that answers is alive.
    if (pid !== undefined || Date.now() >= deadline) {
      throw new StoreError(
        'store.locked',
        `the data directory ${dataDir} is in use by another mergekey controller (${pid === undefined ? 'it did not say its PID' : `PID ${pid}`}); stop it first`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  // The lock must not keep the process alive by itself; it lives as long as the process does.
  server.unref();

  const file = join(dataDir, LOCK_FILE);
  writePidFile(file);
  let held = true;
  return {
    release() {
      if (!held) return;
      held = false;
      server.close();
      // Only remove the file if it is still ours: a controller that took the lock after us wrote its own.
      try {
        if (readFileSync(file, 'utf8') === `${process.pid}\n`) unlinkSync(file);
      } catch {
        // Gone already: nothing to remove.
      }
    },
  };
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ path }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** The PID the lock's holder answers with, or undefined if it does not answer by `deadline`. */
function askHolder(name: string, deadline: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    let text = '';
    const socket = createConnection({ path: name });
    const done = (pid: number | undefined) => {
      socket.destroy();
      resolve(pid);
    };
    socket.setTimeout(Math.max(1, deadline - Date.now()), () => done(undefined));
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    socket.on('end', () => {
      const pid = Number(text.trim());
      done(Number.isSafeInteger(pid) && pid > 0 ? pid : undefined);
    });
    socket.on('error', () => done(undefined));
  });
}

/** Writes the PID file whole (a temporary file renamed into place), for operators only. */
function writePidFile(file: string): void {
  const temp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, `${process.pid}\n`, { mode: 0o600 });
    renameSync(temp, file);
  } catch {
    // Information only: the lock is the socket, which is held.
  }
}
