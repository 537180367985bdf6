// Reads a manifests repository from a directory on disk into the loader's RepoFile list.
//
// Only manifest paths are read (isManifestPath decides). Links are never followed: the controller
// reads manifests from git objects, where a symlink is a path string and not the file it names, so
// a linked manifest that looks fine on disk would not be what the controller applies. It is
// reported at its own path instead.
import { constants } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isManifestPath, type Problem, type RepoFile } from '../controller/manifests/index.ts';

/** Files read at once: enough to hide disk latency, few enough to stay far from EMFILE. */
const READ_CONCURRENCY = 32;

export interface RepositoryFiles {
  files: RepoFile[];
  /** Manifest paths that could not be read as regular files. */
  problems: Problem[];
}

export async function readRepositoryFiles(root: string): Promise<RepositoryFiles> {
  const paths: string[] = [];
  const problems: Problem[] = [];
  const pending = [''];
  while (pending.length > 0) {
    const dir = pending.pop()!;
    let entries;
    try {
      entries = await readdir(join(root, dir), { withFileTypes: true });
    } catch (error) {
      if (dir === '') throw error;
      // A folder that cannot hold manifests (say, a private tool cache) does not concern us.
      if (holdsManifests(dir)) problems.push(atStart(dir, 'unreadable', `cannot be read: ${(error as NodeJS.ErrnoException).code}`));
      continue;
    }
    for (const entry of entries) {
      const path = dir === '' ? entry.name : `${dir}/${entry.name}`;
      if (entry.isDirectory()) {
        if (entry.name !== '.git') pending.push(path);
      } else if (entry.isFile()) {
        if (isManifestPath(path)) paths.push(path);
      } else if (entry.isSymbolicLink()) {
        if (isManifestPath(path)) {
          problems.push(atStart(path, 'symlink', 'is a symbolic link; a manifest must be a regular file (links are not followed)'));
        } else if (holdsManifests(path)) {
          problems.push(atStart(path, 'symlink', 'is a symbolic link to a folder; manifests in it are not read (links are not followed)'));
        }
      } else if (isManifestPath(path)) {
        problems.push(atStart(path, 'not-a-file', 'is not a regular file'));
      }
    }
  }

  const files: RepoFile[] = new Array(paths.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < paths.length) {
      const index = next++;
      const path = paths[index]!;
      const result = await readNoFollow(join(root, path));
      if (result instanceof Uint8Array) files[index] = { path, content: result };
      else problems.push(atStart(path, result.code, result.message));
    }
  };
  await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, paths.length) }, worker));
  return { files: files.filter((file) => file !== undefined), problems };
}

/** Whether files directly in `path` would be manifests, i.e. it is one of the manifest folders. */
function holdsManifests(path: string): boolean {
  return isManifestPath(`${path}/probe.yaml`);
}

async function readNoFollow(file: string): Promise<Uint8Array | { code: string; message: string }> {
  let handle;
  try {
    // O_NOFOLLOW closes the gap between readdir and open: a file swapped for a link is refused.
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') return { code: 'symlink', message: 'is a symbolic link; a manifest must be a regular file (links are not followed)' };
    return { code: 'unreadable', message: `cannot be read: ${code ?? (error as Error).message}` };
  }
  try {
    return await handle.readFile();
  } catch (error) {
    return { code: 'unreadable', message: `cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` };
  } finally {
    await handle.close();
  }
}

function atStart(path: string, code: string, message: string): Problem {
  return { path, line: 1, column: 1, code, message };
}
