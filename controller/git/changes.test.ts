// Git's name-status output, from a real repository, as the changed paths the lifecycle judges.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseNameStatus } from './changes.ts';

describe('changed paths from git', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mergekey-classify-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd: dir, encoding: 'utf8' });

  it('parses `git diff --name-status -z -M` from a real repository, renames and odd names included', () => {
    git('init', '-q', '-b', 'main');
    mkdirSync(join(dir, 'apps'));
    const body = 'apiVersion: mergekey/v1\nkind: Application\n'.repeat(20);
    writeFileSync(join(dir, 'apps/billing.yaml'), body);
    writeFileSync(join(dir, 'apps/ledger.yaml'), 'ledger\n');
    writeFileSync(join(dir, 'README.md'), 'readme\n');
    git('add', '-A');
    git('commit', '-q', '-m', 'base');
    renameSync(join(dir, 'apps/billing.yaml'), join(dir, 'apps/billing2.yaml'));
    rmSync(join(dir, 'README.md'));
    writeFileSync(join(dir, 'apps/ledger.yaml'), 'ledger v2\n');
    writeFileSync(join(dir, 'new file\twith tab.md'), 'x\n');
    git('add', '-A');
    git('commit', '-q', '-m', 'head');
    const changes = parseNameStatus(git('diff', '--name-status', '-z', '-M', 'HEAD~1', 'HEAD'));
    expect(changes).toEqual(
      expect.arrayContaining([
        { status: 'renamed', path: 'apps/billing2.yaml', previousPath: 'apps/billing.yaml' },
        { status: 'deleted', path: 'README.md' },
        { status: 'modified', path: 'apps/ledger.yaml' },
        { status: 'added', path: 'new file\twith tab.md' },
      ]),
    );
    expect(changes).toHaveLength(4);
  });
});
