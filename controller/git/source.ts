// Reads manifests from a repository's commit objects (ManifestReader: the one reader, used by the
// controller and by the request workflow's clones), and follows one branch of a manifests
// repository in a bare cache (GitSource). Nothing is ever checked out: a work tree would follow symlinks, run filters (LFS) and
// hooks, and could be left half-written by a crash. Everything here reads git's object database.
//
// The repository is untrusted input (anyone who can merge can put anything in it), so every git
// call runs with hooks off, no submodule recursion, no LFS filters, no `ext::` transport and no
// terminal prompts; the URL itself is checked before git ever sees it.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
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
  | 'GIT_FAILED'
  /** The commit is beyond what is read at all (too many manifests, an absurdly long path): held whole. */
  | 'TOO_LARGE'
  /**
   * A manifest folder (apps/, apis/, plans/, users/) is not a folder but a symlink, a submodule or
   * a file, or the cache cannot follow the repository (a converted object format): held whole.
   */
  | 'NOT_READABLE';

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
  /** With `reportFolders`: manifest folders that are a symlink, a submodule or a file. */
  notFolders: string[];
}

/** One entry of a tree listing. */
export interface ListedEntry extends TreeEntry {
  mode: string;
  type: string;
  /** From the listing; 0 for what is not a blob. */
  size: number;
}

export interface ReadResult {
  files: { path: string; oid: string; content: Uint8Array }[];
  problems: SourceProblem[];
}

/**
 * Where manifests can be: the four folders, listed recursively (a misplaced file in a subfolder is
 * still reported), and the root, listed on its own level only (for mergekey.yaml). Nothing else of
 * the tree is listed, so a huge vendored folder costs nothing.
 */
/** diff-tree takes pathspec magic: the settings file in any case of its extension. */
const MANIFEST_PATHSPECS = ['apis', 'apps', 'plans', 'users', ':(icase)mergekey.yaml', ':(icase)mergekey.yml'];

/** The ref in the cache that holds the last fetched head of the followed branch. */
const HEAD_REF = 'refs/mergekey/head';
const COMMIT_ID = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
const MODE_SYMLINK = '120000';
/** The folders manifests live in: in a listing or a diff, an entry at one of these paths that is not a tree is refused. */
const MANIFEST_FOLDERS = new Set(['apis', 'apps', 'plans', 'users']);
const MODE_SUBMODULE = '160000';
const MODE_TREE = '040000';

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
  /** A commit with more manifest paths than this is held whole, unread. */
  maxManifests?: number;
}

export interface ManifestReaderOptions {
  /** The repository: a bare cache, or a working copy's root. */
  dir: string;
  /** `-c` settings on every git call: the hardening settings, and what the caller adds. */
  config: readonly string[];
  env: NodeJS.ProcessEnv;
  /** Files above this size are refused unread. */
  maxFileBytes?: number | undefined;
  /** A commit with more manifest paths than this is held whole, unread. */
  maxManifests?: number | undefined;
}

/**
 * Reads manifests from a repository's commit objects, hardened as the header says: listings are
 * streamed and bounded, symlinks, submodules and oversized files are refused before a byte of
 * them is read, and every git call runs with the hardening settings and environment. The
 * controller's GitSource and the request workflow's Clone both read through it, so a file the
 * repository's check accepts is one the controller reads.
 */
export class ManifestReader {
  readonly dir: string;
  readonly maxFileBytes: number;
  readonly maxManifests: number;
  protected readonly config: readonly string[];
  protected readonly env: NodeJS.ProcessEnv;

  constructor(options: ManifestReaderOptions) {
    this.dir = resolve(options.dir);
    this.config = options.config;
    this.env = options.env;
    this.maxFileBytes = options.maxFileBytes ?? LIMITS.manifestMaxBytes;
    this.maxManifests = options.maxManifests ?? LIMITS.manifestsMaxCount;
  }

  /** True when `commit` is in the repository. */
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

  /**
   * Every manifest path in the commit's tree, with sizes from the listing itself: nothing is read
   * here, and the listing is streamed, so neither a huge tree nor a huge file costs memory. A
   * manifest folder that is not a folder holds the commit (GitError NOT_READABLE), unless
   * `reportFolders` asks for it in `notFolders` (the repository's check reports it as a refusal).
   */
  async listManifests(commit: string, options: { reportFolders?: boolean } = {}): Promise<ManifestListing> {
    const entries: TreeEntry[] = [];
    const problems: SourceProblem[] = [];
    const notFolders: string[] = [];
    const take = (record: string) => {
      const tab = record.indexOf('\t');
      const [mode, type, oid, size] = record.slice(0, tab).split(/ +/);
      const path = record.slice(tab + 1);
      if (MANIFEST_FOLDERS.has(path) && mode !== MODE_TREE) {
        if (options.reportFolders !== true) this.refuseFolder(commit, path, mode!);
        // Listed twice (the root's listing and the folder's own): reported once.
        if (!notFolders.includes(path)) notFolders.push(path);
        return;
      }
      if (!isManifestPath(path)) return;
      this.countManifest(commit, entries.length + problems.length);
      const refused = this.refuse(path, mode!, type === 'blob' ? Number(size) : 0);
      if (refused !== undefined) problems.push(refused);
      else entries.push({ path, oid: oid! });
    };
    // In git's path order, as the plan expects: apis/ and apps/, the root's mergekey.*, plans/ and users/.
    await this.streamRecords(['ls-tree', '-r', '-z', '-l', '--full-tree', commit, '--', 'apis', 'apps'], take);
    await this.streamRecords(['ls-tree', '-z', '-l', '--full-tree', commit], take);
    await this.streamRecords(['ls-tree', '-r', '-z', '-l', '--full-tree', commit, '--', 'plans', 'users'], take);
    return { entries, problems, notFolders };
  }

  /**
   * The manifest paths that differ between two commits, with the entries to read at `to`.
   * Plumbing `diff-tree` rather than porcelain `git diff`: it gives modes and blob ids (needed to
   * refuse a file turned into a symlink) and never runs external diff or textconv drivers. It
   * gives no sizes: `readFiles` asks git for them before it reads anything.
   */
  async changes(from: string, to: string): Promise<{ changes: PathChange[]; entries: TreeEntry[]; problems: SourceProblem[] }> {
    const changes: PathChange[] = [];
    const entries: TreeEntry[] = [];
    const problems: SourceProblem[] = [];
    let meta: string | undefined;
    // -z output alternates "<:meta>" and "<path>" records.
    await this.streamRecords(['diff-tree', '-r', '-z', '--no-renames', '--no-abbrev', from, to, '--', ...MANIFEST_PATHSPECS], (record) => {
      if (meta === undefined) {
        meta = record;
        return;
      }
      const [path, fields] = [record, meta];
      meta = undefined;
      if (!fields.startsWith(':')) return;
      const [, newMode, , newOid, letter] = fields.slice(1).split(' ');
      if (MANIFEST_FOLDERS.has(path) && letter !== 'D' && newMode !== MODE_TREE) this.refuseFolder(to, path, newMode!);
      if (!isManifestPath(path)) return;
      this.countManifest(to, changes.length);
      if (letter === 'D') {
        changes.push({ path, status: 'deleted' });
        return;
      }
      changes.push({ path, status: letter === 'A' ? 'added' : 'modified' });
      // Modes refuse symlinks and submodules here; sizes are checked before reading.
      const refused = this.refuse(path, newMode!, 0);
      if (refused !== undefined) problems.push(refused);
      else entries.push({ path, oid: newOid! });
    });
    return { changes, entries, problems };
  }

  /**
   * A manifest folder turned into a symlink, a submodule or a file would make every manifest in it
   * vanish, and so deactivate every application at once, with nothing in the status saying why:
   * the commit is held whole instead, naming the folder.
   */
  private refuseFolder(commit: string, path: string, mode: string): never {
    const what = mode === MODE_SYMLINK ? 'a symlink' : mode === MODE_SUBMODULE ? 'a submodule' : 'a file';
    throw new GitError('NOT_READABLE', `${path}/ is ${what} in commit ${commit.slice(0, 12)}, not a folder: manifests are never read through it, and the commit is not applied`);
  }

  private countManifest(commit: string, seen: number): void {
    if (seen >= this.maxManifests) {
      throw new GitError('TOO_LARGE', `commit ${commit.slice(0, 12)} has more than ${this.maxManifests} manifest paths; it is not read`);
    }
  }

  /** Why the entry at `path` is refused unread (a symlink, not a regular file, over the size cap), if it is. */
  refuse(path: string, mode: string, size: number): SourceProblem | undefined {
    const at = { path, line: 1, column: 1 };
    if (mode === MODE_SYMLINK) return { ...at, code: 'file.symlink', message: `${path} is a symlink; symlinks are not followed` };
    if (mode === MODE_SUBMODULE) return { ...at, code: 'file.not-regular', message: `${path} is a submodule; submodules are not followed` };
    if (!mode.startsWith('100')) return { ...at, code: 'file.not-regular', message: `${path} is not a regular file` };
    if (size > this.maxFileBytes) {
      return { ...at, code: 'file.too-large', message: `${path} is ${size} bytes; manifests are limited to ${this.maxFileBytes} bytes` };
    }
    return undefined;
  }

  /** The tree entry at `path` in `commit` (its mode, type, blob id and listed size), or undefined. */
  async entryAt(commit: string, path: string): Promise<ListedEntry | undefined> {
    let found: ListedEntry | undefined;
    await this.streamRecords(['ls-tree', '-z', '-l', '--full-tree', commit, '--', path], (record) => {
      const tab = record.indexOf('\t');
      const [mode, type, oid, size] = record.slice(0, tab).split(/ +/);
      if (record.slice(tab + 1) === path) found = { path, mode: mode!, type: type!, oid: oid!, size: size === '-' ? 0 : Number(size) };
    });
    return found;
  }

  /**
   * Reads entries' contents. Their sizes come from git first (`cat-file --batch-check`, which
   * reads object headers only): a blob above the cap is refused as a problem without one byte
   * of it being read, and the rest is read in batches of bounded size.
   */
  async readFiles(entries: TreeEntry[]): Promise<ReadResult> {
    const files: ReadResult['files'] = [];
    const problems: SourceProblem[] = [];
    const sizes = await this.objectSizes(entries.map((e) => e.oid));
    const wanted: TreeEntry[] = [];
    for (const entry of entries) {
      const { type, size } = sizes.get(entry.oid)!;
      const refused = this.refuse(entry.path, type === 'blob' ? '100644' : '000000', size);
      if (refused !== undefined) problems.push(refused);
      else wanted.push(entry);
    }
    const blobs = await this.read(wanted, sizes);
    for (const entry of wanted) files.push({ path: entry.path, oid: entry.oid, content: blobs.get(entry.oid)! });
    return { files, problems };
  }

  /** Type and size of each object, from its header alone. */
  private async objectSizes(oids: string[]): Promise<Map<string, { type: string; size: number }>> {
    const unique = [...new Set(oids)];
    const sizes = new Map<string, { type: string; size: number }>();
    if (unique.length === 0) return sizes;
    const out = (await this.spawnGit(['cat-file', '--batch-check'], unique.join('\n') + '\n')).toString('latin1');
    for (const line of out.split('\n')) {
      if (line === '') continue;
      const [oid, type, size] = line.split(' ');
      if (type === 'missing' || size === undefined) throw new GitError('GIT_FAILED', `object ${oid} is missing from the repository`);
      sizes.set(oid!, { type: type!, size: Number(size) });
    }
    for (const oid of unique) if (!sizes.has(oid)) throw new GitError('GIT_FAILED', `object ${oid} is missing from the repository`);
    return sizes;
  }

  /**
   * Reads blobs with `git cat-file --batch`, in batches of at most `LIMITS.gitReadBatchBytes`, and
   * never a blob above the size cap: sizes are checked (or asked for) before anything is read.
   */
  async read(entries: TreeEntry[], known?: Map<string, { type: string; size: number }>): Promise<Map<string, Uint8Array>> {
    const unique = [...new Set(entries.map((e) => e.oid))];
    const blobs = new Map<string, Uint8Array>();
    if (unique.length === 0) return blobs;
    const sizes = known ?? (await this.objectSizes(unique));
    let batch: string[] = [];
    let batchBytes = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      const stdout = await this.spawnGit(['cat-file', '--batch'], batch.join('\n') + '\n');
      let offset = 0;
      while (offset < stdout.length) {
        const eol = stdout.indexOf(0x0a, offset);
        if (eol < 0) throw new GitError('GIT_FAILED', 'git cat-file --batch: truncated output');
        const [oid, type, size] = stdout.subarray(offset, eol).toString('latin1').split(' ');
        offset = eol + 1;
        if (type === 'missing' || size === undefined) throw new GitError('GIT_FAILED', `object ${oid} is missing from the repository`);
        const length = Number(size);
        blobs.set(oid!, stdout.subarray(offset, offset + length));
        offset += length + 1;
      }
      batch = [];
      batchBytes = 0;
    };
    for (const oid of unique) {
      const { type, size } = sizes.get(oid) ?? { type: 'missing', size: 0 };
      if (type !== 'blob' || size > this.maxFileBytes) {
        throw new GitError('GIT_FAILED', `object ${oid} is a ${type} of ${size} bytes; only blobs of at most ${this.maxFileBytes} bytes are read`);
      }
      if (batchBytes + size > LIMITS.gitReadBatchBytes) await flush();
      batch.push(oid);
      batchBytes += size;
    }
    await flush();
    return blobs;
  }

  /**
   * Runs git and hands each NUL-terminated record of its output to `take` as it arrives: memory
   * holds one record at a time, whatever the size of the tree. A record longer than any real
   * path is refused (and git stopped), as is whatever `take` throws.
   */
  private streamRecords(args: string[], take: (record: string) => void): Promise<void> {
    return new Promise((resolvePromise, reject) => {
      const child = spawn('git', [...this.config.flatMap((c) => ['-c', c]), ...args], {
        cwd: this.dir, env: this.env, stdio: ['ignore', 'pipe', 'pipe'], timeout: LIMITS.gitTimeoutMs,
      });
      let failed: Error | undefined;
      const fail = (error: Error) => {
        failed ??= error;
        child.kill('SIGKILL');
      };
      let pending = Buffer.alloc(0);
      const err: Buffer[] = [];
      let errBytes = 0;
      child.stdout.on('data', (chunk: Buffer) => {
        if (failed !== undefined) return;
        let data = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
        let start = 0;
        const tooLong = () => new GitError('TOO_LARGE', `git ${args[0]} listed a path longer than ${LIMITS.gitRecordMaxBytes} bytes; the commit is not read`);
        for (let nul = data.indexOf(0, start); nul >= 0; nul = data.indexOf(0, start)) {
          if (nul - start > LIMITS.gitRecordMaxBytes) return fail(tooLong());
          try {
            take(data.subarray(start, nul).toString('utf8'));
          } catch (error) {
            return fail(error instanceof Error ? error : new Error(String(error)));
          }
          start = nul + 1;
        }
        data = data.subarray(start);
        if (data.length > LIMITS.gitRecordMaxBytes) return fail(tooLong());
        pending = Buffer.from(data);
      });
      child.stderr.on('data', (chunk: Buffer) => {
        if (errBytes < 64 * 1024) err.push(chunk);
        errBytes += chunk.length;
      });
      child.on('error', (error) => reject(new GitError('GIT_FAILED', `cannot run git: ${error.message}`, { cause: error })));
      child.on('close', (code) => {
        if (failed !== undefined) reject(failed);
        else if (code === 0) resolvePromise();
        else reject(new GitError('GIT_FAILED', `git ${args[0]} failed: ${firstLine(Buffer.concat(err).toString() || `exit ${code}`)}`));
      });
    });
  }

  private exitCode(args: string[]): Promise<number | null> {
    return new Promise((resolvePromise) => {
      const child = spawn('git', [...this.config.flatMap((c) => ['-c', c]), ...args], {
        cwd: this.dir, env: this.env, stdio: 'ignore', timeout: LIMITS.gitTimeoutMs,
      });
      child.on('error', () => resolvePromise(null));
      child.on('close', (code) => resolvePromise(code));
    });
  }

  // simple-git cannot feed a process's stdin, which `cat-file --batch` needs; same settings.
  private spawnGit(args: string[], input: string): Promise<Buffer> {
    return new Promise((resolvePromise, reject) => {
      const child = spawn('git', [...this.config.flatMap((c) => ['-c', c]), ...args], {
        cwd: this.dir,
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

/** The reader for a working copy (a developer's clone, the portal's): the same hardening, reading objects only. */
export function workingCopyReader(root: string): ManifestReader {
  return new ManifestReader({ dir: root, config: SAFE_CONFIG, env: gitEnvironment() });
}


/** Follows one branch into a bare cache, and reads its commits as every ManifestReader does. */
export class GitSource extends ManifestReader {
  readonly location: RepoLocation;
  readonly branch: string;
  readonly cacheDir: string;
  private readonly git: SimpleGit;
  private initialised = false;

  constructor(options: GitSourceOptions) {
    const location = parseRepoLocation(options.repo);
    const env = gitEnvironment();
    // A local path is the one case where the file transport is needed; a remote URL cannot make
    // git read local files through it (submodules are off anyway).
    const config = location.kind === 'local' ? [...SAFE_CONFIG, 'protocol.file.allow=always'] : [...SAFE_CONFIG];
    super({ dir: options.cacheDir, config, env, maxFileBytes: options.maxFileBytes, maxManifests: options.maxManifests });
    this.location = location;
    this.branch = checkBranchName(options.branch);
    this.cacheDir = this.dir;
    mkdirSync(this.cacheDir, { recursive: true, mode: 0o700 });
    this.git = simpleGit({
      baseDir: this.cacheDir,
      config: [...this.config],
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
      await this.fetchHead();
    } catch (error) {
      if (error instanceof GitError) throw error;
      const text = error instanceof Error ? error.message : String(error);
      // git refuses to fetch between a SHA-1 and a SHA-256 repository, and the cache is made
      // before the remote's format is known. A cache that never fetched is made again in the
      // remote's format (a SHA-256 repository is followed like any other); one that holds a
      // history is not thrown away here: a converted repository is a rewritten history.
      const format = /mismatched algorithms: client (sha1|sha256); server (sha1|sha256)/i.exec(text);
      if (format !== null) return this.refetchInFormat(format[1]!.toLowerCase(), format[2]!.toLowerCase(), error);
      if (/couldn't find remote ref/i.test(text)) {
        throw new GitError('BRANCH_NOT_FOUND', `branch '${this.branch}' does not exist in ${this.describe()}`, { cause: error });
      }
      throw new GitError('UNREACHABLE', `cannot fetch ${this.describe()}: ${firstLine(redact(text))}`, { cause: error });
    }
    return (await this.git.raw(['rev-parse', '--verify', '--end-of-options', `${HEAD_REF}^{commit}`])).trim();
  }

  private async fetchHead(): Promise<void> {
    // --update-shallow: without it, git meets a shallow remote by rejecting the update with a
    // warning and exit status 0, so the cache would stay on an old head with nothing failing.
    await this.git.raw([
      'fetch', '--quiet', '--no-tags', '--no-write-fetch-head', '--recurse-submodules=no', '--force', '--update-shallow',
      '--', this.remote, `+refs/heads/${this.branch}:${HEAD_REF}`,
    ]);
    // A shallow history cannot show that the new head descends from the applied commit, which is
    // how a rewritten history is told from a new commit: it is refused, not guessed at.
    if (existsSync(resolve(this.cacheDir, 'shallow'))) {
      throw new GitError(
        'NOT_READABLE',
        `${this.describe()} is a shallow clone: mergekey needs the whole history of ${this.branch} to tell a new commit from a rewritten history; follow a full clone, and move ${this.cacheDir} away`,
      );
    }
  }

  private async refetchInFormat(cache: string, remote: string, cause: unknown): Promise<string> {
    const name = (format: string) => (format === 'sha256' ? 'SHA-256' : 'SHA-1');
    if ((await this.lastFetched()) !== undefined) {
      throw new GitError(
        'NOT_READABLE',
        `${this.describe()} uses ${name(remote)} object ids, but the cache in ${this.cacheDir} holds a ${name(cache)} history fetched before: a converted repository is a rewritten history; move ${this.cacheDir} away to start over from it`,
        { cause },
      );
    }
    // The cache is ours (<data>/git) and holds nothing fetched: make it again, empty, in the remote's format.
    rmSync(this.cacheDir, { recursive: true, force: true });
    mkdirSync(this.cacheDir, { recursive: true, mode: 0o700 });
    await this.git.raw(['init', '--bare', '--quiet', '--template=', `--object-format=${remote}`, '.']);
    try {
      await this.fetchHead();
    } catch (error) {
      if (error instanceof GitError) throw error;
      throw new GitError('UNREACHABLE', `cannot fetch ${this.describe()}: ${firstLine(redact(error instanceof Error ? error.message : String(error)))}`, { cause: error });
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
}


function firstLine(text: string): string {
  return text.trim().split('\n').find((line) => line.trim() !== '')?.trim() ?? 'unknown error';
}

/** Removes credentials from URLs in git's messages before they reach a status or a log. */
function redact(text: string): string {
  return text.replace(/([a-z+.-]+:\/\/)[^@/\s]*@/gi, '$1');
}
