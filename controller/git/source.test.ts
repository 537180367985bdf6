import { chmodSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GitError, GitSource, parseRepoLocation } from './source.ts';
import { FixtureRepo, git } from '../../test/support/git.ts';

const cleanup: string[] = [];
afterEach(() => {
  for (const dir of cleanup.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mergekey-git-'));
  cleanup.push(dir);
  return dir;
}

async function fixture(): Promise<FixtureRepo> {
  const repo = await FixtureRepo.create(join(tempDir(), 'manifests.git'));
  return repo;
}

async function blobOf(repo: FixtureRepo, commit: string, path: string): Promise<string> {
  return (await git(repo.path, ['rev-parse', `${commit}:${path}`])).trim();
}

const text = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);

describe('parseRepoLocation', () => {
  it.each([
    ['ext::sh -c touch% /tmp/pwned', /remote helper \(ext::\)/],
    ['fd::17', /remote helper \(fd::\)/],
    ['--upload-pack=touch /tmp/pwned', /starts with '-'/],
    ['-oProxyCommand=x', /starts with '-'/],
    ['ftp://example.com/repo.git', /unsupported scheme ftp/],
    ['https://example.com/a\nb', /control character/],
  ])('refuses %j', (repo, message) => {
    expect(() => parseRepoLocation(repo)).toThrow(message);
    try {
      parseRepoLocation(repo);
    } catch (error) {
      expect((error as GitError).code).toBe('REFUSED');
    }
  });

  it('tells local paths from remote URLs as git does', () => {
    expect(parseRepoLocation('https://github.com/acme/manifests.git')).toEqual({ kind: 'remote', url: 'https://github.com/acme/manifests.git' });
    expect(parseRepoLocation('git@github.com:acme/manifests.git')).toEqual({ kind: 'remote', url: 'git@github.com:acme/manifests.git' });
    expect(parseRepoLocation('ssh://git@host/x.git').kind).toBe('remote');
    expect(parseRepoLocation('file:///srv/manifests.git')).toEqual({ kind: 'local', path: '/srv/manifests.git' });
    expect(parseRepoLocation('../manifests', '/srv/app')).toEqual({ kind: 'local', path: '/srv/manifests' });
  });
});

describe('GitSource', () => {
  it('lists manifests from the commit, refusing symlinks and submodules and skipping other paths', async () => {
    const repo = await fixture();
    const head = await repo.commit({
      'mergekey.yaml': 'settings',
      'apps/a.yaml': 'a',
      'apps/link.yaml': { symlink: '../../../etc/passwd' },
      'apps/sub.yaml': { submodule: '0123456789abcdef0123456789abcdef01234567' },
      'apps/notes.txt': 'not a manifest',
      'README.md': 'readme',
    });
    const source = new GitSource({ repo: repo.path, branch: 'main', cacheDir: join(tempDir(), 'git') });
    expect(await source.fetch()).toBe(head);
    const listing = await source.listManifests(head);
    expect(listing.entries.map((e) => e.path).sort()).toEqual(['apps/a.yaml', 'mergekey.yaml']);
    expect(listing.problems).toEqual([
      { path: 'apps/link.yaml', line: 1, column: 1, code: 'file.symlink', message: 'apps/link.yaml is a symlink; symlinks are not followed' },
      { path: 'apps/sub.yaml', line: 1, column: 1, code: 'file.not-regular', message: 'apps/sub.yaml is a submodule; submodules are not followed' },
    ]);
    const blobs = await source.read(listing.entries);
    expect(listing.entries.map((e) => text(blobs.get(e.oid)))).toEqual(['a', 'settings']);
  });

  it('refuses an oversized manifest, in a full listing and in a change', async () => {
    const repo = await fixture();
    const first = await repo.commit({ 'apps/big.yaml': 'x'.repeat(2000), 'apps/small.yaml': 'x' });
    const source = new GitSource({ repo: repo.path, branch: 'main', cacheDir: join(tempDir(), 'git'), maxFileBytes: 1000 });
    await source.fetch();
    const listing = await source.listManifests(first);
    expect(listing.entries.map((e) => e.path)).toEqual(['apps/small.yaml']);
    expect(listing.problems).toMatchObject([{ code: 'file.too-large', path: 'apps/big.yaml', message: 'apps/big.yaml is 2000 bytes; manifests are limited to 1000 bytes' }]);
    const second = await repo.commit({ 'apps/small.yaml': 'y'.repeat(1001) });
    await source.fetch();
    const diff = await source.changes(first, second);
    const read = await source.readFiles(diff.entries);
    expect(read.files).toEqual([]);
    expect(read.problems).toMatchObject([{ code: 'file.too-large', path: 'apps/small.yaml' }]);
  });

  it('never reads a blob above the cap, whoever asks, and lists only where manifests can be', async () => {
    const repo = await fixture();
    const vendored: Record<string, string> = {};
    for (let i = 0; i < 2000; i++) vendored[`vendor/lib/file-${i}.js`] = 'x';
    const head = await repo.commit({ ...vendored, 'apps/big.yaml': 'x'.repeat(2000), 'mergekey.YML': 'm', 'docs/a.yaml': 'not a manifest' });
    const source = new GitSource({ repo: repo.path, branch: 'main', cacheDir: join(tempDir(), 'git'), maxFileBytes: 1000 });
    await source.fetch();
    const listing = await source.listManifests(head);
    expect([...listing.entries.map((e) => e.path), ...listing.problems.map((p) => p.path)]).toEqual(['mergekey.YML', 'apps/big.yaml']);
    const big = { path: 'apps/big.yaml', oid: await blobOf(repo, head, 'apps/big.yaml') };
    await expect(source.read([big])).rejects.toThrow(`object ${big.oid} is a blob of 2000 bytes; only blobs of at most 1000 bytes are read`);
  });

  it('holds a commit whose listing has a path longer than any real one, or more manifests than the cap', async () => {
    const repo = await fixture();
    const long = await repo.commit({ [`apps/${'x'.repeat(9000)}.yaml`]: 'x', 'apps/a.yaml': 'a' });
    const source = new GitSource({ repo: repo.path, branch: 'main', cacheDir: join(tempDir(), 'git'), maxManifests: 3 });
    await source.fetch();
    await expect(source.listManifests(long)).rejects.toMatchObject({ code: 'TOO_LARGE', message: 'git ls-tree listed a path longer than 8192 bytes; the commit is not read' });
    const crowded = await repo.commit({ [`apps/${'x'.repeat(9000)}.yaml`]: null, 'apps/b.yaml': 'b', 'apps/c.yaml': 'c', 'apps/d.yaml': 'd' });
    await source.fetch();
    await expect(source.listManifests(crowded)).rejects.toMatchObject({ code: 'TOO_LARGE', message: `commit ${crowded.slice(0, 12)} has more than 3 manifest paths; it is not read` });
    await expect(source.changes(long, crowded)).rejects.toMatchObject({ code: 'TOO_LARGE' });
  });

  it('names the changed manifest paths between two commits, with a file turned into a symlink refused', async () => {
    const repo = await fixture();
    const first = await repo.commit({ 'apps/a.yaml': 'a1', 'apps/b.yaml': 'b1', 'apps/c.yaml': 'c1', 'docs/x.md': 'x' });
    const second = await repo.commit({ 'apps/a.yaml': 'a2', 'apps/b.yaml': null, 'apps/c.yaml': { symlink: 'a.yaml' }, 'apps/d.yaml': 'd1', 'docs/x.md': 'y' });
    const source = new GitSource({ repo: repo.path, branch: 'main', cacheDir: join(tempDir(), 'git') });
    await source.fetch();
    const diff = await source.changes(first, second);
    expect(diff.changes).toEqual([
      { path: 'apps/a.yaml', status: 'modified' },
      { path: 'apps/b.yaml', status: 'deleted' },
      { path: 'apps/c.yaml', status: 'modified' },
      { path: 'apps/d.yaml', status: 'added' },
    ]);
    expect(diff.entries.map((e) => e.path)).toEqual(['apps/a.yaml', 'apps/d.yaml']);
    expect(diff.problems.map((p) => p.code)).toEqual(['file.symlink']);
    const blobs = await source.read(diff.entries);
    expect(diff.entries.map((e) => text(blobs.get(e.oid)))).toEqual(['a2', 'd1']);
  });

  it('sees a force push as a rewritten history', async () => {
    const repo = await fixture();
    const first = await repo.commit({ 'apps/a.yaml': 'a1' });
    const second = await repo.commit({ 'apps/a.yaml': 'a2' });
    const source = new GitSource({ repo: repo.path, branch: 'main', cacheDir: join(tempDir(), 'git') });
    expect(await source.fetch()).toBe(second);
    expect(await source.isAncestor(first, second)).toBe(true);
    const rewritten = await repo.commit({ 'apps/a.yaml': 'a3' }, { orphan: true });
    expect(await source.fetch()).toBe(rewritten);
    expect(await source.isAncestor(second, rewritten)).toBe(false);
    expect(await source.isAncestor('f'.repeat(40), rewritten)).toBe(false);
  });

  it('reports a missing branch and an unreachable remote with their own codes', async () => {
    const repo = await fixture();
    await repo.commit({ 'apps/a.yaml': 'a' });
    const cacheDir = join(tempDir(), 'git');
    await expect(new GitSource({ repo: repo.path, branch: 'release', cacheDir }).fetch()).rejects.toMatchObject({
      code: 'BRANCH_NOT_FOUND',
      message: `branch 'release' does not exist in ${repo.path}`,
    });
    const moved = `${repo.path}.away`;
    renameSync(repo.path, moved);
    await expect(new GitSource({ repo: repo.path, branch: 'main', cacheDir }).fetch()).rejects.toMatchObject({ code: 'UNREACHABLE' });
    renameSync(moved, repo.path);
    await expect(new GitSource({ repo: repo.path, branch: 'main', cacheDir }).fetch()).resolves.toMatch(/^[0-9a-f]{40}$/);
  });

  it('follows a SHA-256 repository: fetch, listing, changes, reads and ancestry, with 64-hex commit ids', async () => {
    const repo = await FixtureRepo.create(join(tempDir(), 'manifests.git'), { objectFormat: 'sha256' });
    const first = await repo.commit({ 'apps/a.yaml': 'a1', 'apps/b.yaml': 'b1' });
    const cacheDir = join(tempDir(), 'git');
    const source = new GitSource({ repo: repo.path, branch: 'main', cacheDir });
    expect(await source.fetch()).toBe(first);
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    expect((await source.listManifests(first)).entries.map((e) => e.path)).toEqual(['apps/a.yaml', 'apps/b.yaml']);
    const second = await repo.commit({ 'apps/a.yaml': 'a2', 'apps/b.yaml': null });
    // A second instance over the same cache, as after a restart.
    const again = new GitSource({ repo: repo.path, branch: 'main', cacheDir });
    expect(await again.fetch()).toBe(second);
    expect(await again.isAncestor(first, second)).toBe(true);
    const { changes, entries } = await again.changes(first, second);
    expect(changes).toEqual([{ path: 'apps/a.yaml', status: 'modified' }, { path: 'apps/b.yaml', status: 'deleted' }]);
    const { files, problems } = await again.readFiles(entries);
    expect(problems).toEqual([]);
    expect(files.map((file) => [file.path, text(file.content)])).toEqual([['apps/a.yaml', 'a2']]);
  });

  it('refuses a followed repository whose object format changed under an existing cache, as a rewritten history it cannot hold', async () => {
    const repo = await fixture();
    await repo.commit({ 'apps/a.yaml': 'a' });
    const cacheDir = join(tempDir(), 'git');
    await new GitSource({ repo: repo.path, branch: 'main', cacheDir }).fetch();
    const converted = await FixtureRepo.create(join(tempDir(), 'converted.git'), { objectFormat: 'sha256' });
    await converted.commit({ 'apps/a.yaml': 'a' });
    await expect(new GitSource({ repo: converted.path, branch: 'main', cacheDir }).fetch()).rejects.toMatchObject({
      code: 'NOT_READABLE',
      message: `${converted.path} uses SHA-256 object ids, but the cache in ${cacheDir} holds a SHA-1 history fetched before: a converted repository is a rewritten history; move ${cacheDir} away to start over from it`,
    });
  });

  it('refuses a shallow repository, at the first fetch and when a followed one turns shallow, instead of staying on an old head', async () => {
    const repo = await fixture();
    const first = await repo.commit({ 'apps/a.yaml': 'a1' });
    await repo.commit({ 'apps/a.yaml': 'a2' });
    const shallow = join(tempDir(), 'shallow.git');
    await git(tmpdir(), ['clone', '--quiet', '--bare', '--depth=1', `file://${repo.path}`, shallow]);
    const refused = (cacheDir: string) => ({
      code: 'NOT_READABLE',
      message: `${shallow} is a shallow clone: mergekey needs the whole history of main to tell a new commit from a rewritten history; follow a full clone, and move ${cacheDir} away`,
    });
    const cold = join(tempDir(), 'git');
    await expect(new GitSource({ repo: shallow, branch: 'main', cacheDir: cold }).fetch()).rejects.toMatchObject(refused(cold));

    // A full mirror, followed, then made again shallow with a new commit: git's fetch used to
    // reject the update with a warning and exit 0, leaving the cache on the old head.
    const mirror = join(tempDir(), 'mirror.git');
    await git(tmpdir(), ['clone', '--quiet', '--bare', `file://${repo.path}`, mirror]);
    const warm = join(tempDir(), 'git');
    const source = new GitSource({ repo: mirror, branch: 'main', cacheDir: warm });
    expect(await source.isAncestor(first, await source.fetch())).toBe(true);
    await repo.commit({ 'apps/a.yaml': 'a3' });
    rmSync(mirror, { recursive: true, force: true });
    await git(tmpdir(), ['clone', '--quiet', '--bare', '--depth=1', `file://${repo.path}`, mirror]);
    await expect(source.fetch()).rejects.toMatchObject({ code: 'NOT_READABLE', message: refused(warm).message.replace(shallow, mirror) });
  });

  it('never runs hooks, even ones planted in the cache', async () => {
    const repo = await fixture();
    await repo.commit({ 'apps/a.yaml': 'a' });
    const cacheDir = join(tempDir(), 'git');
    const source = new GitSource({ repo: repo.path, branch: 'main', cacheDir });
    await source.fetch();
    const marker = join(tempDir(), 'hook-ran');
    mkdirSync(join(cacheDir, 'hooks'), { recursive: true });
    for (const hook of ['reference-transaction', 'post-checkout', 'post-merge']) {
      writeFileSync(join(cacheDir, 'hooks', hook), `#!/bin/sh\ntouch ${marker}\n`);
      chmodSync(join(cacheDir, 'hooks', hook), 0o755);
    }
    await repo.commit({ 'apps/a.yaml': 'a2' });
    await source.fetch();
    expect(existsSync(marker)).toBe(false);
  });

  it('does not put credentials of an https URL in its messages', () => {
    const source = new GitSource({ repo: 'https://user:ghp_secret@example.com/acme/m.git', branch: 'main', cacheDir: join(tempDir(), 'git') });
    expect(source.describe()).toBe('https://example.com/acme/m.git');
  });
});
