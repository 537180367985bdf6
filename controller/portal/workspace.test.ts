import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestRepository, type TestRepository } from '../../forge/index.ts';
import { Workspace } from './workspace.ts';

let repo: TestRepository;
let base: string;

beforeAll(async () => {
  repo = await createTestRepository({ 'apps/.gitkeep': '', 'README.md': '# manifests\n' });
  base = join(repo.bareDir, '..', 'portal');
});

afterAll(async () => {
  await repo?.cleanup();
});

/** The pid of a process that has exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid!;
}

describe('the portal’s clone', () => {
  it('takes over the clone of a process that is gone, removes the others, and serializes git work', async () => {
    const [first, second] = [deadPid(), deadPid()];
    for (const pid of [first, second]) {
      mkdirSync(join(base, `clone-${pid}`), { recursive: true });
      writeFileSync(join(base, `clone-${pid}`, 'marker'), String(pid));
    }
    const workspace = new Workspace({ repo: repo.bareDir, branch: 'main', dir: base, github: undefined });
    const views = await Promise.all([workspace.mainView(), workspace.mainView(), workspace.mainView()]);
    expect(new Set(views.map((view) => view.main.commit)).size).toBe(1);
    expect(views[0]!.stale).toBeUndefined();
    const mine = join(base, `clone-${process.pid}`);
    expect(existsSync(mine)).toBe(true);
    expect(existsSync(join(base, `clone-${first}`)) || existsSync(join(base, `clone-${second}`))).toBe(false);
  });

  it('serves the last fetched main, saying why, when the repository cannot be fetched', async () => {
    const workspace = new Workspace({ repo: repo.bareDir, branch: 'main', dir: base, github: undefined });
    const fresh = await workspace.mainView();
    const moved = `${repo.bareDir}.moved`;
    spawnSync('mv', [repo.bareDir, moved]);
    try {
      const view = await workspace.mainView();
      expect(view.main.commit).toBe(fresh.main.commit);
      expect(view.stale).toMatch(/cannot fetch main from origin/);
    } finally {
      spawnSync('mv', [moved, repo.bareDir]);
    }
    rmSync(base, { recursive: true, force: true });
  });
});
