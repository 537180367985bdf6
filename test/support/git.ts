// Test fixtures: real bare git repositories built from object literals, in the spirit of
// changesets' `gitdir()`. Commits are written with `git fast-import`, so a 10,000-file commit
// takes a fraction of a second and no work tree is ever needed.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A file's content, a symlink, a submodule (gitlink), a blob already in the repository (for files
 * too large to build in memory: see `writeBlobFromFile`), or `null` to delete the path.
 */
export type FixtureEntry = string | { symlink: string } | { submodule: string } | { blob: string } | null;
export type Fixture = Record<string, FixtureEntry>;

const GIT_ENV = {
  ...process.env,
  GIT_TERMINAL_PROMPT: '0',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
};

export function git(cwd: string, args: string[], input?: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd, env: GIT_ENV, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(Buffer.concat(out).toString())
        : reject(new Error(`git ${args.join(' ')}: ${Buffer.concat(err).toString()}`)),
    );
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });
}

export interface CommitOptions {
  branch?: string;
  message?: string;
  /** Start a new history (no parent, every earlier file gone): what a force push of an orphan does. */
  orphan?: boolean;
  /** Parent commit; defaults to the branch's head. */
  parent?: string;
}

export class FixtureRepo {
  private clock = 1_700_000_000;

  private constructor(readonly path: string) {}

  /** An empty bare repository in a fresh temp dir (or at `path`). */
  static async create(path = join(mkdtempSync(join(tmpdir(), 'mergekey-repo-')), 'manifests.git'), options: { objectFormat?: 'sha1' | 'sha256' } = {}): Promise<FixtureRepo> {
    await git(tmpdir(), ['init', '--bare', '--quiet', '--initial-branch=main', `--object-format=${options.objectFormat ?? 'sha1'}`, path]);
    return new FixtureRepo(path);
  }

  /** Writes one commit on `branch` applying `files` on top of its parent; returns the commit id. */
  async commit(files: Fixture, options: CommitOptions = {}): Promise<string> {
    const branch = options.branch ?? 'main';
    const ref = `refs/heads/${branch}`;
    const parent = options.orphan === true ? undefined : (options.parent ?? (await this.head(branch)));
    const message = options.message ?? 'change';
    const chunks: Buffer[] = [];
    const data = (text: string | Buffer) => {
      const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text);
      chunks.push(Buffer.from(`data ${bytes.length}\n`), bytes, Buffer.from('\n'));
    };
    this.clock += 60;
    // Without `reset`, fast-import would give a commit with no `from` the branch's tip as parent.
    if (parent === undefined) chunks.push(Buffer.from(`reset ${ref}\n\n`));
    chunks.push(Buffer.from(`commit ${ref}\ncommitter Test <test@example.com> ${this.clock} +0000\n`));
    data(message);
    if (parent !== undefined) chunks.push(Buffer.from(`from ${parent}\n`));
    else chunks.push(Buffer.from('deleteall\n'));
    for (const [path, entry] of Object.entries(files)) {
      if (entry === null) chunks.push(Buffer.from(`D ${path}\n`));
      else if (typeof entry === 'string') {
        chunks.push(Buffer.from(`M 100644 inline ${path}\n`));
        data(entry);
      } else if ('symlink' in entry) {
        chunks.push(Buffer.from(`M 120000 inline ${path}\n`));
        data(entry.symlink);
      } else if ('blob' in entry) {
        chunks.push(Buffer.from(`M 100644 ${entry.blob} ${path}\n`));
      } else {
        chunks.push(Buffer.from(`M 160000 ${entry.submodule} ${path}\n`));
      }
    }
    chunks.push(Buffer.from('\n'));
    // --force: an orphan commit replaces the branch, which is a non-fast-forward update.
    await git(this.path, ['fast-import', '--quiet', '--force', '--date-format=raw'], Buffer.concat(chunks));
    return (await this.head(branch))!;
  }

  /** Stores a file of the file system as a blob (git streams it: nothing of it is held in memory here). */
  async writeBlobFromFile(file: string): Promise<string> {
    return (await git(this.path, ['hash-object', '-w', '--no-filters', '--', file])).trim();
  }

  async head(branch = 'main'): Promise<string | undefined> {
    try {
      return (await git(this.path, ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`])).trim() || undefined;
    } catch {
      return undefined;
    }
  }

  /** Points `branch` at `commit`, whatever it pointed at: what `git push --force` of an older commit does. */
  async forcePush(commit: string, branch = 'main'): Promise<void> {
    await git(this.path, ['update-ref', `refs/heads/${branch}`, commit]);
  }

  async renameBranch(from: string, to: string): Promise<void> {
    await git(this.path, ['branch', '-m', from, to]);
  }

  remove(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}
