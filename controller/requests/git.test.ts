// The clone as requests use it: manifests come from commit objects, and a request's commit is made
// without touching the user's index, work tree or HEAD.
import { mkdir, mkdtemp, open, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Clone } from './git.ts';

let dir: string;
let git: SimpleGit;
let clone: Clone;
let base: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mergekey-clone-'));
  git = simpleGit(dir);
  await git.init(['--initial-branch=main']).addConfig('user.name', 'Dev').addConfig('user.email', 'dev@example.com').addConfig('commit.gpgsign', 'false');
  await writeFile(join(dir, 'mergekey.yaml'), 'kind: Settings\n');
  await writeFile(join(dir, 'README.md'), '# manifests\n');
  await git.raw(['add', '.']);
  await git.commit('seed');
  base = (await git.revparse(['HEAD'])).trim();
  clone = await Clone.open(join(dir));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('Clone', () => {
  it("commits a change on a private index: the user's staged work, work tree and HEAD are as they were", async () => {
    await writeFile(join(dir, 'README.md'), '# staged work\n');
    await git.add('README.md');
    await writeFile(join(dir, 'notes.txt'), 'untracked\n');
    const status = await git.raw(['status', '--porcelain']);

    const commit = await clone.commitFiles(base, { 'apps/billing.yaml': 'kind: Application\n', 'mergekey.yaml': null }, 'Request');
    expect(await git.raw(['status', '--porcelain'])).toBe(status);
    expect((await git.revparse(['HEAD'])).trim()).toBe(base);
    expect(await git.raw(['diff', '--name-status', base, commit])).toBe('A\tapps/billing.yaml\nD\tmergekey.yaml\n');
    expect(await git.raw(['log', '-1', '--format=%P %s', commit])).toBe(`${base} Request\n`);
    expect(await clone.changedPaths(base, commit)).toEqual([
      { status: 'added', path: 'apps/billing.yaml' },
      { status: 'deleted', path: 'mergekey.yaml' },
    ]);
  });

  it('reports a manifest folder that is a file or a symlink, which the controller holds, rather than reading nothing from it', async () => {
    await symlink('apps', join(dir, 'apis'));
    await git.add('apis');
    await git.commit('apis as a link');
    try {
      const linked = (await git.revparse(['HEAD'])).trim();
      const commit = await clone.commitFiles(linked, { plans: 'not a folder\n' }, 'plans as a file');
      const read = await clone.readManifests(commit);
      expect(read.notFolders).toEqual(['apis', 'plans']);
    } finally {
      // The later cases build on HEAD: take the link away again.
      await git.raw(['rm', '--quiet', 'apis']);
      await git.commit('apis link removed');
    }
  });

  it('reads manifests from a commit, and reports a symlinked manifest instead of following it', async () => {
    await writeFile(join(dir, 'mergekey.yaml'), 'changed in the work tree only\n');
    await mkdir(join(dir, 'apps'));
    await symlink('../README.md', join(dir, 'apps', 'link.yaml'));
    await git.add('apps/link.yaml');
    await git.commit('a linked manifest');
    const head = (await git.revparse(['HEAD'])).trim();

    const read = await clone.readManifests(head);
    // From the commit: not the work tree's edit, and the link reported rather than followed.
    expect(read.files.map((file) => [file.path, Buffer.from(file.content).toString('utf8')])).toEqual([['mergekey.yaml', 'kind: Settings\n']]);
    expect(read.problems).toMatchObject([{ path: 'apps/link.yaml', code: 'file.symlink' }]);
    expect(await clone.readFile(head, 'apps/link.yaml')).toBeUndefined();
    expect(Buffer.from((await clone.readFile(head, 'mergekey.yaml'))!).toString('utf8')).toBe('kind: Settings\n');
  });

  it("refuses manifests over the controller's cap from their listed size, never reading them, on every path", async () => {
    await mkdir(join(dir, 'apps'), { recursive: true });
    // Just over the cap, and 200 MB written sparse: the test never holds it in memory either.
    await writeFile(join(dir, 'apps', 'over.yaml'), `# ${'x'.repeat(256 * 1024 - 1)}`);
    const huge = await open(join(dir, 'apps', 'huge.yaml'), 'w');
    await huge.truncate(200 * 1024 * 1024);
    await huge.close();
    await writeFile(join(dir, 'apps', 'small.yaml'), 'kind: Application\n');
    await git.raw(['add', 'apps']);
    await git.commit('oversized manifests');
    const head = (await git.revparse(['HEAD'])).trim();

    const rssBefore = process.memoryUsage().rss;
    const read = await clone.readManifests(head);
    expect(read.files.map((file) => file.path)).toEqual(['apps/small.yaml', 'mergekey.yaml']);
    expect(read.problems).toMatchObject([
      { path: 'apps/huge.yaml', code: 'file.too-large' },
      { path: 'apps/link.yaml', code: 'file.symlink' },
      { path: 'apps/over.yaml', code: 'file.too-large' },
    ]);
    expect(read.problems).toHaveLength(3);
    await expect(clone.readFile(head, 'apps/huge.yaml')).rejects.toThrow(`apps/huge.yaml is 209715200 bytes at ${head.slice(0, 12)}; manifests are limited to 262144 bytes`);
    await expect(clone.readFile(head, 'apps/over.yaml')).rejects.toThrow(`apps/over.yaml is 262145 bytes at ${head.slice(0, 12)}; manifests are limited to 262144 bytes`);
    const rssGrowth = process.memoryUsage().rss - rssBefore;
    console.log(`CLI reader: RSS grew by ${Math.round(rssGrowth / 1024 / 1024)} MiB reading a commit with a 200 MB manifest`);
    expect(rssGrowth).toBeLessThan(100 * 1024 * 1024);
  });
});
