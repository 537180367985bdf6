import { execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, open, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CliError } from '../errors.ts';
import { formatText, validate, type ValidateResult } from './validate.ts';

const broken = fileURLToPath(new URL('./fixtures/broken', import.meta.url));
const examples = fileURLToPath(new URL('../../examples/manifests', import.meta.url));

describe('validate', () => {
  let tmp: string;
  beforeEach(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'mergekey-validate-'));
  });
  afterEach(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  /** A copy of the example repository to break in one way. */
  async function examplesCopy(): Promise<string> {
    const dir = join(tmp, 'repo');
    await cp(examples, dir, { recursive: true });
    return dir;
  }

  it('reports every problem of a repository, sorted by path and line, with repository-relative paths', async () => {
    const result = await validate({ dir: broken });
    expect(result.valid).toBe(false);
    expect(result.problems.map((p) => [p.path, p.line])).toEqual([
      ['apps/billing.yaml', 9], // owners: [carol]
      ['apps/billing.yaml', 12], // scopes: [invoices:write]
      ['apps/reports.yaml', 5], // metadata.name: report
    ]);
  });

  it('reports a symlinked manifest at its own path instead of following it', async () => {
    const dir = await examplesCopy();
    await writeFile(join(tmp, 'outside.yaml'), 'apiVersion: mergekey/v1\n');
    await symlink(join(tmp, 'outside.yaml'), join(dir, 'apps', 'linked.yaml'));
    const result = await validate({ dir });
    expect(result.problems).toEqual([
      {
        path: 'apps/linked.yaml',
        line: 1,
        column: 1,
        code: 'file.symlink',
        message: 'is a symbolic link; a manifest must be a regular file (links are not followed)',
      },
    ]);
  });

  it('reports a symlinked manifest folder rather than silently reading nothing from it', async () => {
    const dir = await examplesCopy();
    await mkdir(join(tmp, 'more-users'));
    await symlink(join(tmp, 'more-users'), join(dir, 'users-elsewhere'));
    await rm(join(dir, 'apis'), { recursive: true });
    await symlink(join(examples, 'apis'), join(dir, 'apis'));
    const result = await validate({ dir });
    expect(result.problems.filter((p) => p.code === 'file.symlink').map((p) => p.path)).toEqual(['apis']);
  });

  it('does not hang on a FIFO where a manifest should be', async () => {
    const dir = await examplesCopy();
    execFileSync('mkfifo', [join(dir, 'apps', 'pipe.yaml')]);
    const result = await validate({ dir });
    expect(result.problems).toMatchObject([{ path: 'apps/pipe.yaml', line: 1, column: 1, code: 'file.not-regular' }]);
  });

  it('reads nothing inside .git and nothing that is not a manifest path', async () => {
    const dir = await examplesCopy();
    await mkdir(join(dir, '.git', 'apps'), { recursive: true });
    await writeFile(join(dir, '.git', 'apps', 'x.yaml'), ': not yaml at all [');
    await writeFile(join(dir, 'notes.yaml'), ': not yaml at all [');
    await writeFile(join(dir, 'apps', 'README.md'), '# apps');
    expect((await validate({ dir })).valid).toBe(true);
  });

  it("refuses manifests over the controller's cap by their size, reading none of them", async () => {
    const dir = await examplesCopy();
    await writeFile(join(dir, 'apps', 'over.yaml'), `# ${'x'.repeat(256 * 1024 - 1)}`);
    // 200 MB, sparse: neither this test nor validate holds it in memory.
    const huge = await open(join(dir, 'apps', 'huge.yaml'), 'w');
    await huge.truncate(200 * 1024 * 1024);
    await huge.close();
    const rssBefore = process.memoryUsage().rss;
    const result = await validate({ dir });
    const rssGrowth = process.memoryUsage().rss - rssBefore;
    console.log(`validate: RSS grew by ${Math.round(rssGrowth / 1024 / 1024)} MiB with a 200 MB manifest in the directory`);
    expect(rssGrowth).toBeLessThan(100 * 1024 * 1024);
    expect(result.problems).toEqual([
      { path: 'apps/huge.yaml', line: 1, column: 1, code: 'file.too-large', message: 'is 209715200 bytes; manifests are limited to 262144 bytes' },
      { path: 'apps/over.yaml', line: 1, column: 1, code: 'file.too-large', message: 'is 262145 bytes; manifests are limited to 262144 bytes' },
    ]);
  });

  it('refuses a DIR that does not exist, or is a file, as a usage error', async () => {
    await expect(validate({ dir: join(tmp, 'missing') })).rejects.toThrow(
      new CliError('USAGE', `directory '${join(tmp, 'missing')}' does not exist`),
    );
    await writeFile(join(tmp, 'file'), '');
    const error = await validate({ dir: join(tmp, 'file') }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CliError);
    expect(error).toMatchObject({ code: 'USAGE', message: `'${join(tmp, 'file')}' is not a directory` });
  });
});

describe('formatText', () => {
  const objects = { Settings: 1, Api: 0, Plan: 1, User: 0, Application: 0 };

  it('prints path:line:col: message per problem, then the summary', () => {
    const result: ValidateResult = {
      valid: false,
      objects,
      problems: [
        { path: 'apps/a.yaml', line: 3, column: 5, code: 'file.symlink', message: 'first' },
        { path: 'apps/a.yaml', line: 7, column: 1, code: 'file.symlink', message: 'second' },
        { path: 'users/b.yaml', line: 1, column: 1, code: 'file.unreadable', message: 'third' },
      ],
    };
    expect(formatText(result, 'repo')).toBe(
      'apps/a.yaml:3:5: first\napps/a.yaml:7:1: second\nusers/b.yaml:1:1: third\nrepo: invalid, 3 problems in 2 files\n',
    );
  });

  it('summarises a valid repository by kind, leaving out kinds it has none of', () => {
    expect(formatText({ valid: true, objects, problems: [] }, '.')).toBe('.: valid, 2 objects (1 Settings, 1 Plan)\n');
  });
});
