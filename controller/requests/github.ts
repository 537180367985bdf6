// How the request commands reach GitHub: the repository from the clone's `origin` (or
// --github-repo), the token from GITHUB_TOKEN or `gh auth token`, GitHub Enterprise through
// GITHUB_API_URL or --github-api-url. GitHub's errors become CLI failures with their hint.
import type { OptionSpec } from '../../cli/command.ts';
import {
  createGitHubClient,
  GitHubError,
  resolveGitHubConfig,
  type ClientOptions,
  type GitHubConfig,
  type RequestsBackend,
} from '../github/index.ts';
import { CliError, failure } from '../../cli/errors.ts';

/** Options every command that talks to GitHub accepts. */
export const GITHUB_OPTIONS = {
  'github-repo': {
    type: 'string',
    valueName: 'OWNER/REPO',
    description: "The GitHub repository, when the clone's origin does not name it (a local path, a mirror).",
  },
  'github-api-url': {
    type: 'string',
    valueName: 'URL',
    description: 'The GitHub REST API URL, for GitHub Enterprise (default: GITHUB_API_URL, else from the remote).',
  },
} as const satisfies Record<string, OptionSpec>;

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

/** Runs `work`, turning a GitHubError into a CLI failure that keeps its message and hint. */
export async function withGitHubErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw toCliError(error);
  }
}

export function toCliError(error: unknown): unknown {
  if (error instanceof CliError || !(error instanceof GitHubError)) return error;
  return failure(error.message, { ...(error.hint === undefined ? {} : { hint: capitalise(error.hint) }), cause: error });
}

function capitalise(text: string): string {
  const sentence = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(sentence) ? sentence : `${sentence}.`;
}
