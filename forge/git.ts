// Git plumbing over the stand-in's bare repository. Merges happen without a work tree:
// `git merge-tree --write-tree` (git ≥ 2.38) builds the merged tree, `commit-tree` makes the commit
// and `update-ref` moves the branch only if nobody moved it meanwhile, as GitHub does.
import { execFile } from 'node:child_process';

export interface Identity {
  name: string;
  email: string;
  /** Seconds since the epoch. */
  time: number;
}

export interface FileChange {
  status: 'added' | 'removed' | 'modified' | 'renamed' | 'copied' | 'changed';
  filename: string;
  previousFilename?: string;
  additions: number;
  deletions: number;
  /** Blob id on the head side; null for a removed file. */
  blob: string | null;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export class BareRepository {
  constructor(readonly dir: string) {}

  run(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
    return new Promise((resolve, reject) => {
      execFile(
        'git',
        ['--git-dir', this.dir, ...args],
        // A clean environment: the host's git config must not change what the stand-in does.
        { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', GIT_CONFIG_NOSYSTEM: '1', HOME: this.dir, ...env }, maxBuffer: 16 * 1024 * 1024 },
        (error, stdout, stderr) => {
          if (error !== null && typeof error.code !== 'number') return reject(error);
          resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr });
        },
      );
    });
  }

  private async ok(args: readonly string[], env?: Record<string, string>): Promise<string> {
    const result = await this.run(args, env);
    if (result.code !== 0) throw new Error(`git ${args.join(' ')} failed (${result.code}): ${result.stderr.trim()}`);
    return result.stdout;
  }

  /** The commit a ref (branch name, full ref or sha) points to, or undefined. */
  async resolve(ref: string): Promise<string | undefined> {
    if (ref.startsWith('-')) return undefined;
    const result = await this.run(['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`]);
    return result.code === 0 ? result.stdout.trim() : undefined;
  }

  branch(name: string): Promise<string | undefined> {
    return this.resolve(`refs/heads/${name}`);
  }

  /** Every branch and its commit, in one git call. */
  async branches(): Promise<Map<string, string>> {
    const output = await this.ok(['for-each-ref', '--format=%(objectname) %(refname)', 'refs/heads/']);
    const branches = new Map<string, string>();
    for (const line of output.split('\n')) {
      const space = line.indexOf(' ');
      if (space > 0) branches.set(line.slice(space + 1).replace(/^refs\/heads\//, ''), line.slice(0, space));
    }
    return branches;
  }

  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    return (await this.run(['merge-base', '--is-ancestor', ancestor, descendant])).code === 0;
  }

  async mergeBase(a: string, b: string): Promise<string | undefined> {
    const result = await this.run(['merge-base', a, b]);
    return result.code === 0 ? result.stdout.trim() : undefined;
  }

  async countCommits(base: string, head: string): Promise<number> {
    return Number((await this.ok(['rev-list', '--count', `${base}..${head}`])).trim());
  }

  /** Merges `head` into `base` in memory. Unrelated histories and conflicts are both "not mergeable". */
  async mergeTree(base: string, head: string): Promise<{ clean: true; tree: string } | { clean: false; conflicts: string[] }> {
    const result = await this.run(['merge-tree', '--write-tree', '--name-only', '--no-messages', base, head]);
    const lines = result.stdout.split('\n').filter((line) => line !== '');
    if (result.code === 0) return { clean: true, tree: lines[0]! };
    return { clean: false, conflicts: result.code === 1 ? lines.slice(1) : [] };
  }

  async treeOf(commit: string): Promise<string> {
    return (await this.ok(['rev-parse', `${commit}^{tree}`])).trim();
  }

  async commitTree(tree: string, parents: readonly string[], message: string, author: Identity, committer: Identity): Promise<string> {
    const env = {
      GIT_AUTHOR_NAME: author.name,
      GIT_AUTHOR_EMAIL: author.email,
      GIT_AUTHOR_DATE: `@${author.time} +0000`,
      GIT_COMMITTER_NAME: committer.name,
      GIT_COMMITTER_EMAIL: committer.email,
      GIT_COMMITTER_DATE: `@${committer.time} +0000`,
    };
    const args = ['commit-tree', tree, ...parents.flatMap((parent) => ['-p', parent]), '-m', message];
    return (await this.ok(args, env)).trim();
  }

  /** Moves `ref` from `expected` to `next`; false when the ref no longer points at `expected`. */
  async updateRef(ref: string, next: string, expected: string): Promise<boolean> {
    return (await this.run(['update-ref', ref, next, expected])).code === 0;
  }

  /** Files changed from `base` to `head`, with line counts, renames detected. */
  async diff(base: string, head: string): Promise<FileChange[]> {
    const [numstat, raw] = await Promise.all([
      this.ok(['diff', '--numstat', '-z', '-M', base, head]),
      this.ok(['diff', '--raw', '-z', '-M', '--abbrev=40', base, head]),
    ]);
    const counts = parseNumstat(numstat);
    const fields = raw.split('\0');
    const changes: FileChange[] = [];
    for (let i = 0; i < fields.length; ) {
      const meta = fields[i];
      if (meta === undefined || meta === '') break;
      // ":100644 100644 <old blob> <new blob> <status>"
      const [, , , newBlob, status] = meta.slice(1).split(' ') as [string, string, string, string, string];
      const letter = status[0];
      if (letter === 'R' || letter === 'C') {
        const previousFilename = fields[i + 1]!;
        const filename = fields[i + 2]!;
        const count = counts.get(filename) ?? { additions: 0, deletions: 0 };
        changes.push({ status: letter === 'R' ? 'renamed' : 'copied', filename, previousFilename, ...count, blob: newBlob });
        i += 3;
        continue;
      }
      const filename = fields[i + 1]!;
      const count = counts.get(filename) ?? { additions: 0, deletions: 0 };
      const kind = letter === 'A' ? 'added' : letter === 'D' ? 'removed' : letter === 'M' ? 'modified' : 'changed';
      changes.push({ status: kind, filename, ...count, blob: letter === 'D' ? null : newBlob });
      i += 2;
    }
    return changes;
  }
}

function parseNumstat(output: string): Map<string, { additions: number; deletions: number }> {
  // "<added>\t<deleted>\t<path>\0" or, for a rename, "<added>\t<deleted>\t\0<old>\0<new>\0".
  const counts = new Map<string, { additions: number; deletions: number }>();
  const fields = output.split('\0');
  for (let i = 0; i < fields.length; ) {
    const field = fields[i]!;
    if (field === '') {
      i += 1;
      continue;
    }
    const firstTab = field.indexOf('\t');
    const secondTab = field.indexOf('\t', firstTab + 1);
    const added = field.slice(0, firstTab);
    const deleted = field.slice(firstTab + 1, secondTab);
    const path = field.slice(secondTab + 1);
    const count = { additions: added === '-' ? 0 : Number(added), deletions: deleted === '-' ? 0 : Number(deleted) };
    if (path === '') {
      counts.set(fields[i + 2]!, count);
      i += 3;
    } else {
      counts.set(path, count);
      i += 1;
    }
  }
  return counts;
}
