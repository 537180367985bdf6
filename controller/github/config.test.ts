import { chmod, mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleGit } from 'simple-git';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRemoteUrl, parseRepoSlug, redactUrl, resolveGitHubConfig } from './config.ts';
import { GitHubError } from './errors.ts';

describe('parseRemoteUrl reads every form of origin', () => {
  const github = (host: string, owner: string, repo: string) => ({ kind: 'github', host, owner, repo });
  it.each([
    ['https://github.com/acme/manifests.git', github('github.com', 'acme', 'manifests')],
    ['https://github.com/acme/manifests', github('github.com', 'acme', 'manifests')],
    ['https://github.com/acme/manifests/', github('github.com', 'acme', 'manifests')],
    ['https://x-access-token:ghs_secret@github.com/acme/manifests.git', github('github.com', 'acme', 'manifests')],
    ['http://ghe.example.com:8080/Acme-Corp/api.manifests.git', github('ghe.example.com', 'Acme-Corp', 'api.manifests')],
    ['git@github.com:acme/manifests.git', github('github.com', 'acme', 'manifests')],
    ['github.com:acme/manifests', github('github.com', 'acme', 'manifests')],
    ['git@ghe.example.com:acme/manifests.git', github('ghe.example.com', 'acme', 'manifests')],
    ['ssh://git@github.com/acme/manifests.git', github('github.com', 'acme', 'manifests')],
    ['ssh://git@ghe.example.com:2222/acme/manifests', github('ghe.example.com', 'acme', 'manifests')],
    ['git://github.com/acme/manifests.git', github('github.com', 'acme', 'manifests')],
    ['/srv/git/manifests.git', { kind: 'local', path: '/srv/git/manifests.git' }],
    ['../manifests', { kind: 'local', path: '../manifests' }],
    ['./manifests.git', { kind: 'local', path: './manifests.git' }],
    ['file:///srv/git/manifests.git', { kind: 'local', path: '/srv/git/manifests.git' }],
    ['C:\\repos\\manifests', { kind: 'local', path: 'C:\\repos\\manifests' }],
  ])('%s', (url, expected) => {
    expect(parseRemoteUrl(url)).toEqual(expected);
  });

  it.each(['', 'https://github.com/acme', 'https://github.com/acme/manifests/tree/main', 'ftp://github.com/acme/manifests', 'git@github.com:acme', 'https://github.com/-acme/x'])(
    'refuses %j',
    (url) => {
      expect(parseRemoteUrl(url)).toBeUndefined();
    },
  );

  it('reads owner/repo slugs and redacts credentials from URLs it prints', () => {
    expect(parseRepoSlug('acme/manifests')).toEqual({ owner: 'acme', repo: 'manifests' });
    expect(parseRepoSlug('acme')).toBeUndefined();
    expect(parseRepoSlug('a/b/c')).toBeUndefined();
    expect(redactUrl('https://x-access-token:ghs_secret@github.com/acme/m.git')).toBe('https://github.com/acme/m.git');
  });
});

describe('resolveGitHubConfig', () => {
  let root: string;
  let emptyBin: string;
  let ghBin: string;
  const clone = async (name: string, origin?: string) => {
    const dir = join(root, name);
    await mkdir(dir);
    const git = simpleGit({ baseDir: dir });
    await git.init();
    if (origin !== undefined) await git.addRemote('origin', origin);
    return dir;
  };
  const error = async (promise: Promise<unknown>) => {
    const caught = await promise.then(() => undefined, (e: unknown) => e);
    expect(caught).toBeInstanceOf(GitHubError);
    return caught as GitHubError;
  };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'mergekey-config-'));
    emptyBin = join(root, 'empty-bin');
    ghBin = join(root, 'gh-bin');
    await mkdir(emptyBin);
    await mkdir(ghBin);
    // A real executable named gh that answers like the GitHub CLI when logged in to github.com.
    const script = '#!/bin/sh\nif [ "$*" = "auth token --hostname github.com" ]; then echo gho_from_gh_cli; exit 0; fi\necho "not logged in to $4" >&2\nexit 1\n';
    await writeFile(join(ghBin, 'gh'), script);
    await chmod(join(ghBin, 'gh'), 0o755);
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('takes the repository from origin and the token from GITHUB_TOKEN', async () => {
    const cwd = await clone('https-origin', 'https://github.com/acme/manifests.git');
    expect(await resolveGitHubConfig({ cwd, env: { GITHUB_TOKEN: ' ghp_env \n' } })).toEqual({
      baseUrl: 'https://api.github.com',
      host: 'github.com',
      owner: 'acme',
      repo: 'manifests',
      token: 'ghp_env',
    });
  });

  it('derives GitHub Enterprise’s API URL from the host, unless GITHUB_API_URL or an option says otherwise', async () => {
    const cwd = await clone('ghe-origin', 'git@ghe.example.com:platform/manifests.git');
    expect((await resolveGitHubConfig({ cwd, env: { GITHUB_TOKEN: 't' } })).baseUrl).toBe('https://ghe.example.com/api/v3');
    expect((await resolveGitHubConfig({ cwd, env: { GITHUB_TOKEN: 't', GITHUB_API_URL: 'https://api.ghe.example.com/' } })).baseUrl).toBe('https://api.ghe.example.com');
    expect((await resolveGitHubConfig({ cwd, env: { GITHUB_TOKEN: 't', GITHUB_API_URL: 'https://x' }, baseUrl: 'http://127.0.0.1:9' })).baseUrl).toBe('http://127.0.0.1:9');
  });

  it('asks the GitHub CLI when GITHUB_TOKEN is unset, with the host', async () => {
    const cwd = await clone('gh-origin', 'ssh://git@github.com/acme/manifests.git');
    expect((await resolveGitHubConfig({ cwd, env: { PATH: ghBin } })).token).toBe('gho_from_gh_cli');
    const other = await clone('gh-ghe-origin', 'https://ghe.example.com/acme/manifests.git');
    const refused = await error(resolveGitHubConfig({ cwd: other, env: { PATH: ghBin } }));
    expect(refused.code).toBe('MISSING_TOKEN');
    expect(refused.hint).toBe('for ghe.example.com, run `gh auth login --hostname ghe.example.com`');
  });

  it('says exactly what to do when there is no token and no gh', async () => {
    const cwd = await clone('no-token', 'https://github.com/acme/manifests.git');
    const refused = await error(resolveGitHubConfig({ cwd, env: { PATH: emptyBin } }));
    expect(refused.code).toBe('MISSING_TOKEN');
    expect(refused.message).toBe('no GitHub token: set GITHUB_TOKEN or run `gh auth login`');
  });

  it('refuses a clone without origin, and a local-path origin unless --github-repo names the repository', async () => {
    const bare = await clone('no-origin');
    const missing = await error(resolveGitHubConfig({ cwd: bare, env: { GITHUB_TOKEN: 't' } }));
    expect(missing.code).toBe('MISSING_REMOTE');
    expect(missing.hint).toContain('--github-repo OWNER/REPO');

    const local = await clone('local-origin', join(root, 'manifests.git'));
    const refused = await error(resolveGitHubConfig({ cwd: local, env: { GITHUB_TOKEN: 't' } }));
    expect(refused.code).toBe('MISSING_REMOTE');
    expect(refused.message).toContain('is a local path');

    const explicit = await resolveGitHubConfig({ cwd: local, env: { GITHUB_TOKEN: 't' }, githubRepo: 'acme/manifests' });
    expect(explicit).toMatchObject({ owner: 'acme', repo: 'manifests', baseUrl: 'https://api.github.com' });
    const onGhe = await resolveGitHubConfig({ cwd: local, env: { GITHUB_TOKEN: 't', GITHUB_API_URL: 'https://ghe.example.com/api/v3' }, githubRepo: 'acme/manifests' });
    expect(onGhe.host).toBe('ghe.example.com');
    expect((await error(resolveGitHubConfig({ cwd: local, env: { GITHUB_TOKEN: 't' }, githubRepo: 'acme' }))).code).toBe('INVALID_REMOTE');
  });

  it('refuses an origin that names no repository, without printing its credentials', async () => {
    const cwd = await clone('odd-origin', 'https://user:hunter2@github.com/acme');
    const refused = await error(resolveGitHubConfig({ cwd, env: { GITHUB_TOKEN: 't' } }));
    expect(refused.code).toBe('INVALID_REMOTE');
    expect(refused.message).toContain('https://github.com/acme');
    expect(refused.message).not.toContain('hunter2');
  });

  // A clone the quickstart made names its local forge in its git config (local-forge.ts).
  it('reaches the local forge a quickstart clone names, as that clone\'s person, unless an API or repository is given', async () => {
    const cwd = await clone('quickstart-clone', join(root, 'manifests.git'));
    const forgeFile = join(root, 'forge.json');
    await simpleGit({ baseDir: cwd }).addConfig('mergekey.forgeFile', forgeFile).addConfig('mergekey.forgeLogin', 'bob-okafor');
    const stopped = await error(resolveGitHubConfig({ cwd, env: { GITHUB_TOKEN: 'ghp_real' } }));
    expect([stopped.code, stopped.message, stopped.hint]).toEqual([
      'NETWORK',
      `this clone works with the quickstart's local forge, which is not running (${forgeFile} is missing)`,
      'Start it with `npm start` (`mergekey quickstart`) in the Mergekey checkout, and keep it running.',
    ]);
    await writeFile(forgeFile, JSON.stringify({ version: 1, url: 'http://127.0.0.1:40123/', owner: 'demo', repo: 'manifests', tokens: { 'alice-martin': 'mkf_a', 'bob-okafor': 'mkf_b' } }));
    // GITHUB_TOKEN is for GitHub: it is never sent to the forge.
    expect(await resolveGitHubConfig({ cwd, env: { GITHUB_TOKEN: 'ghp_real' } })).toEqual({ baseUrl: 'http://127.0.0.1:40123', host: '127.0.0.1', owner: 'demo', repo: 'manifests', token: 'mkf_b' });
    const explicit = await resolveGitHubConfig({ cwd, env: { GITHUB_TOKEN: 'ghp_real' }, githubRepo: 'acme/manifests' });
    expect([explicit.owner, explicit.token]).toEqual(['acme', 'ghp_real']);
    await simpleGit({ baseDir: cwd }).addConfig('mergekey.forgeLogin', 'mallory');
    const stranger = await error(resolveGitHubConfig({ cwd, env: {} }));
    expect([stranger.code, stranger.message]).toEqual(['MISSING_TOKEN', `${forgeFile} holds no local forge token for mallory`]);
  });
});
