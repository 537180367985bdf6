// Crash safety: a child process applying a large commit is killed with SIGKILL at random moments,
// mostly inside the apply transaction; after every kill the store must hold exactly the old commit
// or the new one — every record from the same commit — and a restart must converge.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FixtureRepo, type Fixture } from '../../test/support/git.ts';
import { handlesOf } from '../store/handles.ts';
import { openStore } from '../store/open.ts';
import { BASE_FILES, jwtAppYaml, tempDir } from '../../test/support/reconcile.ts';

const APPS = 1000;
const KILLS = 20;
const child = fileURLToPath(new URL('../../test/support/reconcile-crash-child.ts', import.meta.url));
/** Head commit → branch, for the child to accept each switch between the two histories. */
const heads = new Map<string, string>();
const names = Array.from({ length: APPS }, (_, i) => `app-${String(i).padStart(5, '0')}`);

function version(label: string): Fixture {
  const files: Fixture = { ...BASE_FILES };
  for (const name of names) files[`apps/${name}.yaml`] = jwtAppYaml(name, { description: `${label} of ${name}` });
  return files;
}

interface ChildRun {
  markers: Map<string, number>;
  killed: boolean;
}

/** Runs the child; with `killAfter`, SIGKILLs it that many ms after it prints `applying`. */
function runChild(repo: string, branch: string, dataDir: string, killAfter?: number): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const head = [...heads].find(([, b]) => b === branch)![0];
    const proc = spawn(process.execPath, ['--import', 'tsx', child, repo, branch, dataDir, head], { stdio: ['ignore', 'pipe', 'pipe'] });
    const markers = new Map<string, number>();
    let stderr = '';
    let buffer = '';
    proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    proc.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let newline;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        markers.set(line.split(' ')[0]!, performance.now());
        if (line.startsWith('applying') && killAfter !== undefined) setTimeout(() => proc.kill('SIGKILL'), killAfter);
      }
    });
    proc.on('error', reject);
    proc.on('close', (code, signal) => {
      if (signal === 'SIGKILL') resolve({ markers, killed: true });
      else if (code === 0) resolve({ markers, killed: false });
      else reject(new Error(`child exited with ${code}: ${stderr}`));
    });
  });
}

/** Asserts the store is wholly at one of the commits and returns which label it holds. */
async function consistentState(dataDir: string, labels: Map<string, string>): Promise<string> {
  const store = openStore(dataDir);
  try {
    const applied = store.sync.appliedCommit()?.commit;
    const label = applied === undefined ? undefined : labels.get(applied);
    expect(label, `applied commit ${applied}`).toBeDefined();
    let count = 0;
    for (const { value } of handlesOf(store).applications.getRange()) {
      expect(value.spec.description.split(' of ')[0], value.name).toBe(label);
      expect(value.commit).toBe(applied);
      count += 1;
    }
    expect(count).toBe(APPS);
    return label!;
  } finally {
    await store.close();
  }
}

describe('crash safety of apply', () => {
  const dir = tempDir('mergekey-crash-');
  const labels = new Map<string, string>();
  let repo: FixtureRepo;
  const dataDir = join(dir.path, 'data');
  afterAll(() => dir.remove());

  beforeAll(async () => {
    repo = await FixtureRepo.create(join(dir.path, 'manifests.git'));
    // Two unrelated histories: switching between them rewrites every record, a full resync each time.
    labels.set(await repo.commit(version('one'), { branch: 'one' }), 'one');
    labels.set(await repo.commit(version('two'), { branch: 'two', orphan: true }), 'two');
    for (const [commit, label] of labels) heads.set(commit, label);
  });

  it(`leaves the old commit or the new one after each of ${KILLS} SIGKILLs, then converges`, { timeout: 120_000 }, async () => {
    const calibration = await runChild(repo.path, 'one', dataDir);
    expect(calibration.killed).toBe(false);
    expect(await consistentState(dataDir, labels)).toBe('one');
    const second = await runChild(repo.path, 'two', dataDir);
    const applyMs = second.markers.get('applied')! - second.markers.get('applying')!;

    const outcomes: string[] = [];
    for (let i = 0; i < KILLS; i++) {
      const before = await consistentState(dataDir, labels);
      const target = before === 'one' ? 'two' : 'one';
      // Uniform over the measured length of the transaction: kills land inside it and, when this
      // run is faster than the measured one, right after its commit.
      const killAfter = Math.random() * applyMs;
      const run = await runChild(repo.path, target, dataDir, killAfter);
      const after = await consistentState(dataDir, labels);
      expect([before, target]).toContain(after);
      outcomes.push(run.killed ? (after === target ? 'killed-after-commit' : 'killed-before-commit') : 'finished');
    }
    // Converges: a run that is not killed brings the store to the branch it follows.
    const final = await runChild(repo.path, 'two', dataDir);
    expect(final.killed).toBe(false);
    expect(await consistentState(dataDir, labels)).toBe('two');
    expect(outcomes.filter((o) => o.startsWith('killed')).length).toBeGreaterThan(0);
    console.log(`crash test: apply of ${APPS} records took ~${Math.round(applyMs)} ms; outcomes: ${JSON.stringify(count(outcomes))}`);
  });
});

function count(items: string[]): Record<string, number> {
  return items.reduce<Record<string, number>>((acc, item) => ({ ...acc, [item]: (acc[item] ?? 0) + 1 }), {});
}
