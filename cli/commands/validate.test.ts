import { execFile, execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { cp, mkdir, mkdtemp, open, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CliError } from '../errors.ts';
import { formatText, validate, type ValidateResult } from './validate.ts';

const broken = fileURLToPath(new URL('../../test/fixtures/broken', import.meta.url));
const examples = fileURLToPath(new URL('../../examples/manifests', import.meta.url));
const bin = fileURLToPath(new URL('../bin/mergekey.js', import.meta.url));

/** The real executable, as a user (or the check workflow) runs it. */
function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr });
    });
  });
}

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

  it('reports a manifest folder that is a file (or a FIFO), as the controller holds such a commit', async () => {
    const dir = await examplesCopy();
    await rm(join(dir, 'plans'), { recursive: true });
    await writeFile(join(dir, 'plans'), 'standard.yaml\n');
    await rm(join(dir, 'users'), { recursive: true });
    execFileSync('mkfifo', [join(dir, 'users')]);
    const result = await validate({ dir });
    const notAFolder = 'is not a folder; manifests of its kind live in a folder of that name';
    expect(result.problems.filter((p) => p.code === 'file.not-regular')).toEqual([
      { path: 'plans', line: 1, column: 1, code: 'file.not-regular', message: notAFolder },
      { path: 'users', line: 1, column: 1, code: 'file.not-regular', message: notAFolder },
    ]);
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

  it('mergekey validate refuses a 1024-bit RSA key (RFC 7518 section 3.3) at its line and column', async () => {
    const dir = await examplesCopy();
    const file = join(dir, 'apps', 'payments-gateway.yaml');
    const { n } = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' });
    const text = (await readFile(file, 'utf8')).replace(
      /        - kty: EC\n[^]*$/,
      `        - kty: RSA\n          n: ${n!}\n          e: AQAB\n          kid: gateway-2026\n          alg: RS256\n`,
    );
    await writeFile(file, text);
    expect(await cli('validate', dir)).toEqual({
      code: 1,
      stdout:
        'apps/payments-gateway.yaml:22:14: spec.credentials.jwks.keys[0].n: the RSA key has 1024 bits; RS256 and PS256 keys have at least 2048 (RFC 7518 section 3.3): make a new key pair of 2048 bits or more\n' +
        `${dir}: invalid, 1 problem in 1 file\n`,
      stderr: '',
    });
  });

  it('mergekey validate refuses private key material in a public JWKS', async () => {
    const dir = await examplesCopy();
    const file = join(dir, 'apps', 'payments-gateway.yaml');
    const { d } = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
    await writeFile(file, `${await readFile(file, 'utf8')}          d: ${d!}\n`);
    expect(await cli('validate', dir)).toEqual({
      code: 1,
      stdout:
        'apps/payments-gateway.yaml:28:11: spec.credentials.jwks.keys[0]: "d" is private key material: git history keeps it for good, so treat the key as leaked, make a new key pair and list only its public half\n' +
        `${dir}: invalid, 1 problem in 1 file\n`,
      stderr: '',
    });
  });

  it('mergekey validate refuses a NUL byte and a right-to-left override at their lines and columns', async () => {
    const dir = await examplesCopy();
    const file = join(dir, 'apps', 'storefront.yaml');
    const text = (await readFile(file, 'utf8')).replace('  displayName: Storefront', '  displayName: Store\u0000front').replace('  owners: [alice]', '  owners: [alice\u202E]');
    await writeFile(file, text);
    expect(await cli('validate', dir)).toEqual({
      code: 1,
      stdout:
        'apps/storefront.yaml:9:21: a NUL character (U+0000): git shows a file holding one as binary, with no diff to review, and YAML 1.2 forbids it (section 5.1)\n' +
        'apps/storefront.yaml:11:17: a bidirectional control character (U+202E): it reorders how the text is shown without changing what is read (Trojan Source, CVE-2021-42574)\n' +
        `${dir}: invalid, 2 problems in 1 file\n`,
      stderr: '',
    });
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
