// The developer's clone, as requests and the repo's check use it: manifests read from commit
// objects (never the work tree, which may hold unrelated edits), and a request's one commit made
// with plumbing on a private index, so the user's checkout, index and branches stay untouched.
// Only `git push` and `git fetch` touch anything outside the object database.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { LIMITS } from '../config/defaults.ts';
import { isManifestPath, type RepoFile } from '../manifests/index.ts';
import { parseNameStatus, type ChangedPath } from './index.ts';
import { RequestError } from './errors.ts';

/** Git's mode for a symbolic link: a path string, not the file it names. */
const SYMLINK_MODE = '120000';
/**
 * The controller's cap: a file the check accepted but the controller refuses would pass review
 * and then not apply. Larger files are never read into memory; their size comes from the listing.
 */
export const MAX_MANIFEST_BYTES = LIMITS.manifestMaxBytes;
/** The most output a listing may give: the controller's manifest count, at a generous length each. */
const MAX_LISTING_BYTES = LIMITS.manifestsMaxCount * 512;
/** Where manifests can be: nothing else of a tree is listed (a vendored folder costs nothing). */
const MANIFEST_FOLDERS = ['apis', 'apps', 'plans', 'users'];

interface RunOptions {
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  /** Stop git and fail when its output passes this many bytes. */
  maxBytes?: number;
}

/** A tree entry that is not a readable manifest file, reported by path. */
export interface SkippedEntry {
  path: string;
  /** `not-a-folder`: apps/, apis/, plans/ or users/ is a symlink, a submodule or a file. */
  reason: 'symlink' | 'not-a-file' | 'too-large' | 'not-a-folder';
}

export interface CommitFiles {
  files: RepoFile[];
  skipped: SkippedEntry[];
}

export class Clone {
  readonly git: SimpleGit;

  // Git runs in the process's own environment, as from the user's shell: credential helpers,
  // GIT_SSH_COMMAND, CA settings and identity all apply.
  private constructor(readonly root: string) {
    this.git = simpleGit({ baseDir: root });
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

  /** Every manifest file in `commit`'s tree, read from git objects; sizes from the listing, before anything is read. */
  async readManifests(commit: string): Promise<CommitFiles> {
    const listed = [
      ...(await this.listing(commit, false, [])),
      ...(await this.listing(commit, true, MANIFEST_FOLDERS)),
    ];
    const wanted: { path: string; oid: string }[] = [];
    const skipped: SkippedEntry[] = [];
    for (const { mode, type, oid, size, path } of listed) {
      // The controller holds a commit whose manifest folder is not a folder; the check says so.
      if (MANIFEST_FOLDERS.includes(path) && type !== 'tree') {
        // Listed twice (the root and the folder's own listing): reported once.
        if (!skipped.some((entry) => entry.path === path)) skipped.push({ path, reason: 'not-a-folder' });
        continue;
      }
      if (!isManifestPath(path)) continue;
      if (wanted.length + skipped.length >= LIMITS.manifestsMaxCount) {
        throw new RequestError('repository-too-large', {}, `${commit.slice(0, 12)} has more than ${LIMITS.manifestsMaxCount} manifests; mergekey does not read it`);
      }
      if (mode === SYMLINK_MODE) skipped.push({ path, reason: 'symlink' });
      else if (type !== 'blob') skipped.push({ path, reason: 'not-a-file' });
      else if (size > MAX_MANIFEST_BYTES) skipped.push({ path, reason: 'too-large' });
      else wanted.push({ path, oid });
    }
    wanted.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const contents = await this.readBlobs(wanted.map((entry) => entry.oid));
    return { files: wanted.map((entry, i) => ({ path: entry.path, content: contents[i]! })), skipped };
  }

  /** One file's content at `commit`, or undefined when the path is not a file there (or is over the size cap). */
  async readFile(commit: string, path: string): Promise<Uint8Array | undefined> {
    const entry = (await this.listing(commit, false, [path])).find((e) => e.path === path);
    if (entry === undefined || entry.type !== 'blob' || entry.mode === SYMLINK_MODE) return undefined;
    if (entry.size > MAX_MANIFEST_BYTES) throw new RequestError('manifest-too-large', { path }, `${path} is ${entry.size} bytes at ${commit.slice(0, 12)}; manifests are limited to ${MAX_MANIFEST_BYTES} bytes`);
    return (await this.readBlobs([entry.oid]))[0];
  }

  /** `ls-tree -l` of `commit` (the root level alone unless `recursive`), bounded in size. */
  private async listing(commit: string, recursive: boolean, paths: readonly string[]) {
    const args = ['ls-tree', ...(recursive ? ['-r'] : []), '-z', '-l', '--full-tree', commit, ...(paths.length > 0 ? ['--', ...paths] : [])];
    const output = (await this.run(args, { maxBytes: MAX_LISTING_BYTES })).toString('utf8');
    return output.split('\0').filter((line) => line !== '').map((line) => {
      // "<mode> SP <type> SP <oid> SP+ <size> TAB <path>"
      const tab = line.indexOf('\t');
      const [mode, type, oid, size] = line.slice(0, tab).split(/ +/) as [string, string, string, string];
      return { mode, type, oid, size: size === '-' ? 0 : Number(size), path: line.slice(tab + 1) };
    });
  }

  /** Blob contents by object id, with `git cat-file --batch` in batches of bounded size (each blob is under the cap). */
  private async readBlobs(oids: readonly string[]): Promise<Uint8Array[]> {
    const blobs: Uint8Array[] = [];
    const batchSize = Math.max(1, Math.floor(LIMITS.gitReadBatchBytes / MAX_MANIFEST_BYTES));
    for (let start = 0; start < oids.length; start += batchSize) {
      const batch = oids.slice(start, start + batchSize);
      const output = await this.run(['cat-file', '--batch'], { input: `${batch.join('\n')}\n`, maxBytes: LIMITS.gitReadBatchBytes + batch.length * 128 });
      let offset = 0;
      for (const oid of batch) {
        const newline = output.indexOf(0x0a, offset);
        const header = output.subarray(offset, newline).toString('utf8');
        const [, type, size] = header.split(' ');
        if (type !== 'blob' || Number(size) > MAX_MANIFEST_BYTES) throw new Error(`git cat-file: ${oid} is ${header}`);
        const start = newline + 1;
        const end = start + Number(size);
        blobs.push(output.subarray(start, end));
        offset = end + 1;
      }
    }
    return blobs;
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
