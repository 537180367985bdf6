// One run of a request command: the clone, GitHub, and the state of main, read fresh.
import { Clone } from './git.ts';
import { withGitHubErrors } from './errors.ts';
import { connectGitHub, type GitHubConnection } from './github.ts';
import { loadMain, type MainState } from './state.ts';
import type { ClientOptions } from '../github/index.ts';

/** What every command that reads or makes requests is given. */
export interface SessionOptions {
  /** A directory inside the clone of the manifests repository (the current one by default). */
  cwd?: string | undefined;
  /** Where GITHUB_TOKEN, GITHUB_API_URL and the credentials file's location come from (git uses the process's). */
  env?: NodeJS.ProcessEnv | undefined;
  githubRepo?: string | undefined;
  githubApiUrl?: string | undefined;
  client?: ClientOptions | undefined;
}

export interface Session {
  clone: Clone;
  github: GitHubConnection;
  env: NodeJS.ProcessEnv;
}

export async function startSession(options: SessionOptions): Promise<Session> {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const clone = await Clone.open(cwd);
  const github = await connectGitHub({
    cwd: clone.root,
    env,
    githubRepo: options.githubRepo,
    githubApiUrl: options.githubApiUrl,
    client: options.client,
  });
  return { clone, github, env };
}

/** A session with main fetched and loaded. */
export async function startWithMain(options: SessionOptions): Promise<Session & { main: MainState }> {
  const session = await startSession(options);
  return { ...session, main: await withGitHubErrors(() => loadMain(session.clone, session.github.backend)) };
}
