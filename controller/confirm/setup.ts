// Builds the confirmer for `mergekey serve` from its configuration: a token from
// --github-token-file (or GITHUB_TOKEN), the repository from --github-repo or the --repo URL, the
// API from --github-api-url (GitHub Enterprise) or the repository's host.
import { readFileSync } from 'node:fs';
import { ConfigError, type ServeConfig } from '../config/defaults.ts';
import { createGitHubClient, defaultApiUrl, parseRemoteUrl, parseRepoSlug, type GitHubConfig } from '../github/index.ts';
import { createConfirmer, gitCommitsBetween, type ConfirmLogger, type Confirmer, type ConfirmerOptions } from './confirm.ts';

export interface ConfirmSetup {
  confirmer: Confirmer;
  /** `owner/repo`, for the startup log. */
  repository: string;
}

export type GitHubSettings = Pick<ServeConfig, 'repo' | 'githubTokenFile' | 'githubRepo' | 'githubApiUrl'>;

/**
 * The server's GitHub configuration, or undefined when there is no token. A token given
 * explicitly with a repository that cannot be told is a configuration error; one found only in
 * GITHUB_TOKEN is then ignored with a warning (the variable may be there for something else).
 * The confirmer and the portal share it.
 */
export function serverGitHubConfig(config: GitHubSettings, options: { env?: NodeJS.ProcessEnv; log: Pick<ConfirmLogger, 'warn'> }): GitHubConfig | undefined {
  const env = options.env ?? process.env;
  const explicit = config.githubTokenFile !== undefined;
  const token = explicit ? readToken(config.githubTokenFile!) : env.GITHUB_TOKEN?.trim() || undefined;
  if (token === undefined) return undefined;

  let target: { host: string; owner: string; repo: string } | undefined;
  if (config.githubRepo !== undefined) {
    const slug = parseRepoSlug(config.githubRepo);
    if (slug === undefined) throw new ConfigError(`--github-repo: expected OWNER/REPO, got '${config.githubRepo}'`);
    target = { host: 'github.com', ...slug };
  } else {
    const remote = parseRemoteUrl(config.repo);
    if (remote?.kind === 'github') target = remote;
  }
  if (target === undefined) {
    const message = '--repo does not name a GitHub repository, so the server cannot reach its pull requests: set --github-repo OWNER/REPO';
    if (explicit) throw new ConfigError(message);
    options.log.warn({}, `${message} (GITHUB_TOKEN is set; confirmations and portal requests are off)`);
    return undefined;
  }
  const baseUrl = (config.githubApiUrl ?? defaultApiUrl(target.host)).replace(/\/+$/, '');
  return { baseUrl, host: target.host, owner: target.owner, repo: target.repo, token };
}

/** The confirmer, or undefined when the server has no GitHub configuration. */
export function confirmerFor(
  config: GitHubSettings,
  options: { gitDir: string; env?: NodeJS.ProcessEnv; log: ConfirmLogger } & Pick<ConfirmerOptions, 'oneAtATime'>,
): ConfirmSetup | undefined {
  const github = serverGitHubConfig(config, options);
  if (github === undefined) return undefined;
  // A short timeout: a confirmation under way holds a graceful shutdown until it ends.
  const backend = createGitHubClient(github, { timeoutMs: 10_000 });
  return {
    confirmer: createConfirmer({
      backend,
      commitsBetween: gitCommitsBetween(options.gitDir),
      log: options.log,
      ...(options.oneAtATime === undefined ? {} : { oneAtATime: options.oneAtATime }),
    }),
    repository: `${github.owner}/${github.repo}`,
  };
}

function readToken(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`--github-token-file: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  const token = text.trim();
  if (token === '') throw new ConfigError(`--github-token-file: ${file} is empty`);
  return token;
}
