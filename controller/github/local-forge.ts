// A clone made by `mergekey quickstart` reaches the quickstart's local forge (forge/: GitHub's REST
// API as Mergekey uses it, for trying Mergekey and for tests), not GitHub. The clone's own git
// config says so: `mergekey.forgeFile` names a file the running quickstart writes (the forge's URL,
// the repository, one token per person; mode 0600, removed when the quickstart stops) and
// `mergekey.forgeLogin` says whose clone it is. resolveGitHubConfig reads it when no GitHub API is
// named, as `token get` reads the quickstart's credentials file: nothing to export, nothing to paste.
import { readFileSync } from 'node:fs';
import { simpleGit } from 'simple-git';
import type { GitHubConfig } from './config.ts';
import { GitHubError } from './errors.ts';

export const FORGE_FILE_KEY = 'mergekey.forgeFile';
export const FORGE_LOGIN_KEY = 'mergekey.forgeLogin';

/** What the running quickstart writes to the file a clone's `mergekey.forgeFile` names. */
export interface LocalForgeFile {
  version: 1;
  /** The forge's API base URL, e.g. `http://127.0.0.1:40123`. */
  url: string;
  owner: string;
  repo: string;
  /** Forge login → the token that person's clone uses. */
  tokens: Record<string, string>;
}

/** The clone's local forge, or undefined when the clone names none (an ordinary clone). */
export async function localForgeConfig(cwd: string): Promise<GitHubConfig | undefined> {
  const git = simpleGit({ baseDir: cwd });
  const file = (await git.getConfig(FORGE_FILE_KEY)).value;
  if (file === null || file === '') return undefined;
  const login = (await git.getConfig(FORGE_LOGIN_KEY)).value ?? '';
  let forge: LocalForgeFile;
  try {
    forge = JSON.parse(readFileSync(file, 'utf8')) as LocalForgeFile;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new GitHubError(
      'NETWORK',
      code === 'ENOENT'
        ? `this clone works with the quickstart's local forge, which is not running (${file} is missing)`
        : `this clone works with the quickstart's local forge, but ${file} cannot be read: ${code ?? (error as Error).message}`,
      { hint: 'Start it with `npm start` (`mergekey quickstart`) in the Mergekey checkout, and keep it running.' },
    );
  }
  const token = forge.tokens?.[login];
  if (forge.version !== 1 || typeof forge.url !== 'string' || token === undefined) {
    throw new GitHubError('MISSING_TOKEN', `${file} holds no local forge token for ${login === '' ? `this clone (git config ${FORGE_LOGIN_KEY} is unset)` : login}`, {
      hint: 'Use one of the clones the quickstart made (.mergekey/quickstart/people/NAME), or remove the quickstart folder and run `npm start` again.',
    });
  }
  return { baseUrl: forge.url.replace(/\/+$/, ''), host: new URL(forge.url).hostname, owner: forge.owner, repo: forge.repo, token };
}
