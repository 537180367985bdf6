// Confirmation with several replicas (issue 13, guarantee 7): each replica applies every commit and
// confirms it, and the merged request still gets one `mergekey/applied` status and one "live"
// comment, through the shared database's lock (store/postgres/confirmation-lock.ts). The GitHub
// stand-in (forge/) keeps what is posted; a real PostgreSQL (test/support/postgres.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFIRMATION_LOCK, confirmationLock } from '../store/postgres/confirmation-lock.ts';
import { openPool, parseStateUrl } from '../store/postgres/connect.ts';
import { connectSharedDb, type SharedDb } from '../store/postgres/db.ts';
import { migrate } from '../store/postgres/migrate.ts';
import { startPostgres, type PostgresCluster } from '../../test/support/postgres.ts';
import { appYaml, createWorld, type World } from '../../test/support/requests-world.ts';
import { APPLIED_CONTEXT, createConfirmer, gitCommitsBetween, type ConfirmBackend, type Confirmer } from './confirm.ts';
import type { AppliedEvent } from './event.ts';

let world: World;
let cluster: PostgresCluster;
let url: string;
const pools: SharedDb[] = [];

beforeAll(async () => {
  [world, cluster] = await Promise.all([
    createWorld(async (key) => ({ 'apps/billing.yaml': await appYaml(key, 'billing', { clientId: 'mk-billing-0001' }) })),
    startPostgres(),
  ]);
  url = await cluster.createDatabase();
  const sql = openPool(parseStateUrl(url));
  await migrate(sql).finally(() => sql.end());
});
afterAll(async () => {
  await Promise.all(pools.map((db) => db.close()));
  await Promise.all([world?.close(), cluster?.stop()]);
});

/** A request merged by pat, as `mergekey review approve` does it. */
async function mergedRequest(description: string): Promise<{ number: number; merge: string; event: AppliedEvent }> {
  const before = await world.repo.revParse('main');
  const branch = `mergekey/edit-billing-${Math.random().toString(16).slice(2, 8)}`;
  const pr = await world.handmade('alice', branch, { 'apps/billing.yaml': await appYaml(world.key, 'billing', { clientId: 'mk-billing-0001', description }) }, { labels: ['mergekey:edit'] });
  await world.github('pat').approve(pr.number);
  const { sha } = await world.github('pat').mergePullRequest(pr.number, { method: 'merge' });
  const event: AppliedEvent = {
    commit: sha,
    previous: before,
    at: '2025-03-01T10:05:00.000Z',
    objects: [{ path: 'apps/billing.yaml', kind: 'Application', name: 'billing', outcome: 'applied', clientId: 'mk-billing-0001', state: 'active' }],
  };
  return { number: pr.number, merge: sha, event };
}

/** One replica's confirmer: its own pool on the shared database, the GitHub backend given. */
async function replica(backend: ConfirmBackend, warnings: string[] = []): Promise<Confirmer> {
  const db = await connectSharedDb(url);
  pools.push(db);
  const log = { info() {}, warn: (_: object, message: string) => void warnings.push(message) };
  return createConfirmer({ backend, commitsBetween: gitCommitsBetween(world.repo.bareDir), log, oneAtATime: confirmationLock(db, log) });
}

describe('confirmation across replicas', () => {
  it('posts the status and the comment once when two replicas confirm the same merged request at once', async () => {
    const merged = await mergedRequest('Edited on two replicas.');
    const [a, b] = [await replica(world.github('pat')), await replica(world.github('pat'))];

    const [fromA, fromB] = await Promise.all([a.confirm(merged.event), b.confirm(merged.event)]);
    expect([...fromA, ...fromB].filter((c) => c.postedStatus)).toHaveLength(1);
    expect([...fromA, ...fromB].filter((c) => c.postedComment)).toHaveLength(1);
    expect((await world.github('pat').listCommitStatuses(merged.merge)).filter((s) => s.context === APPLIED_CONTEXT)).toHaveLength(1);
    expect(await world.github('pat').listComments(merged.number)).toEqual([expect.objectContaining({ body: expect.stringContaining('**live**') })]);
  });

  it('leaves the confirmation to the next replica when the one holding the lock fails before posting', async () => {
    const merged = await mergedRequest('Edited while GitHub fails one replica.');
    // A takes the lock, then GitHub fails it before anything is posted, once B waits for the lock.
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    let fail!: () => void;
    const failing = new Promise<void>((resolve) => (fail = resolve));
    const pat = world.github('pat');
    const broken: ConfirmBackend = {
      ...pat,
      async listCommitStatuses(commit) {
        entered();
        await failing;
        throw new Error(`GitHub answered 502 listing the statuses of ${commit.slice(0, 12)}`);
      },
    };
    const warningsA: string[] = [];
    const a = await replica(broken, warningsA);
    const b = await replica(pat);

    const confirmedByA = a.confirm(merged.event);
    await inside;
    const confirmedByB = b.confirm(merged.event);
    await waitForLockWaiter(merged.number);
    fail();

    expect(await confirmedByA).toEqual([]);
    expect(warningsA).toEqual([`could not confirm the pull requests of commit ${merged.merge.slice(0, 12)} on GitHub`]);
    expect(await confirmedByB).toEqual([{ number: merged.number, commit: merged.merge, state: 'success', postedStatus: true, postedComment: true }]);
    expect(await pat.listComments(merged.number)).toHaveLength(1);
  });
});

/** Until a session waits for the confirmation lock of `pull` (pg_locks shows it not granted). */
async function waitForLockWaiter(pull: number): Promise<void> {
  const query = `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND classid = ${CONFIRMATION_LOCK} AND objid = ${pull}`;
  const name = new URL(url).pathname.slice(1);
  while ((await cluster.psql(query, name)) !== '1\n') await new Promise((resolve) => setImmediate(resolve));
}
