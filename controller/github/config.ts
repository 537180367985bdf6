// Where the GitHub client points and with which token: the repository from the clone's `origin`
// (or --github-repo), the API base URL (github.com, or GitHub Enterprise), and the token from
// GITHUB_TOKEN or the GitHub CLI; or, for a clone the quickstart made, its local forge.
import { execFile } from 'node:child_process';
import { simpleGit } from 'simple-git';
import { GitHubError } from './errors.ts';
import { localForgeConfig } from './local-forge.ts';

export interface GitHubConfig {
  /** The REST API base URL, without a trailing slash, e.g. `https://api.github.com`. */
  baseUrl: string;
  /** The web host, e.g. `github.com` or `ghe.example.com`. */
  host: string;
  owner: string;
  repo: string;
  token: string;
}

export type ParsedRemote = { kind: 'github'; host: string; owner: string; repo: string } | { kind: 'local'; path: string };

const OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/;
const REPO = /^[A-Za-z0-9._-]{1,100}$/;

function ownerRepo(path: string): { owner: string; repo: string } | undefined {
  const parts = path.replace(/^\/+/, '').replace(/\/+$/, '').replace(/\.git$/, '').split('/');
  if (parts.length !== 2) return undefined;
  const [owner, repo] = parts as [string, string];
  return OWNER.test(owner) && REPO.test(repo) && repo !== '.' && repo !== '..' ? { owner, repo } : undefined;
}

/**
 * Reads a git remote URL: `https://host/owner/repo(.git)`, `ssh://[user@]host[:port]/owner/repo(.git)`,
 * `git://host/owner/repo(.git)`, scp-like `[user@]host:owner/repo(.git)`, or a local path
 * (`/…`, `./…`, `../…`, `~/…`, `file://…`, `C:\…`). Undefined when it is none of these.
 */
export function parseRemoteUrl(url: string): ParsedRemote | undefined {
  const trimmed = url.trim();
  if (trimmed === '') return undefined;
  if (/^(?:\/|\.\.?(?:\/|$)|~|[A-Za-z]:[\\/])/.test(trimmed)) return { kind: 'local', path: trimmed };
  if (/^file:/i.test(trimmed)) return { kind: 'local', path: trimmed.replace(/^file:\/\//i, '') };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) {
    let parsed: URL;
    try {
      parsed = new URL(trimmed);
    } catch {
      return undefined;
    }
    if (!['https:', 'http:', 'ssh:', 'git:', 'git+ssh:', 'ssh+git:'].includes(parsed.protocol)) return undefined;
    const names = ownerRepo(decodeURIComponent(parsed.pathname));
    return names === undefined || parsed.hostname === '' ? undefined : { kind: 'github', host: parsed.hostname.toLowerCase(), ...names };
  }
  // scp-like syntax: no scheme, a host before the first colon, no slash before it.
  const scp = /^(?:[^@/:]+@)?([^/:]+):(.+)$/.exec(trimmed);
  if (scp === null) return undefined;
  const names = ownerRepo(scp[2]!);
  return names === undefined ? undefined : { kind: 'github', host: scp[1]!.toLowerCase(), ...names };
}

/** `owner/repo` as given to --github-repo. */
export function parseRepoSlug(slug: string): { owner: string; repo: string } | undefined {
  return /^[^/]+\/[^/]+$/.test(slug.trim()) ? ownerRepo(slug.trim()) : undefined;
}

/** A URL safe to print: any user name or password in it is removed. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, '$1');
}

/** github.com's API is api.github.com; GitHub Enterprise Server serves it at https://HOST/api/v3. */
export function defaultApiUrl(host: string): string {
  return host === 'github.com' || host === 'www.github.com' ? 'https://api.github.com' : `https://${host}/api/v3`;
}

function hostOfApiUrl(baseUrl: string): string {
  const host = new URL(baseUrl).hostname.toLowerCase();
  return host === 'api.github.com' ? 'github.com' : host;
}

/** The URL of `origin` in the clone at `cwd`, or undefined when there is no such remote. */
export async function readOriginUrl(cwd: string): Promise<string | undefined> {
  const remotes = await simpleGit({ baseDir: cwd }).getRemotes(true);
  const origin = remotes.find((remote) => remote.name === 'origin');
  const url = origin?.refs.fetch || origin?.refs.push;
  return url === undefined || url === '' ? undefined : url;
}

/**
 * Asks the GitHub CLI for its token for `host`. Undefined when `gh` is not installed or not
 * logged in to that host: the caller then reports the missing token.
 */
export function ghAuthToken(host: string, env: NodeJS.ProcessEnv = process.env, command = 'gh'): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(command, ['auth', 'token', '--hostname', host], { env, timeout: 10_000 }, (error, stdout) => {
      const token = stdout.trim();
      resolve(error === null && token !== '' ? token : undefined);
    });
  });
}

export interface ResolveOptions {
  /** The clone whose `origin` names the repository. */
  cwd: string;
  /** Environment to read GITHUB_TOKEN and GITHUB_API_URL from (process.env). */
  env?: NodeJS.ProcessEnv;
  /** `owner/repo`, required when `origin` is a local path; wins over `origin`. */
  githubRepo?: string;
  /** The API base URL (GitHub Enterprise); wins over GITHUB_API_URL and over the remote's host. */
  baseUrl?: string;
  /** How to ask the GitHub CLI for a token (`ghAuthToken` by default). */
  ghToken?: (host: string) => Promise<string | undefined>;
}

/**
 * Resolves the whole configuration, or throws a GitHubError saying exactly what is missing:
 * MISSING_REMOTE, INVALID_REMOTE or MISSING_TOKEN. A clone that names the quickstart's local forge
 * (local-forge.ts) uses it unless a repository or an API is given explicitly; GITHUB_TOKEN, meant
 * for GitHub, is then never sent to it.
 */
export async function resolveGitHubConfig(options: ResolveOptions): Promise<GitHubConfig> {
  const env = options.env ?? process.env;
  const explicitBase = options.baseUrl ?? (env.GITHUB_API_URL?.trim() || undefined);
  if (explicitBase === undefined && options.githubRepo === undefined) {
    const forge = await localForgeConfig(options.cwd);
    if (forge !== undefined) return forge;
  }
  let target: { host: string; owner: string; repo: string };
  if (options.githubRepo !== undefined) {
    const slug = parseRepoSlug(options.githubRepo);
    if (slug === undefined) {
      throw new GitHubError('INVALID_REMOTE', `--github-repo "${options.githubRepo}" is not of the form owner/repo`);
    }
    target = { host: explicitBase === undefined ? 'github.com' : hostOfApiUrl(explicitBase), ...slug };
  } else {
    const url = await readOriginUrl(options.cwd);
    if (url === undefined) {
      throw new GitHubError('MISSING_REMOTE', `the clone at ${options.cwd} has no \`origin\` remote, so the GitHub repository is unknown`, {
        hint: 'add one with `git remote add origin https://github.com/OWNER/REPO.git`, or pass --github-repo OWNER/REPO',
      });
    }
    const parsed = parseRemoteUrl(url);
    if (parsed === undefined) {
      throw new GitHubError('INVALID_REMOTE', `\`origin\` (${redactUrl(url)}) does not name a GitHub repository (expected …/OWNER/REPO)`, {
        hint: 'pass --github-repo OWNER/REPO',
      });
    }
    if (parsed.kind === 'local') {
      throw new GitHubError('MISSING_REMOTE', `\`origin\` is a local path (${parsed.path}), so the GitHub repository it mirrors is unknown`, {
        hint: 'pass --github-repo OWNER/REPO',
      });
    }
    target = parsed;
  }
  const baseUrl = (explicitBase ?? defaultApiUrl(target.host)).replace(/\/+$/, '');
  const token = env.GITHUB_TOKEN?.trim() || (await (options.ghToken ?? ((host) => ghAuthToken(host, env)))(target.host));
  if (token === undefined || token === '') {
    throw new GitHubError('MISSING_TOKEN', 'no GitHub token: set GITHUB_TOKEN or run `gh auth login`', {
      hint: target.host === 'github.com' ? 'a token needs the `repo` scope (or contents, pull requests and statuses permissions)' : `for ${target.host}, run \`gh auth login --hostname ${target.host}\``,
    });
  }
  return { baseUrl, host: target.host, owner: target.owner, repo: target.repo, token };
}
