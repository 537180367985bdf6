// The portal's working copy of the manifests repository and its GitHub connection: what a
// developer's clone and token are to the CLI, the server's are to the portal. Requests are made
// with the same code as `mergekey app …` (`cli/requests/`): one commit on top of the branch the
// controller follows, pushed to a request branch, opened as a pull request with the server's
// token. Git work in the clone is serialized: two fetches at once would fight over the same refs.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseRepoLocation } from '../git/source.ts';
import type { GitHubConfig, RequestsBackend } from '../github/index.ts';
import { Clone } from '../../cli/requests/git.ts';
import type { Session } from '../../cli/requests/session.ts';
import { loadCommitState, type MainState } from '../../cli/requests/state.ts';

export interface PortalGitHub {
  config: GitHubConfig;
  backend: RequestsBackend;
}

export interface WorkspaceOptions {
  /** The manifests repository, as `mergekey serve --repo` names it. */
  repo: string;
  /** The branch the controller follows: requests are made against it. */
  branch: string;
  /** Where the portal keeps its clone (`<data>/portal/clone`). */
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

  /** What `cli/requests` calls a session: the clone and GitHub. The portal keeps no credentials file. */
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

  /** The clone, made on first use: `git clone --no-checkout` (requests are built from objects, never a work tree). */
  async #open(): Promise<Clone> {
    if (this.#clone !== undefined) return this.#clone;
    const { dir } = this.#options;
    const location = parseRepoLocation(this.#options.repo);
    const source = location.kind === 'local' ? location.path : location.url;
    if (existsSync(dir) && (await git(dir, ['remote', 'get-url', 'origin']).catch(() => '')).trim() !== source) {
      // A clone of another repository (the server was pointed elsewhere): start again.
      rmSync(dir, { recursive: true, force: true });
    }
    if (!existsSync(dir)) {
      mkdirSync(dirname(dir), { recursive: true, mode: 0o700 });
      await git(dirname(dir), ['clone', '--no-checkout', '--quiet', '--', source, dir]);
      await git(dir, ['config', 'user.name', IDENTITY.name]);
      await git(dir, ['config', 'user.email', IDENTITY.email]);
      await git(dir, ['config', 'commit.gpgsign', 'false']);
    }
    this.#clone = await Clone.open(dir);
    return this.#clone;
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
