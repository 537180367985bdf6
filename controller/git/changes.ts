// What a change between two commits does to each path it touches: added, modified, deleted,
// renamed or copied. Git's `diff --name-status` (the developer's clone) and GitHub's pull request
// files (controller/github/) both come down to this, and the lifecycle's classify judges it, so it
// is declared here, below both. (source.ts's PathChange is the reconciler's narrower diff of
// manifest paths, without renames.)

export interface ChangedPath {
  status: 'added' | 'modified' | 'deleted' | 'renamed' | 'copied';
  path: string;
  /** For a rename or copy: where the file came from. */
  previousPath?: string;
}

/**
 * Parses `git diff --name-status -z -M <base> <head>` output (NUL-separated, so any path is safe).
 * Type changes count as modifications.
 */
export function parseNameStatus(output: string): ChangedPath[] {
  const fields = output.split('\0');
  const changes: ChangedPath[] = [];
  let i = 0;
  while (i < fields.length) {
    const code = fields[i];
    if (code === undefined || code === '') break;
    const letter = code[0];
    if (letter === 'R' || letter === 'C') {
      const previousPath = fields[i + 1];
      const path = fields[i + 2];
      if (previousPath === undefined || path === undefined) throw new TypeError(`truncated git name-status output after "${code}"`);
      changes.push({ status: letter === 'R' ? 'renamed' : 'copied', path, previousPath });
      i += 3;
      continue;
    }
    const path = fields[i + 1];
    if (path === undefined) throw new TypeError(`truncated git name-status output after "${code}"`);
    const status: ChangedPath['status'] | undefined =
      letter === 'A' ? 'added' : letter === 'D' ? 'deleted' : letter === 'M' || letter === 'T' ? 'modified' : undefined;
    if (status === undefined) throw new TypeError(`unexpected git name-status code "${code}" for ${path}`);
    changes.push({ status, path });
    i += 2;
  }
  return changes;
}
