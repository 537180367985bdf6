// Several replicas following one git repository with one PostgreSQL (issue 13), in one process:
// two reconcilers on two data directories, each with its own LMDB, sharing the head and the
// cut-off generation counter (store/config-head.ts, store/postgres/config-head.ts). A real
// PostgreSQL (test/support/postgres.ts), real LMDB stores, a real git repository.
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GitSource } from '../git/source.ts';
import { configHead } from '../store/postgres/config-head.ts';
import { openPool, parseStateUrl } from '../store/postgres/connect.ts';
import { connectSharedDb, sharedDb, type SharedDb } from '../store/postgres/db.ts';
import { handlesOf } from '../store/handles.ts';
import { openStore, type Store } from '../store/open.ts';
import type { RunStatus } from '../store/sync-records.ts';
import { cutOffs } from '../store/token-state.ts';
import { FixtureRepo } from '../../test/support/git.ts';
import { sharedDatabases } from '../../test/support/shared-db.ts';
import { BASE_FILES, jwtAppYaml, tempDir, userYaml } from '../../test/support/reconcile.ts';
import { followReplicas } from './follow.ts';
import { ReconcileLoop } from './loop.ts';
import { Reconciler } from './reconciler.ts';

/**
 * A source whose fetch can be held at an older commit than the branch's: a replica that fetched
 * before a push (`fetch: true`: it has the newer commits, and applies the older one), or one that
 * has not fetched since (`fetch: false`: it has not even got them).
 */
class PinnedSource extends GitSource {
  pinned: { commit: string; fetch: boolean } | undefined;
  override async fetch(): Promise<string> {
    if (this.pinned?.fetch === false) return this.pinned.commit;
    const head = await super.fetch();
    return this.pinned?.commit ?? head;
  }
}

interface Replica {
  store: Store;
  source: PinnedSource;
  reconciler: Reconciler;
  db: SharedDb;
  /** Resolves with the next run whose trigger is `trigger`. */
  nextRun(trigger: string): Promise<RunStatus>;
  /** The cut-offs this replica's LMDB holds for the fixture's targets. */
  cuts(): { generation: number; billing: unknown; shop: unknown; alice: unknown; bob: unknown };
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('base64url');

const pg = sharedDatabases();
const { onCleanup } = pg;

const api = (audience: string, scopes: string[]) => `apiVersion: mergekey/v1
kind: Api
metadata:
  name: orders
spec:
  description: Orders.
  audience: ${audience}
  scopes:
${scopes.map((scope) => `    - name: ${scope}\n      description: The ${scope} scope.\n`).join('')}`;

/** The cut-off targets of a store and the generation of each (its `revocations` database, tombstones aside). */
function cutOffTargets(store: Store): Map<string, number> {
  const targets = new Map<string, number>();
  for (const { key, value } of handlesOf(store).revocations.getRange()) {
    if (typeof value === 'object' && value !== null) targets.set(key, value.generation);
  }
  return targets;
}

/** A fresh migrated database, and a repository with settings, a plan, users alice and bob, apps billing and shop. */
async function world(): Promise<{ url: string; repo: FixtureRepo; first: string; shared(sql: string): Promise<string> }> {
  const { url } = await pg.freshDatabase();
  const dir = tempDir();
  onCleanup(() => dir.remove());
  const repo = await FixtureRepo.create(join(dir.path, 'manifests.git'));
  const first = await repo.commit({
    ...BASE_FILES,
    'users/bob.yaml': userYaml('bob'),
    'apps/billing.yaml': jwtAppYaml('billing'),
    'apps/shop.yaml': jwtAppYaml('shop'),
  });
  const name = new URL(url).pathname.slice(1);
  return { url, repo, first, shared: (query) => pg.cluster.psql(query, name) };
}

async function replica(url: string, repo: FixtureRepo, options: { alone?: boolean } = {}): Promise<Replica> {
  const dir = tempDir();
  const store = openStore(join(dir.path, 'data'));
  const db = await connectSharedDb(url);
  const source = new PinnedSource({ repo: repo.path, branch: 'main', cacheDir: join(dir.path, 'data', 'git') });
  const reconciler = new Reconciler({
    config: store.config,
    sync: store.sync,
    source,
    // The fixture's applications authenticate with private_key_jwt and its users have no password: nothing sealed.
    opener: { unseal: () => Promise.reject(new Error('nothing is sealed in this fixture')) },
    secretHashKey: randomBytes(32),
    // Each test deactivates one or two of its few applications.
    allowMassDeactivation: true,
    // `alone`: --state lmdb, each store counting its own cut-offs.
    ...(options.alone === true ? {} : { configHead: configHead(db) }),
    onRun: (run) => {
      for (const waiter of waiters.splice(0)) {
        if (waiter.trigger === run.trigger) waiter.resolve(run);
        else waiters.push(waiter);
      }
    },
  });
  const waiters: { trigger: string; resolve(run: RunStatus): void }[] = [];
  onCleanup(async () => {
    await store.close();
    await db.close();
    dir.remove();
  });
  const read = cutOffs(handlesOf(store));
  return {
    store,
    source,
    reconciler,
    db,
    nextRun: (trigger) => new Promise((resolve) => waiters.push({ trigger, resolve })),
    cuts: () => ({ generation: read.generation(), billing: read.application('billing'), shop: read.application('shop'), alice: read.user('alice'), bob: read.user('bob') }),
  };
}

describe('cut-offs across replicas', () => {
  it('gives both replicas the same generations and cut-offs, written once by whichever applies a commit first', async () => {
    const { url, repo, first, shared } = await world();
    const [a, b] = [await replica(url, repo), await replica(url, repo)];

    // The first commit creates the users: a new User writes a cut-off (a former holder's tokens end).
    expect(await a.reconciler.reconcile('test')).toMatchObject({ result: 'applied', commit: first });
    const created = { generation: 1, at: expect.any(Number) };
    expect(a.cuts()).toEqual({ generation: 1, billing: undefined, shop: undefined, alice: created, bob: created });
    expect(await b.reconciler.reconcile('test')).toMatchObject({ result: 'applied', commit: first });
    expect(b.cuts()).toEqual(a.cuts());

    // One commit deactivates billing and removes bob: one generation for both, on every replica.
    const second = await repo.commit({ 'apps/billing.yaml': jwtAppYaml('billing', { state: 'inactive' }), 'users/bob.yaml': null });
    expect(await b.reconciler.reconcile('test')).toMatchObject({ result: 'applied', commit: second });
    expect(await a.reconciler.reconcile('test')).toMatchObject({ result: 'applied', commit: second });
    const cut = { generation: 2, at: expect.any(Number) };
    expect(a.cuts()).toEqual({ generation: 2, billing: cut, shop: undefined, alice: created, bob: cut });
    expect(b.cuts()).toEqual(a.cuts());
    expect(await shared('SELECT value, head_commit FROM cut_off_generation')).toBe(`2|${second}\n`);
    expect(await shared("SELECT kind, target, generation FROM cut_offs ORDER BY kind, target")).toBe('application|billing|2\nuser|alice|1\nuser|bob|2\n');
  });

  it('writes the cut-offs of a commit two replicas apply at the same time once', async () => {
    const { url, repo, shared } = await world();
    const [a, b] = [await replica(url, repo), await replica(url, repo)];
    await Promise.all([a.reconciler.reconcile('test'), b.reconciler.reconcile('test')]);
    const deactivation = await repo.commit({ 'apps/shop.yaml': jwtAppYaml('shop', { state: 'inactive' }) });

    const runs = await Promise.all([a.reconciler.reconcile('test'), b.reconciler.reconcile('test')]);
    expect(runs.map((run) => [run.result, run.commit])).toEqual([['applied', deactivation], ['applied', deactivation]]);
    expect(await shared('SELECT value, head_commit FROM cut_off_generation')).toBe(`2|${deactivation}\n`);
    expect(a.cuts()).toMatchObject({ generation: 2, shop: { generation: 2 } });
    expect(b.cuts()).toEqual(a.cuts());
  });

  it('writes none for a commit older than the shared head, and keeps the lagging replica on its own generation', async () => {
    const { url, repo, shared } = await world();
    const [a, b] = [await replica(url, repo), await replica(url, repo)];
    await a.reconciler.reconcile('test');
    await b.reconciler.reconcile('test');
    const older = await repo.commit({ 'apps/billing.yaml': jwtAppYaml('billing', { state: 'inactive' }) });
    const newer = await repo.commit({ 'apps/shop.yaml': jwtAppYaml('shop', { state: 'inactive' }) });
    expect(await a.reconciler.reconcile('test')).toMatchObject({ result: 'applied', commit: newer });
    const head = await shared('SELECT value, head_commit FROM cut_off_generation');
    expect(head).toBe(`2|${newer}\n`);

    // B fetched before the last push: it has the newer commit in its git, and applies the older one.
    b.source.pinned = { commit: older, fetch: true };
    expect(await b.reconciler.reconcile('test')).toMatchObject({ result: 'applied', commit: older });
    expect(await shared('SELECT value, head_commit FROM cut_off_generation')).toBe(head);
    expect(await shared('SELECT count(*) FROM cut_offs')).toBe('4\n');
    // B knows every cut-off, but its tokens carry the generation it had: a token it issues from
    // the older configuration (shop still active there) dies by shop's cut-off.
    expect(b.cuts()).toEqual({ ...a.cuts(), generation: 1 });

    b.source.pinned = undefined;
    expect(await b.reconciler.reconcile('test')).toMatchObject({ result: 'applied', commit: newer });
    expect(b.cuts()).toEqual(a.cuts());
    expect(await shared('SELECT value, head_commit FROM cut_off_generation')).toBe(head);
  });

  it('writes none when the shared head is a commit this replica has not fetched yet', async () => {
    const { url, repo, first, shared } = await world();
    const [a, b] = [await replica(url, repo), await replica(url, repo)];
    await b.reconciler.reconcile('test');
    const deactivation = await repo.commit({ 'apps/billing.yaml': jwtAppYaml('billing', { state: 'inactive' }) });
    // A starts with an empty store: it applies the shared head first, so that its deactivation of
    // billing is measured from there (from nothing, billing would be a new, inactive application).
    expect(await a.reconciler.reconcile('test')).toMatchObject({ result: 'applied', commit: deactivation });
    expect(a.cuts()).toMatchObject({ generation: 2, billing: { generation: 2 } });

    // B restarts before fetching A's commit: a restart applies the applied commit again.
    b.source.pinned = { commit: first, fetch: false };
    const restarted = new Reconciler({
      config: b.store.config, sync: b.store.sync, source: b.source,
      opener: { unseal: () => Promise.reject(new Error('nothing is sealed in this fixture')) }, secretHashKey: randomBytes(32), configHead: configHead(b.db),
    });
    expect(await restarted.reconcile('test')).toMatchObject({ result: 'unchanged', commit: first });
    expect(await shared('SELECT value, head_commit FROM cut_off_generation')).toBe(`2|${deactivation}\n`);
    expect(b.cuts()).toMatchObject({ generation: 1, billing: { generation: 2 } });
  });

  it('has a replica behind the shared head apply it first, so that its commit is measured from there', async () => {
    const { url, repo, shared } = await world();
    const [a, b] = [await replica(url, repo), await replica(url, repo)];
    const billing = (state: 'active' | 'inactive') => ({ 'apps/billing.yaml': jwtAppYaml('billing', { state }) });
    await a.reconciler.reconcile('test');
    await b.reconciler.reconcile('test');
    await repo.commit(billing('inactive'));
    await a.reconciler.reconcile('test');
    await b.reconciler.reconcile('test');
    expect(await shared("SELECT generation FROM cut_offs WHERE target = 'billing'")).toBe('2\n');
    // Only A applies the reactivation: tokens it issues from now on carry generation 2.
    const reactivation = await repo.commit(billing('active'));
    expect(await a.reconciler.reconcile('test')).toMatchObject({ result: 'applied', commit: reactivation });

    // B applies the next deactivation first. From its own records billing was inactive all along;
    // from the shared head it is deactivated again, which must end A's tokens.
    const again = await repo.commit(billing('inactive'));
    expect(await b.reconciler.reconcile('test')).toMatchObject({ result: 'applied', commit: again });
    expect(await shared('SELECT value, head_commit FROM cut_off_generation')).toBe(`3|${again}\n`);
    expect(await shared("SELECT generation FROM cut_offs WHERE target = 'billing'")).toBe('3\n');
    expect(b.cuts()).toMatchObject({ generation: 3, billing: { generation: 3 } });
    await a.reconciler.reconcile('test');
    expect(a.cuts()).toEqual(b.cuts());
  });

  it('cuts off exactly what one replica alone cuts off, commit by commit', async () => {
    const { url, repo } = await world();
    const [a, b, alone] = [await replica(url, repo), await replica(url, repo), await replica(url, repo, { alone: true })];
    const commits = [
      { 'apis/orders.yaml': api('https://orders.test', ['orders:read', 'orders:write']) },
      // A dropped scope, then a new audience, then the Api removed: each ends what it withdrew.
      { 'apis/orders.yaml': api('https://orders.test', ['orders:read']) },
      { 'apis/orders.yaml': api('https://orders.example', ['orders:read']), 'apps/billing.yaml': jwtAppYaml('billing', { description: 'Edited.' }) },
      { 'apis/orders.yaml': null, 'users/bob.yaml': null },
      // An application deactivated by state, another by removal, and a user restored.
      { 'apps/billing.yaml': jwtAppYaml('billing', { state: 'inactive' }), 'apps/shop.yaml': null, 'users/bob.yaml': userYaml('bob') },
      { 'apps/billing.yaml': jwtAppYaml('billing') },
    ];
    const changed = (before: Map<string, number>, after: Map<string, number>) => [...after].filter(([key, generation]) => before.get(key) !== generation).map(([key]) => key).sort();
    for (const files of [{}, ...commits]) {
      const commit = Object.keys(files).length === 0 ? undefined : await repo.commit(files);
      const before = [cutOffTargets(alone.store), cutOffTargets(a.store), cutOffTargets(b.store)] as const;
      for (const r of [alone, a, b]) expect(await r.reconciler.reconcile('test')).toMatchObject({ result: 'applied', ...(commit === undefined ? {} : { commit }) });
      const cutAlone = changed(before[0], cutOffTargets(alone.store));
      expect({ commit, cut: changed(before[1], cutOffTargets(a.store)) }).toEqual({ commit, cut: cutAlone });
      expect(cutOffTargets(b.store)).toEqual(cutOffTargets(a.store));
    }
    expect([...cutOffTargets(a.store).keys()].sort()).toEqual([
      'app/billing', 'app/shop', 'aud/' + sha256('https://orders.example'), 'aud/' + sha256('https://orders.test'),
      'scope/orders:read', 'scope/orders:write', 'user/alice', 'user/bob',
    ].sort());
  });

  it('applies nothing while the shared database cannot be reached, and says which server, without its password', async () => {
    const { repo } = await world();
    const dir = tempDir();
    const store = openStore(join(dir.path, 'data'));
    // Port 1 on loopback: nothing listens there.
    const unreachable = parseStateUrl('postgres://mergekey:s3cret-pw@127.0.0.1:1/mergekey');
    const db = sharedDb(openPool(unreachable, { connectTimeout: 2 }), unreachable);
    onCleanup(async () => {
      await store.close();
      await db.close();
      dir.remove();
    });
    const reconciler = new Reconciler({
      config: store.config, sync: store.sync, source: new GitSource({ repo: repo.path, branch: 'main', cacheDir: join(dir.path, 'data', 'git') }),
      opener: { unseal: () => Promise.reject(new Error('nothing is sealed in this fixture')) }, secretHashKey: randomBytes(32), configHead: configHead(db),
    });
    const run = await reconciler.reconcile('test');
    expect(run).toMatchObject({ result: 'failed', error: { failure: 'transient', reason: 'Failed', message: expect.stringContaining('cannot reach PostgreSQL at 127.0.0.1:1') } });
    expect(JSON.stringify(run)).not.toContain('s3cret-pw');
    expect(store.sync.appliedCommit()).toBeUndefined();
    expect(store.config.application('billing')).toBeUndefined();
  });
});


describe('replicas following each other', () => {
  /** The reconcile loop of a replica that never polls: only triggers run it. */
  async function following(r: Replica): Promise<ReconcileLoop> {
    const loop = new ReconcileLoop({ reconciler: r.reconciler, pollMs: 0, minIntervalMs: 0 });
    const stop = await followReplicas(configHead(r.db), { applied: () => r.store.sync.appliedCommit()?.commit, trigger: (reason) => void loop.trigger(reason) });
    onCleanup(async () => {
      await stop();
      await loop.stop();
    });
    return loop;
  }

  it('has a commit applied by one replica fetched at once by the other, which does not poll', async () => {
    const { url, repo, first } = await world();
    const [a, b] = [await replica(url, repo), await replica(url, repo)];
    const [loopA] = [await following(a), await following(b)];

    const heard = b.nextRun('replica');
    await loopA.trigger('webhook');
    expect(a.store.sync.appliedCommit()?.commit).toBe(first);
    expect(await heard).toMatchObject({ result: 'applied', commit: first });

    const next = await repo.commit({ 'apps/shop.yaml': jwtAppYaml('shop', { state: 'inactive' }) });
    const again = b.nextRun('replica');
    await loopA.trigger('webhook');
    expect(await again).toMatchObject({ result: 'applied', commit: next });
    expect(b.cuts()).toEqual(a.cuts());
  });

  it('reconciles once when the listening connection comes back', async () => {
    const { url, repo, first, shared } = await world();
    const b = await replica(url, repo);
    await following(b);
    const reconnected = b.nextRun('replica-reconnected');
    // The server drops the listening connection (a restart, a network cut); the client reconnects by itself.
    expect(await shared("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query ILIKE 'listen%' AND datname = current_database()")).toBe('1\n');
    expect(await reconnected).toMatchObject({ result: 'applied', commit: first });
  });
});
