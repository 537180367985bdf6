// `mergekey serve` as an operator runs it: a child process configured through flags and
// environment variables, refusing a second server on its data directory, and stopping on SIGTERM
// with exit status 0 after finishing its work.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FixtureRepo } from '../../test/support/git.ts';
import { BASE_FILES, jwtAppYaml, tempDir } from '../../test/support/reconcile.ts';
import { serveChild } from '../../test/support/serve-child.ts';

describe('mergekey serve (child process)', () => {
  const dir = tempDir('mergekey-serve-');
  afterAll(() => dir.remove());

  it('runs from environment variables, refuses a second server, and stops cleanly on SIGTERM', { timeout: 60_000 }, async () => {
    const repo = await FixtureRepo.create(join(dir.path, 'manifests.git'));
    const commit = await repo.commit({ ...BASE_FILES, 'apps/billing.yaml': jwtAppYaml('billing') });
    const data = join(dir.path, 'data');
    const server = serveChild(['--port', '0'], { MERGEKEY_REPO: repo.path, MERGEKEY_DATA: data, MERGEKEY_POLL: '0' });
    try {
      const listening = JSON.parse(await server.waitFor(/mergekey serving on/)) as { msg: string };
      const adminUrl = /operator endpoints on (http:\/\/[^\s)]+)/.exec(listening.msg)![1]!;
      await server.waitFor(/applied commit/);
      const ready = await fetch(`${adminUrl}/readyz`);
      expect([ready.status, await ready.json()]).toEqual([200, { ready: true, commit }]);

      const second = serveChild(['--port', '0'], { MERGEKEY_REPO: repo.path, MERGEKEY_DATA: data });
      expect(await second.exit).toBe(1);
      expect(second.lines.join('\n')).toMatch(/^mergekey: cannot start: the data directory .* is in use by another mergekey controller \(PID \d+\)/m);
    } finally {
      server.proc.kill('SIGTERM');
    }
    expect(await server.exit).toBe(0);
    expect(server.lines.some((line) => line.includes('"msg":"mergekey stopped"'))).toBe(true);
    expect(existsSync(join(data, 'controller.lock'))).toBe(false);
  });

  it('refuses a bad option value as a usage error', async () => {
    const child = serveChild(['--repo', 'x', '--poll', 'sometimes'], {});
    expect(await child.exit).toBe(2);
    expect(child.lines[0]).toBe("mergekey: --poll: expected a duration such as 500ms, 30s, 5m or 1h (or 0), got 'sometimes'");
  });
});
