// Writing files that hold secrets (the controller's keys, the CLI's credentials file): created
// owner-only from the first byte, and put in place atomically, so a crash or a full disk never
// leaves half a key where a whole one is expected. The temporary file sits beside the target, on
// the same file system, since rename(2) and link(2) are atomic only there.
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** Owner read/write only. */
export const PRIVATE_FILE_MODE = 0o600;
/** Owner only. */
export const PRIVATE_DIR_MODE = 0o700;

/**
 * Creates `path` holding `data` (mode 0600). Throws EEXIST, leaving the existing file untouched,
 * when it exists: two processes creating the same key at once cannot both win, and the loser
 * reads the winner's file.
 */
export function createPrivateFile(path: string, data: string | Uint8Array): void {
  createFileExclusive(path, data, PRIVATE_FILE_MODE);
}

/** `createPrivateFile` with another mode, for files meant to be shared (a new manifest). */
export function createFileExclusive(path: string, data: string | Uint8Array, mode: number): void {
  const temp = writeTemp(path, data, mode);
  try {
    linkSync(temp, path);
  } finally {
    unlinkSync(temp);
  }
  syncDir(dirname(path));
}

/** Writes `path` holding `data` (mode 0600), replacing any existing file in one step. */
export function replacePrivateFile(path: string, data: string | Uint8Array): void {
  const temp = writeTemp(path, data, PRIVATE_FILE_MODE);
  try {
    renameSync(temp, path);
  } catch (err) {
    unlinkSync(temp);
    throw err;
  }
  syncDir(dirname(path));
}

/**
 * Why `path` is not private enough, or undefined. Like ssh, refuses group and world access; the
 * mode bits say nothing on Windows, which is not checked.
 */
export function permissionProblem(path: string): string | undefined {
  if (process.platform === 'win32') return undefined;
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) === 0) return undefined;
  return `permissions ${mode.toString(8).padStart(4, '0')} on ${path} are too open: it must be readable by its owner only (chmod 600 ${path})`;
}

function writeTemp(path: string, data: string | Uint8Array, mode: number): string {
  const temp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  const fd = openSync(temp, 'wx', mode);
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    for (let written = 0; written < bytes.length; ) written += writeSync(fd, bytes, written);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    unlinkSync(temp);
    throw err;
  }
  closeSync(fd);
  return temp;
}

/** Makes the new directory entry durable: without it a crash can lose a renamed file. */
function syncDir(dir: string): void {
  if (process.platform === 'win32') return;
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
