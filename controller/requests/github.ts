// How the workflow reaches GitHub: the repository from the clone's `origin` (or an explicit
// OWNER/REPO), the token from GITHUB_TOKEN or `gh auth token`, GitHub Enterprise through
// GITHUB_API_URL or an explicit API URL. GitHub's errors become RequestErrors (errors.ts).
import {
  createGitHubClient,
  resolveGitHubConfig,
  type ClientOptions,
  type GitHubConfig,
  type RequestsBackend,
} from '../github/index.ts';
import { withGitHubErrors } from './errors.ts';

export interface GitHubOptions {
  /** The clone whose `origin` names the repository. */
  cwd: string;
  env?: NodeJS.ProcessEnv | undefined;
  githubRepo?: string | undefined;
  githubApiUrl?: string | undefined;
  /** Passed to the client: rate-limit waits, clock, timeouts. */
  client?: ClientOptions | undefined;
}

export interface GitHubConnection {
  config: GitHubConfig;
  backend: RequestsBackend;
}

export async function connectGitHub(options: GitHubOptions): Promise<GitHubConnection> {
  const config = await withGitHubErrors(() =>
    resolveGitHubConfig({
      cwd: options.cwd,
      ...(options.env === undefined ? {} : { env: options.env }),
      ...(options.githubRepo === undefined ? {} : { githubRepo: options.githubRepo }),
      ...(options.githubApiUrl === undefined ? {} : { baseUrl: options.githubApiUrl }),
    }),
  );
  return { config, backend: createGitHubClient(config, options.client) };
}
