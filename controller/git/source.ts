// Follows one branch of a manifests repository in a bare cache, and reads manifests from commit
// objects. Nothing is ever checked out: a work tree would follow symlinks, run filters (LFS) and
// hooks, and could be left half-written by a crash. Everything here reads git's object database.
//
// The repository is untrusted input (anyone who can merge can put anything in it), so every git
// call runs with hooks off, no submodule recursion, no LFS filters, no `ext::` transport and no
// terminal prompts; the URL itself is checked before git ever sees it.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { LIMITS } from '../config/defaults.ts';
import { isManifestPath, type Problem } from '../manifests/index.ts';

/** Why a manifest path of a commit is refused without being parsed. */
export type SourceProblemCode =
  /** A symbolic link: its target could be anything, even outside the repository. */
  | 'file.symlink'
  /** A submodule (gitlink): another repository, which is never fetched. */
  | 'file.not-regular'
  /** Larger than the manifest size cap. */
  | 'file.too-large';

export interface SourceProblem extends Omit<Problem, 'code'> {
  code: SourceProblemCode;
}

export type GitErrorCode =
  /** The repository URL or branch name is refused before git runs; fix the configuration. */
  | 'REFUSED'
  /** The remote could not be reached or read (network, authentication, moved away). Retry. */
  | 'UNREACHABLE'
  /** The remote answered but has no such branch (deleted, renamed). Retry: it may come back. */
  | 'BRANCH_NOT_FOUND'
  /** A local git command failed (corrupt cache, missing object). */
  | 'GIT_FAILED';

export class GitError extends Error {
  override readonly name = 'GitError';
  constructor(
    readonly code: GitErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export type RepoLocation = { kind: 'local'; path: string } | { kind: 'remote'; url: string };

const REMOTE_HELPER = /^[A-Za-z][A-Za-z0-9+.-]*::/;
const URL_SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;
const SCP_LIKE = /^[^/]*:/;

/**
 * Decides whether `repo` is a local path or a remote URL, refusing what git would interpret as an
 * option (`-…`) or as a command to run (`ext::`, and every other `<transport>::` remote helper).
 */
export function parseRepoLocation(repo: string, cwd = process.cwd()): RepoLocation {
  if (repo === '') throw new GitError('REFUSED', 'the repository is empty');
  if (/[\0\r\n]/.test(repo)) throw new GitError('REFUSED', 'the repository URL contains a control character');
  if (repo.startsWith('-')) {
    throw new GitError('REFUSED', `the repository '${repo}' starts with '-', which git would read as an option`);
  }
  if (REMOTE_HELPER.test(repo)) {
    throw new GitError(
      'REFUSED',
      `the repository '${repo}' uses a git remote helper (${repo.slice(0, repo.indexOf('::') + 2)}), which can run commands; use an https, ssh or git URL or a local path`,
    );
  }
  const scheme = URL_SCHEME.exec(repo)?.[1]?.toLowerCase();
  if (scheme === 'file') return { kind: 'local', path: new URL(repo).pathname };
  if (scheme !== undefined) {
    if (!['https', 'http', 'ssh', 'git'].includes(scheme)) {
      throw new GitError('REFUSED', `the repository '${repo}' uses the unsupported scheme ${scheme}://`);
    }
    return { kind: 'remote', url: repo };
  }
  // git's own rule: a colon before the first slash makes `host:path` an ssh address.
  if (!isAbsolute(repo) && SCP_LIKE.test(repo)) return { kind: 'remote', url: repo };
  return { kind: 'local', path: resolve(cwd, repo) };
}

const BRANCH = /^(?!-)(?!.*\.\.)(?!.*\/\/)(?!.*\.lock$)[A-Za-z0-9._/-]+(?<![/.])$/;

export function checkBranchName(branch: string): string {
  if (!BRANCH.test(branch)) throw new GitError('REFUSED', `'${branch}' is not a branch name mergekey accepts`);
  return branch;
}

export interface TreeEntry {
  path: string;
  oid: string;
}

export type ChangeStatus = 'added' | 'modified' | 'deleted';

export interface PathChange {
  path: string;
  status: ChangeStatus;
}

export interface ManifestListing {
  /** Regular files at manifest paths, with their blob ids. */
  entries: TreeEntry[];
  /** Manifest paths that are refused without being read: symlinks, submodules, oversized files. */
  problems: SourceProblem[];
}

export interface ReadResult {
  files: { path: string; oid: string; content: Uint8Array }[];
  problems: SourceProblem[];
}

/** The ref in the cache that holds the last fetched head of the followed branch. */
const HEAD_REF = 'refs/mergekey/head';
const COMMIT_ID = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
const MODE_SYMLINK = '120000';
const MODE_SUBMODULE = '160000';

// Set on every git call. `gc.autoDetach=false` keeps automatic housekeeping inside the fetch that
// triggered it rather than in a background process that outlives a shutdown.
const SAFE_CONFIG = [
  'core.hooksPath=/dev/null',
  'protocol.ext.allow=never',
  'filter.lfs.smudge=',
  'filter.lfs.process=',
  'filter.lfs.clean=',
  'filter.lfs.required=false',
  'submodule.recurse=false',
  'fetch.recurseSubmodules=false',
  'core.fsmonitor=false',
  'gc.autoDetach=false',
];

// git runs with an allow-listed environment: enough to find programs, the home directory (for
// ~/.ssh/config, ~/.gitconfig credential helpers and ~/.git-credentials), proxies and TLS roots.
// Nothing that could point it at another repository (GIT_DIR, set inside git hooks) or make it run
// a program (EDITOR, PAGER, GIT_EXTERNAL_DIFF) gets through.
const PASSED_ENV = [
  'PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LC_ALL', 'TMPDIR', 'XDG_CONFIG_HOME', 'SSH_AUTH_SOCK',
  'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'ALL_PROXY', 'http_proxy', 'https_proxy', 'no_proxy', 'all_proxy',
  'GIT_SSL_CAINFO', 'GIT_SSL_CAPATH', 'SSL_CERT_FILE', 'SSL_CERT_DIR',
];

function gitEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { GIT_TERMINAL_PROMPT: '0', GIT_LFS_SKIP_SMUDGE: '1' };
  for (const name of PASSED_ENV) if (process.env[name] !== undefined) env[name] = process.env[name];
  return env;
}

export interface GitSourceOptions {
  repo: string;
  branch: string;
  /** The bare cache, `<data>/git`. Created on first use. */
  cacheDir: string;
  /** Files above this size are refused unread. */
  maxFileBytes?: number;
}

export class GitSource {
  readonly location: RepoLocation;
  readonly branch: string;
  readonly cacheDir: string;
  private readonly maxFileBytes: number;
  private readonly config: string[];
  private readonly env: NodeJS.ProcessEnv;
  private readonly git: SimpleGit;
  private initialised = false;

  constructor(options: GitSourceOptions) {
    this.location = parseRepoLocation(options.repo);
    this.branch = checkBranchName(options.branch);
    this.cacheDir = resolve(options.cacheDir);
    this.maxFileBytes = options.maxFileBytes ?? LIMITS.manifestMaxBytes;
    // A local path is the one case where the file transport is needed; a remote URL cannot make
    // git read local files through it (submodules are off anyway).
    this.config = this.location.kind === 'local' ? [...SAFE_CONFIG, 'protocol.file.allow=always'] : [...SAFE_CONFIG];
    const env = gitEnvironment();
    this.env = env;
    mkdirSync(this.cacheDir, { recursive: true, mode: 0o700 });
    this.git = simpleGit({
      baseDir: this.cacheDir,
      config: this.config,
      timeout: { block: LIMITS.gitTimeoutMs },
      // These "unsafe" overrides only let us pass the fixed, hardening settings above; nothing
      // from the repository or the user reaches git's configuration.
      unsafe: {
        allowUnsafeHooksPath: true,
        allowUnsafeProtocolOverride: true,
        allowUnsafeFilter: true,
        allowUnsafeFsMonitor: true,
        allowUnsafeTemplateDir: true,
      },
      allowEnvironment: Object.keys(env).filter((name) => name.toUpperCase().startsWith('GIT_')),
    }).env(env);
  }

  /** What git is asked to fetch from: never shown with credentials (see `describe`). */
  private get remote(): string {
    return this.location.kind === 'local' ? this.location.path : this.location.url;
  }

  /** The repository as safe to print: userinfo (a token in an https URL) removed. */
  describe(): string {
    if (this.location.kind === 'local') return this.location.path;
    return this.location.url.replace(/^([a-z+.-]+:\/\/)[^@/]*@/i, '$1');
  }

  private async init(): Promise<void> {
    if (this.initialised) return;
    if (!existsSync(resolve(this.cacheDir, 'HEAD'))) {
      // An empty template: the cache gets no sample hooks (they are off anyway) and no surprises.
      await this.git.raw(['init', '--bare', '--quiet', '--template=', '.']);
    }
    this.initialised = true;
  }

  /** Fetches the branch into the cache and returns its head commit id. */
  async fetch(): Promise<string> {
    await this.init();
    try {
      await this.git.raw([
        'fetch', '--quiet', '--no-tags', '--no-write-fetch-head', '--recurse-submodules=no', '--force',
        '--', this.remote, `+refs/heads/${this.branch}:${HEAD_REF}`,
      ]);
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      if (/couldn't find remote ref/i.test(text)) {
        throw new GitError('BRANCH_NOT_FOUND', `branch '${this.branch}' does not exist in ${this.describe()}`, { cause: error });
      }
      throw new GitError('UNREACHABLE', `cannot fetch ${this.describe()}: ${firstLine(redact(text))}`, { cause: error });
    }
    return (await this.git.raw(['rev-parse', '--verify', '--end-of-options', `${HEAD_REF}^{commit}`])).trim();
  }

  /** The head fetched last, if any (no network). */
  async lastFetched(): Promise<string | undefined> {
    await this.init();
    try {
      return (await this.git.raw(['rev-parse', '--verify', '--quiet', '--end-of-options', `${HEAD_REF}^{commit}`])).trim() || undefined;
    } catch {
      return undefined;
    }
  }

  /** True when `commit` is in the cache. */
  async hasCommit(commit: string): Promise<boolean> {
    if (!COMMIT_ID.test(commit)) return false;
    return (await this.exitCode(['cat-file', '-e', `${commit}^{commit}`])) === 0;
  }

  /** True when `ancestor` is known and reachable from `descendant`: the history was not rewritten. */
  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    if (!COMMIT_ID.test(ancestor) || !COMMIT_ID.test(descendant)) return false;
    // Exit status 1 means "not an ancestor" and 128 an unknown commit (a rebuilt cache, a pruned
    // rewritten history): both mean a full resync. simple-git would report a silent exit 1 as success.
    return (await this.exitCode(['merge-base', '--is-ancestor', ancestor, descendant])) === 0;
  }

  /** Every manifest path in the commit's tree. */
  async listManifests(commit: string): Promise<ManifestListing> {
    const out = await this.run(['ls-tree', '-r', '-z', '-l', '--full-tree', commit]);
    const entries: TreeEntry[] = [];
    const problems: SourceProblem[] = [];
    for (const record of out.split('\0')) {
      if (record === '') continue;
      const tab = record.indexOf('\t');
      const [mode, , oid, size] = record.slice(0, tab).split(/ +/);
      const path = record.slice(tab + 1);
      if (!isManifestPath(path)) continue;
      const refused = this.refuse(path, mode!, size === '-' ? 0 : Number(size));
      if (refused !== undefined) problems.push(refused);
      else entries.push({ path, oid: oid! });
    }
    return { entries, problems };
  }

  /**
   * The manifest paths that differ between two commits, with the entries to read at `to`.
   * Plumbing `diff-tree` rather than porcelain `git diff`: it gives modes and blob ids (needed to
   * refuse a file turned into a symlink) and never runs external diff or textconv drivers.
   */
  async changes(from: string, to: string): Promise<{ changes: PathChange[]; entries: TreeEntry[]; problems: SourceProblem[] }> {
    const out = await this.run(['diff-tree', '-r', '-z', '--no-renames', '--no-abbrev', from, to]);
    const fields = out.split('\0');
    const changes: PathChange[] = [];
    const entries: TreeEntry[] = [];
    const problems: SourceProblem[] = [];
    const kept: TreeEntry[] = [];
    const modes = new Map<string, string>();
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const meta = fields[i]!;
      const path = fields[i + 1]!;
      if (!meta.startsWith(':') || !isManifestPath(path)) continue;
      const [, newMode, , newOid, letter] = meta.slice(1).split(' ');
      if (letter === 'D') {
        changes.push({ path, status: 'deleted' });
        continue;
      }
      changes.push({ path, status: letter === 'A' ? 'added' : 'modified' });
      modes.set(path, newMode!);
      entries.push({ path, oid: newOid! });
    }
    // Modes refuse symlinks and submodules; the size cap is enforced by `readFiles`.
    for (const entry of entries) {
      const refused = this.refuse(entry.path, modes.get(entry.path)!, 0);
      if (refused !== undefined) problems.push(refused);
      else kept.push(entry);
    }
    return { changes, entries: kept, problems };
  }

  private refuse(path: string, mode: string, size: number): SourceProblem | undefined {
    const at = { path, line: 1, column: 1 };
    if (mode === MODE_SYMLINK) return { ...at, code: 'file.symlink', message: `${path} is a symlink; symlinks are not followed` };
    if (mode === MODE_SUBMODULE) return { ...at, code: 'file.not-regular', message: `${path} is a submodule; submodules are not followed` };
    if (size > this.maxFileBytes) {
      return { ...at, code: 'file.too-large', message: `${path} is ${size} bytes; manifests are limited to ${this.maxFileBytes} bytes` };
    }
    return undefined;
  }

  /** Reads entries' contents, refusing (as a problem) any above the size cap. */
  async readFiles(entries: TreeEntry[]): Promise<ReadResult> {
    const blobs = await this.read(entries);
    const files: ReadResult['files'] = [];
    const problems: SourceProblem[] = [];
    for (const entry of entries) {
      const content = blobs.get(entry.oid)!;
      const refused = this.refuse(entry.path, '100644', content.length);
      if (refused !== undefined) problems.push(refused);
      else files.push({ path: entry.path, oid: entry.oid, content });
    }
    return { files, problems };
  }

  /** Reads blobs with one `git cat-file --batch` process. */
  async read(entries: TreeEntry[]): Promise<Map<string, Uint8Array>> {
    const unique = [...new Set(entries.map((e) => e.oid))];
    const blobs = new Map<string, Uint8Array>();
    if (unique.length === 0) return blobs;
    const stdout = await this.spawnGit(['cat-file', '--batch'], unique.join('\n') + '\n');
    let offset = 0;
    while (offset < stdout.length) {
      const eol = stdout.indexOf(0x0a, offset);
      if (eol < 0) throw new GitError('GIT_FAILED', 'git cat-file --batch: truncated output');
      const [oid, type, size] = stdout.subarray(offset, eol).toString('latin1').split(' ');
      offset = eol + 1;
      if (type === 'missing' || size === undefined) throw new GitError('GIT_FAILED', `object ${oid} is missing from the cache`);
      const length = Number(size);
      blobs.set(oid!, stdout.subarray(offset, offset + length));
      offset += length + 1;
    }
    return blobs;
  }

  private async run(args: string[]): Promise<string> {
    try {
      return await this.git.raw(args);
    } catch (error) {
      throw new GitError('GIT_FAILED', `git ${args[0]} failed: ${firstLine(error instanceof Error ? error.message : String(error))}`, { cause: error });
    }
  }

  private exitCode(args: string[]): Promise<number | null> {
    return new Promise((resolvePromise) => {
      const child = spawn('git', [...this.config.flatMap((c) => ['-c', c]), ...args], {
        cwd: this.cacheDir, env: this.env, stdio: 'ignore', timeout: LIMITS.gitTimeoutMs,
      });
      child.on('error', () => resolvePromise(null));
      child.on('close', (code) => resolvePromise(code));
    });
  }

  // simple-git cannot feed a process's stdin, which `cat-file --batch` needs; same settings.
  private spawnGit(args: string[], input: string): Promise<Buffer> {
    return new Promise((resolvePromise, reject) => {
      const child = spawn('git', [...this.config.flatMap((c) => ['-c', c]), ...args], {
        cwd: this.cacheDir,
        env: this.env,
        stdio: ['pipe', 'pipe', 'pipe'],
        timeout: LIMITS.gitTimeoutMs,
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
      child.on('error', (error) => reject(new GitError('GIT_FAILED', `cannot run git: ${error.message}`, { cause: error })));
      child.on('close', (code) => {
        if (code === 0) resolvePromise(Buffer.concat(out));
        else reject(new GitError('GIT_FAILED', `git ${args.join(' ')} exited with ${code}: ${firstLine(Buffer.concat(err).toString())}`));
      });
      child.stdin.on('error', () => {});
      child.stdin.end(input);
    });
  }
}

function firstLine(text: string): string {
  return text.trim().split('\n').find((line) => line.trim() !== '')?.trim() ?? 'unknown error';
}

/** Removes credentials from URLs in git's messages before they reach a status or a log. */
function redact(text: string): string {
  return text.replace(/([a-z+.-]+:\/\/)[^@/\s]*@/gi, '$1');
}
