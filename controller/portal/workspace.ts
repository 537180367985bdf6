// The portal's working copy of the manifests repository and its GitHub connection: what a
// developer's clone and token are to the CLI, the server's are to the portal. Requests are made
// with the same code as `mergekey app …` (`controller/requests/`): one commit on top of the branch the
// controller follows, pushed to a request branch, opened as a pull request with the server's
// token. Git work in the clone is serialized: two fetches at once would fight over the same refs.
// With `--workers N` every process has its own clone (`clone-<pid>`): a process that starts takes
// over the clone of one that is gone, and removes the others'.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, realpathSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseRepoLocation } from '../git/source.ts';
import type { GitHubConfig, RequestsBackend } from '../github/index.ts';
import { Clone } from '../requests/git.ts';
import type { Session } from '../requests/session.ts';
import { loadCommitState, type MainState } from '../requests/state.ts';

export interface PortalGitHub {
  config: GitHubConfig;
  backend: RequestsBackend;
}

export interface WorkspaceOptions {
  /** The manifests repository, as `mergekey serve --repo` names it. */
  repo: string;
  /** The branch the controller follows: requests are made against it. */
  branch: string;
  /** Where the portal keeps its clones (`<data>/portal`). */
  dir: string;
  /** Absent when the server has no GitHub token: the portal then only reads. */
  github: PortalGitHub | undefined;
}

export interface MainView {
  main: MainState;
  /** Set when the fetch failed and `main` is the last commit fetched before: why. */
  stale?: string;
}

const IDENTITY = { name: 'Mergekey portal', email: 'portal@mergekey.invalid' };

export class Workspace {
  readonly #options: WorkspaceOptions;
  #clone: Clone | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #tokenLogin: string | undefined;

  constructor(options: WorkspaceOptions) {
    this.#options = options;
  }

  get github(): PortalGitHub | undefined {
    return this.#options.github;
  }

  get branch(): string {
    return this.#options.branch;
  }

  /** Runs `work` with the clone, after every earlier piece of work has finished. */
  exclusive<T>(work: (clone: Clone) => Promise<T>): Promise<T> {
    const run = this.#queue.then(async () => work(await this.#open()));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Fetches the branch and loads its manifests; when the fetch fails, the last commit fetched (and why). */
  mainView(): Promise<MainView> {
    return this.exclusive(async (clone) => {
      const branch = this.#options.branch;
      try {
        const commit = await clone.fetchBranch(branch);
        return { main: await loadCommitState(clone, branch, commit) };
      } catch (error) {
        const known = await clone.resolve(`refs/remotes/origin/${branch}`).catch(() => undefined);
        if (known === undefined) throw error;
        return { main: await loadCommitState(clone, branch, known), stale: (error as Error).message };
      }
    });
  }

  /** What the request workflow calls a session: the clone and GitHub. The portal keeps no credentials file. */
  session(clone: Clone): Session {
    const github = this.#options.github;
    if (github === undefined) throw new Error('the portal has no GitHub token');
    return { clone, github, env: {} };
  }

  /** The GitHub login of the server's token: the author of every request the portal opens. */
  async tokenLogin(): Promise<string | undefined> {
    const github = this.#options.github;
    if (github === undefined) return undefined;
    this.#tokenLogin ??= (await github.backend.whoAmI()).login;
    return this.#tokenLogin;
  }

  /** This process's clone, made (or taken over) on first use; requests are built from objects, never a work tree. */
  async #open(): Promise<Clone> {
    if (this.#clone !== undefined) return this.#clone;
    const base = this.#options.dir;
    const dir = join(base, `clone-${process.pid}`);
    mkdirSync(base, { recursive: true, mode: 0o700 });
    this.#adoptOrphans(base, dir);
    const location = parseRepoLocation(this.#options.repo);
    const source = location.kind === 'local' ? location.path : location.url;
    if (existsSync(dir) && !(await isCloneOf(dir, source))) {
      // Not a clone of this repository (the server was pointed elsewhere, or a half-made clone): start again.
      rmSync(dir, { recursive: true, force: true });
    }
    if (!existsSync(dir)) {
      await git(base, ['clone', '--no-checkout', '--quiet', '--', source, dir]);
      await git(dir, ['config', 'user.name', IDENTITY.name]);
      await git(dir, ['config', 'user.email', IDENTITY.email]);
      await git(dir, ['config', 'commit.gpgsign', 'false']);
    }
    this.#clone = await Clone.open(dir);
    return this.#clone;
  }

  /** Clones of processes that are gone: the first becomes ours (no new clone to make), the rest are removed. */
  #adoptOrphans(base: string, mine: string): void {
    for (const entry of readdirSync(base)) {
      const pid = /^clone-(\d+)$/.exec(entry)?.[1];
      if (pid === undefined || Number(pid) === process.pid || isAlive(Number(pid))) continue;
      const orphan = join(base, entry);
      try {
        if (existsSync(mine)) rmSync(orphan, { recursive: true, force: true });
        else renameSync(orphan, mine);
      } catch {
        // Another process took it first.
      }
    }
  }
}

/** Whether `dir` is itself the top of a clone whose origin is `source` (git would otherwise find an enclosing repository). */
async function isCloneOf(dir: string, source: string): Promise<boolean> {
  try {
    const top = (await git(dir, ['rev-parse', '--show-toplevel'])).trim();
    if (realpathSync(top) !== realpathSync(dir)) return false;
    return (await git(dir, ['remote', 'get-url', 'origin'])).trim() === source;
  } catch {
    return false;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function git(cwd: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(Buffer.concat(out).toString('utf8')) : reject(new Error(`git ${args[0]} failed: ${Buffer.concat(err).toString('utf8').trim() || `exit ${code}`}`)),
    );
  });
}
