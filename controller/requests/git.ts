// The developer's clone (or the portal's), as requests and the repo's check use it: what a working
// copy does that the controller does not (fetch a branch, diff two commits, make a request's one
// commit with plumbing on a private index, push it), so the user's checkout, index and branches
// stay untouched. Manifests are read from commit objects (never the work tree, which may hold
// unrelated edits) by the controller's own hardened reader (controller/git/source.ts): the same
// caps and refusals, so what the check accepts is what the controller applies. Only `git push`
// and `git fetch` touch anything outside the object database.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { LIMITS } from '../config/defaults.ts';
import { GitError, workingCopyReader, type ManifestReader, type SourceProblem } from '../git/source.ts';
import type { RepoFile } from '../manifests/index.ts';
import { parseNameStatus, type ChangedPath } from '../git/changes.ts';
import { RequestError } from './errors.ts';

/** The most output a listing may give: the controller's manifest count, at a generous length each. */
const MAX_LISTING_BYTES = LIMITS.manifestsMaxCount * 512;

interface RunOptions {
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  /** Stop git and fail when its output passes this many bytes. */
  maxBytes?: number;
}

export interface CommitFiles {
  files: RepoFile[];
  /** Manifest paths refused unread, with the controller's codes: symlinks, submodules, oversized files. */
  problems: SourceProblem[];
  /** Manifest folders (apps/, apis/, plans/, users/) that are a symlink, a submodule or a file: the controller holds such a commit. */
  notFolders: string[];
}

export class Clone {
  readonly git: SimpleGit;
  readonly #reader: ManifestReader;

  // Git runs in the process's own environment, as from the user's shell: credential helpers,
  // GIT_SSH_COMMAND, CA settings and identity all apply. Reading manifests needs none of that, and
  // reads through the controller's hardened reader instead.
  private constructor(readonly root: string) {
    this.git = simpleGit({ baseDir: root });
    this.#reader = workingCopyReader(root);
  }

  /** The clone containing `cwd`, or a clear error when `cwd` is not in a git work tree. */
  static async open(cwd: string): Promise<Clone> {
    let root: string;
    try {
      root = (await run(cwd, ['rev-parse', '--show-toplevel'])).toString('utf8').trim();
    } catch {
      throw new RequestError('not-a-clone', { path: cwd }, `${cwd} is not inside a clone of the manifests repository`, {
        hint: 'Run this in a clone of the manifests repository (git clone …, then cd into it).',
      });
    }
    return new Clone(root);
  }

  /** Runs git in the clone and returns its stdout; throws with git's stderr on failure. */
  run(args: readonly string[], options: RunOptions = {}): Promise<Buffer> {
    return run(this.root, args, options);
  }

  /**
   * Brings `origin/<branch>` up to date and returns its commit. Fetches exactly that branch into
   * its remote-tracking ref, whatever the clone's fetch refspecs say.
   */
  async fetchBranch(branch: string): Promise<string> {
    try {
      await this.git.fetch('origin', `+refs/heads/${branch}:refs/remotes/origin/${branch}`, { '--no-tags': null, '--quiet': null });
    } catch (error) {
      throw new RequestError('git-fetch-failed', { branch }, `cannot fetch ${branch} from origin: ${gitMessage(error)}`, {
        hint: 'Check the network and that origin points at the manifests repository.',
      });
    }
    return this.resolve(`refs/remotes/origin/${branch}`);
  }

  /** The commit `ref` names; a clear error when it names none. */
  async resolve(ref: string): Promise<string> {
    try {
      return (await this.run(['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`])).toString('utf8').trim();
    } catch {
      throw new RequestError('unknown-commit', { branch: ref }, `'${ref}' does not name a commit in this clone`, { hint: 'Fetch it first (git fetch origin), or give a commit id.' });
    }
  }

  /**
   * Every manifest file in `commit`'s tree, read from git objects by the controller's own reader
   * (controller/git/source.ts): the same caps and refusals, sizes checked before anything is read.
   */
  async readManifests(commit: string): Promise<CommitFiles> {
    return withGitErrors(async () => {
      const listing = await this.#reader.listManifests(commit, { reportFolders: true });
      const read = await this.#reader.readFiles(listing.entries);
      const files = read.files.map(({ path, content }) => ({ path, content })).sort((x, y) => byPath(x.path, y.path));
      const problems = [...listing.problems, ...read.problems].sort((x, y) => byPath(x.path, y.path));
      return { files, problems, notFolders: listing.notFolders };
    });
  }

  /** One file's content at `commit`, or undefined when the path is not a regular file there; over the size cap, a `manifest-too-large` error. */
  async readFile(commit: string, path: string): Promise<Uint8Array | undefined> {
    return withGitErrors(async () => {
      const entry = await this.#reader.entryAt(commit, path);
      if (entry === undefined) return undefined;
      const refused = this.#reader.refuse(path, entry.mode, entry.type === 'blob' ? entry.size : 0);
      if (refused?.code === 'file.too-large') {
        throw new RequestError('manifest-too-large', { path }, `${path} is ${entry.size} bytes at ${commit.slice(0, 12)}; manifests are limited to ${this.#reader.maxFileBytes} bytes`);
      }
      if (refused !== undefined) return undefined;
      const read = await this.#reader.readFiles([entry]);
      return read.files[0]?.content;
    });
  }

  /** Paths changed from `from` to `to` (renames detected), as the lifecycle reads them. */
  async changedPaths(from: string, to: string): Promise<ChangedPath[]> {
    const output = await this.run(['diff', '--name-status', '-z', '-M', '--no-ext-diff', from, to, '--'], { maxBytes: MAX_LISTING_BYTES });
    return parseNameStatus(output.toString('utf8'));
  }

  /** The merge base of two commits: what a pull request's diff is taken against. */
  async mergeBase(a: string, b: string): Promise<string | undefined> {
    try {
      return (await this.run(['merge-base', a, b])).toString('utf8').trim();
    } catch {
      return undefined;
    }
  }

  /** Whether `ancestor` is `descendant` or one of its ancestors. False when either is unknown. */
  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    try {
      await this.run(['merge-base', '--is-ancestor', ancestor, descendant]);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * A commit on top of `parent` that writes `content` at `path` and changes nothing else. Built on
   * a private index in a temporary folder: the user's index, work tree and HEAD are not touched.
   */
  commitFile(parent: string, path: string, content: string, message: string): Promise<string> {
    return this.commitFiles(parent, { [path]: content }, message);
  }

  /** Like `commitFile`, for several paths; `null` removes a path. */
  async commitFiles(parent: string, changes: Readonly<Record<string, string | null>>, message: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'mergekey-index-'));
    const env = { ...process.env, GIT_INDEX_FILE: join(dir, 'index') };
    try {
      await this.run(['read-tree', parent], { env });
      for (const [path, content] of Object.entries(changes)) {
        if (content === null) {
          await this.run(['update-index', '--force-remove', '--', path], { env });
          continue;
        }
        const blob = (await this.run(['hash-object', '-w', '--stdin'], { input: content })).toString('utf8').trim();
        await this.run(['update-index', '--add', '--cacheinfo', `100644,${blob},${path}`], { env });
      }
      const tree = (await this.run(['write-tree'], { env })).toString('utf8').trim();
      return (await this.run(['commit-tree', tree, '-p', parent, '-F', '-'], { input: message })).toString('utf8').trim();
    } catch (error) {
      const text = gitMessage(error);
      if (/Please tell me who you are|empty ident|user\.email/i.test(text)) {
        throw new RequestError('git-identity-missing', {}, 'git does not know who you are, so it cannot commit the request', {
          hint: 'Set it with: git config --global user.name "Your Name" && git config --global user.email you@example.com',
        });
      }
      throw new RequestError('git-commit-failed', {}, `git could not make the request's commit: ${text}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Pushes `commit` to a new branch on origin; refuses to move an existing branch. */
  async pushNewBranch(commit: string, branch: string): Promise<void> {
    try {
      // The lease on "no such branch" makes the push fail instead of overwriting someone's branch.
      await this.git.push('origin', `${commit}:refs/heads/${branch}`, { [`--force-with-lease=refs/heads/${branch}:`]: null, '--quiet': null });
    } catch (error) {
      throw new RequestError('git-push-failed', { branch }, `cannot push the request branch ${branch} to origin: ${gitMessage(error)}`, {
        hint: 'Check that you may push to the manifests repository.',
      });
    }
  }

  /** Deletes a branch on origin; used to leave nothing behind when opening a request fails. */
  async deleteRemoteBranch(branch: string): Promise<void> {
    await this.git.push('origin', `:refs/heads/${branch}`, { '--quiet': null });
  }

  /** Whether origin has `branch` (asks origin, not the local remote-tracking refs). */
  async remoteBranchExists(branch: string): Promise<boolean> {
    const output = (await this.run(['ls-remote', '--heads', 'origin', `refs/heads/${branch}`])).toString('utf8');
    return output.trim() !== '';
  }
}

function run(cwd: string, args: readonly string[], options: RunOptions = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd, env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let bytes = 0;
    let tooLarge = false;
    child.stdout.on('data', (chunk: Buffer) => {
      if (tooLarge) return;
      bytes += chunk.length;
      if (options.maxBytes !== undefined && bytes > options.maxBytes) {
        tooLarge = true;
        out.length = 0;
        child.kill('SIGKILL');
        return;
      }
      out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (error) => reject(new RequestError('git-unavailable', {}, `cannot run git: ${error.message}`, { hint: 'Install git and put it on PATH.' })));
    child.on('close', (code) => {
      if (tooLarge) reject(new RequestError('git-failed', {}, `git ${args[0]} gave more than ${options.maxBytes} bytes; mergekey does not read that much from one command`));
      else if (code === 0) resolve(Buffer.concat(out));
      else reject(new Error(`git ${args[0]} failed: ${Buffer.concat(err).toString('utf8').trim() || `exit ${code}`}`));
    });
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
  });
}

export function gitMessage(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).trim().split('\n').filter((line) => line.trim() !== '').slice(-3).join(' ');
}

function byPath(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The reader's GitErrors as the workflow's: a commit too large to read, or git failing on it. */
async function withGitErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof GitError)) throw error;
    throw new RequestError(error.code === 'TOO_LARGE' ? 'repository-too-large' : 'git-failed', {}, error.message, { cause: error });
  }
}
