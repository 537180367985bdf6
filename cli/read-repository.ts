// Reads a manifests repository from a directory on disk into the loader's RepoFile list.
//
// Only manifest paths are read (isManifestPath decides). Links are never followed: the controller
// reads manifests from git objects, where a symlink is a path string and not the file it names, so
// a linked manifest that looks fine on disk would not be what the controller applies. It is
// reported at its own path instead.
//
// The reads are synchronous on purpose: for thousands of small files, node's promise API costs
// three thread-pool round trips per file (open, read, close) and measured 4 to 6 times slower.
// This runs in the CLI, where nothing else waits on the event loop.
//
// Everything is bounded before it is read, as in the controller: only the manifest folders are
// walked (a vendored tree elsewhere costs nothing), a file's size comes from fstat before its
// bytes, and a repository with more manifest paths than the controller reads is refused.
import { closeSync, constants, fstatSync, openSync, readdirSync, readSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { LIMITS } from '../controller/config/defaults.ts';
import { isManifestPath, type Problem, type RepoFile } from '../controller/manifests/index.ts';
import { failure } from './errors.ts';

const SYMLINK_MESSAGE = 'is a symbolic link; a manifest must be a regular file (links are not followed)';

/** Problems found before any manifest is parsed, beside the loader's own codes. */
export const READ_PROBLEM_CODES = {
  'file.symlink': 'A manifest path (or a manifest folder) that is a symbolic link; links are not followed.',
  'file.not-regular': 'A manifest path that is a FIFO, socket or device rather than a regular file.',
  'file.unreadable': 'A manifest path the operating system refused to read (permissions, I/O error).',
  'file.too-large': 'A manifest over the size cap (256 KiB); its size is taken before it is read, and it is not read.',
} as const;

export type ReadProblemCode = keyof typeof READ_PROBLEM_CODES;

export interface ReadProblem extends Omit<Problem, 'code'> {
  code: ReadProblemCode;
}

export interface RepositoryFiles {
  files: RepoFile[];
  /** Manifest paths that could not be read as regular files. */
  problems: ReadProblem[];
}

export function readRepositoryFiles(root: string): RepositoryFiles {
  const paths: string[] = [];
  const problems: ReadProblem[] = [];
  const pending = [''];
  while (pending.length > 0) {
    const dir = pending.pop()!;
    let entries: Dirent[];
    try {
      entries = readdirSync(join(root, dir), { withFileTypes: true });
    } catch (error) {
      if (dir === '') throw error;
      // A folder that cannot hold manifests (say, a private tool cache) does not concern us.
      if (holdsManifests(dir)) problems.push(atStart(dir, 'file.unreadable', `cannot be read: ${(error as NodeJS.ErrnoException).code}`));
      continue;
    }
    for (const entry of entries) {
      const path = dir === '' ? entry.name : `${dir}/${entry.name}`;
      if (entry.isDirectory()) {
        // Manifest paths start with a manifest folder: no other folder of the root is walked.
        if (dir !== '' || holdsManifests(path)) pending.push(path);
      } else if (entry.isFile()) {
        if (dir === '' && holdsManifests(path)) {
          problems.push(atStart(path, 'file.not-regular', 'is not a folder; manifests of its kind live in a folder of that name'));
          continue;
        }
        if (!isManifestPath(path)) continue;
        if (paths.length >= LIMITS.manifestsMaxCount) {
          throw failure(`${root} has more than ${LIMITS.manifestsMaxCount} manifest files; mergekey does not read more`);
        }
        paths.push(path);
      } else if (entry.isSymbolicLink()) {
        if (isManifestPath(path)) {
          problems.push(atStart(path, 'file.symlink', SYMLINK_MESSAGE));
        } else if (holdsManifests(path)) {
          problems.push(atStart(path, 'file.symlink', 'is a symbolic link to a folder; manifests in it are not read (links are not followed)'));
        }
      } else if (isManifestPath(path)) {
        problems.push(atStart(path, 'file.not-regular', 'is not a regular file'));
      } else if (dir === '' && holdsManifests(path)) {
        // A manifest folder that is a file (or a FIFO...): the controller holds such a commit whole.
        problems.push(atStart(path, 'file.not-regular', 'is not a folder; manifests of its kind live in a folder of that name'));
      }
    }
  }

  const files: RepoFile[] = [];
  for (const path of paths) {
    const result = readNoFollow(join(root, path));
    if (result instanceof Uint8Array) files.push({ path, content: result });
    else problems.push(atStart(path, result.code, result.message));
  }
  return { files, problems };
}

/** Whether files directly in `path` would be manifests, i.e. it is one of the manifest folders. */
function holdsManifests(path: string): boolean {
  return isManifestPath(`${path}/probe.yaml`);
}

function readNoFollow(file: string): Uint8Array | { code: ReadProblemCode; message: string } {
  let fd: number;
  try {
    // O_NOFOLLOW closes the gap between readdir and open: a file swapped for a link is refused.
    // O_NONBLOCK keeps a FIFO swapped in from blocking the open; fstat then refuses it.
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') return { code: 'file.symlink', message: SYMLINK_MESSAGE };
    return { code: 'file.unreadable', message: `cannot be read: ${code ?? (error as Error).message}` };
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return { code: 'file.not-regular', message: 'is not a regular file' };
    if (stat.size > LIMITS.manifestMaxBytes) {
      return { code: 'file.too-large', message: `is ${stat.size} bytes; manifests are limited to ${LIMITS.manifestMaxBytes} bytes` };
    }
    // Read at most one byte past the cap: a file that grew since fstat is still refused unread.
    const buffer = Buffer.alloc(Math.min(stat.size, LIMITS.manifestMaxBytes) + 1);
    let length = 0;
    for (let n = -1; n !== 0 && length < buffer.length; length += n) n = readSync(fd, buffer, length, buffer.length - length, null);
    if (length > LIMITS.manifestMaxBytes) return { code: 'file.too-large', message: `is over ${LIMITS.manifestMaxBytes} bytes; manifests are limited to ${LIMITS.manifestMaxBytes} bytes` };
    return buffer.subarray(0, length);
  } catch (error) {
    return { code: 'file.unreadable', message: `cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` };
  } finally {
    closeSync(fd);
  }
}

function atStart(path: string, code: ReadProblemCode, message: string): ReadProblem {
  return { path, line: 1, column: 1, code, message };
}
