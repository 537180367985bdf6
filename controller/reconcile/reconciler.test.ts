import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readdirSync, readFileSync, renameSync, rmSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GitSource, type ReadResult, type TreeEntry } from '../git/source.ts';
import { FixtureRepo, type Fixture } from '../../test/support/git.ts';
import { clientSecretMatches } from '../sealing/hashes.ts';
import { loadOrCreateKeys } from '../sealing/keys.ts';
import { seal } from '../sealing/seal.ts';
import { handlesOf, type StoreHandles } from '../store/handles.ts';
import { openStore, type Store } from '../store/open.ts';
import { Reconciler } from './reconciler.ts';
import { appYaml, BASE_FILES, publicAppYaml, SETTINGS_YAML, tempDir, userYaml, type AppFields } from '../../test/support/reconcile.ts';

/** Counts what is read from git, to show that a commit costs what changed in it. */
class CountingSource extends GitSource {
  reads: string[] = [];
  override async readFiles(entries: TreeEntry[]): Promise<ReadResult> {
    this.reads.push(...entries.map((e) => e.path));
    return super.readFiles(entries);
  }
}

interface Harness {
  repo: FixtureRepo;
  store: Store;
  /** The store's raw handles, to look at exactly what was written. */
  raw: StoreHandles;
  source: CountingSource;
  reconciler: Reconciler;
  dataDir: string;
  secretHashKey: Uint8Array;
  /** Plaintext client secrets by application name. */
  secrets: Map<string, string>;
  app(name: string, fields?: AppFields): Promise<string>;
  sealFor(kind: 'Application' | 'User', name: string, secret: string): Promise<string>;
  restart(options?: { allowMassDeactivation?: boolean; acceptHistoryRewrite?: string }): void;
  /** Every log line the reconciler wrote, as `level: message`. */
  logs: string[];
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function harness(options: { allowMassDeactivation?: boolean } = {}): Promise<Harness> {
  const dir = tempDir();
  const repo = await FixtureRepo.create(join(dir.path, 'manifests.git'));
  const dataDir = join(dir.path, 'data');
  const keys = await loadOrCreateKeys(dataDir);
  const sealing = {
    seal: (target: { kind: 'Application' | 'User'; name: string }, secret: string) => seal(keys.sealingPublicJwk, target, secret),
  };
  const secretHashKey = keys.secretHashKey;
  const secrets = new Map<string, string>();
  const h = { logs: [] as string[] } as Harness;
  const log = {
    info: (_: object, message: string) => h.logs.push(`info: ${message}`),
    warn: (_: object, message: string) => h.logs.push(`warn: ${message}`),
    error: (_: object, message: string) => h.logs.push(`error: ${message}`),
  };
  const build = (allowMassDeactivation: boolean, acceptHistoryRewrite?: string) => {
    h.store = openStore(dataDir);
    h.raw = handlesOf(h.store);
    h.source = new CountingSource({ repo: repo.path, branch: 'main', cacheDir: join(dataDir, 'git') });
    h.reconciler = new Reconciler({
      config: h.store.config, sync: h.store.sync, source: h.source, opener: keys.opener, secretHashKey, allowMassDeactivation, log,
      ...(acceptHistoryRewrite === undefined ? {} : { acceptHistoryRewrite }),
    });
  };
  Object.assign(h, {
    repo,
    dataDir,
    secretHashKey,
    secrets,
    sealFor: (kind: 'Application' | 'User', name: string, secret: string) => sealing.seal({ kind, name }, secret),
    async app(name: string, fields: AppFields = {}) {
      const secret = `plaintext-${name}-${randomBytes(12).toString('hex')}`;
      secrets.set(name, secret);
      return appYaml(name, await sealing.seal({ kind: 'Application', name }, secret), fields);
    },
    restart(next: { allowMassDeactivation?: boolean; acceptHistoryRewrite?: string } = {}) {
      void h.store.close();
      build(next.allowMassDeactivation ?? false, next.acceptHistoryRewrite);
    },
  });
  build(options.allowMassDeactivation ?? false);
  cleanups.push(async () => {
    await h.store.close();
    dir.remove();
  });
  return h;
}

async function commitApps(h: Harness, apps: Record<string, AppFields | null>, extra: Fixture = {}): Promise<string> {
  const files: Fixture = { ...extra };
  for (const [name, fields] of Object.entries(apps)) files[`apps/${name}.yaml`] = fields === null ? null : await h.app(name, fields);
  return h.repo.commit(files);
}

function objectStatus(h: Harness, path: string) {
  return h.reconciler.status().objectStatuses.find((o) => o.path === path);
}

function ready(h: Harness, path: string) {
  return objectStatus(h, path)?.conditions.find((c) => c.type === 'Ready');
}

describe('Reconciler against a real git repository and LMDB store', () => {
  it('creates, edits, deactivates by state and by removal, keeping records and hashes only', async () => {
    const h = await harness();
    const first = await commitApps(h, { billing: {}, reports: {}, search: {} }, BASE_FILES);
    expect(await h.reconciler.reconcile('test')).toMatchObject({ result: 'applied', commit: first });
    expect(h.store.sync.appliedCommit()?.commit).toBe(first);

    const billing = h.raw.applications.get('billing')!;
    expect(billing).toMatchObject({ v: 1, name: 'billing', path: 'apps/billing.yaml', commit: first, spec: { clientId: 'billing-client-0001', state: 'active' } });
    expect(billing.secrets).toHaveLength(1);
    expect(clientSecretMatches(h.secretHashKey, h.secrets.get('billing')!, billing.secrets[0]!.hash)).toBe(true);
    expect(JSON.stringify(billing)).not.toContain('sealed');
    expect(h.raw.clientIds.get('billing-client-0001')).toBe('billing');
    expect(h.raw.settings.get('settings')?.spec.defaultPlan).toBe('standard');
    expect(ready(h, 'apps/billing.yaml')).toMatchObject({ status: 'True', reason: 'Ready' });

    // Edit.
    const second = await commitApps(h, { billing: { description: 'Invoices and payments.' } });
    expect(await h.reconciler.reconcile('test')).toMatchObject({ result: 'applied', commit: second });
    expect(h.raw.applications.get('billing')).toMatchObject({ commit: second, spec: { description: 'Invoices and payments.' } });
    expect(h.raw.applications.get('reports')!.commit).toBe(first);

    // Deactivate by state.
    await commitApps(h, { reports: { state: 'inactive' } });
    await h.reconciler.reconcile('test');
    expect(h.raw.applications.get('reports')!.spec.state).toBe('inactive');

    // Remove a manifest: the application becomes inactive and its record stays.
    const removal = await commitApps(h, { search: null });
    await h.reconciler.reconcile('test');
    expect(h.raw.applications.get('search')).toMatchObject({ commit: removal, spec: { state: 'inactive', clientId: 'search-client-0001' } });
    expect(h.raw.clientIds.get('search-client-0001')).toBe('search');
    expect(objectStatus(h, 'apps/search.yaml')?.conditions.find((c) => c.type === 'Applied')).toMatchObject({
      status: 'True',
      reason: 'Removed',
      message: 'apps/search.yaml was removed: the application is inactive and its record is kept',
    });
  });

  it('stores a public client, which has no credentials, and consent skipped only where mergekey.yaml makes the app first-party', async () => {
    const h = await harness();
    const first = await h.repo.commit({
      ...BASE_FILES,
      'mergekey.yaml': `${SETTINGS_YAML}  firstPartyApps: [spa]\n`,
      'apps/spa.yaml': publicAppYaml('spa', { consent: 'skip' }),
      'apps/mobile.yaml': publicAppYaml('mobile'),
    });
    expect(await h.reconciler.reconcile('test')).toMatchObject({ result: 'applied', commit: first });
    const spa = h.store.config.applicationByClientId('spa-client-0001');
    expect(spa).toEqual({
      v: 1,
      name: 'spa',
      path: 'apps/spa.yaml',
      commit: first,
      spec: {
        description: 'The spa application.',
        owners: ['alice'],
        clientId: 'spa-client-0001',
        state: 'active',
        scopes: ['openid', 'profile', 'email'],
        grantTypes: ['authorization_code', 'refresh_token'],
        redirectUris: ['https://spa.example.com/callback', 'http://127.0.0.1/callback'],
        tokenEndpointAuthMethod: 'none',
        consent: 'skip',
      },
      secrets: [],
    });
    expect(h.store.config.application('mobile')?.spec).not.toHaveProperty('consent');
    expect(h.store.config.settings()?.spec.firstPartyApps).toEqual(['spa']);
    expect(ready(h, 'apps/spa.yaml')).toMatchObject({ status: 'True', reason: 'Ready' });

    // The first-party list is emptied while mobile asks to skip consent: both apps' manifests are
    // now invalid and keep their last good versions until fixed, as any broken manifest does.
    await h.repo.commit({ 'mergekey.yaml': SETTINGS_YAML, 'apps/mobile.yaml': publicAppYaml('mobile', { consent: 'skip' }) });
    await h.reconciler.reconcile('test');
    expect(ready(h, 'apps/mobile.yaml')).toMatchObject({ status: 'False' });
    expect(objectStatus(h, 'apps/mobile.yaml')?.conditions.find((c) => c.type === 'Ready')?.message).toContain(
      "apps/mobile.yaml:14:12: spec.consent: only first-party applications skip consent, and mergekey.yaml's spec.firstPartyApps does not list \"mobile\"",
    );
    expect(h.store.config.application('mobile')?.spec).not.toHaveProperty('consent');
    expect(ready(h, 'apps/spa.yaml')).toMatchObject({ status: 'False' });
    expect(h.store.config.application('spa')?.spec.consent).toBe('skip');
    // So sign-in cannot read consent alone: it asks the settings too (portal/policy.ts skipsConsent).
    expect(h.store.config.settings()?.spec.firstPartyApps).toBeUndefined();
  });

  it('re-reads only the paths a commit changes', async () => {
    const h = await harness();
    await commitApps(h, { 'app-a1': {}, 'app-a2': {}, 'app-a3': {}, 'app-a4': {} }, BASE_FILES);
    await h.reconciler.reconcile('test');
    expect(h.source.reads).toHaveLength(7);
    h.source.reads = [];
    await commitApps(h, { 'app-a2': { description: 'Changed.' } }, { 'README.md': 'not a manifest' });
    await h.reconciler.reconcile('test');
    expect(h.source.reads).toEqual(['apps/app-a2.yaml']);
    h.source.reads = [];
    expect(await h.reconciler.reconcile('test')).toMatchObject({ result: 'unchanged' });
    expect(h.source.reads).toEqual([]);
  });

  it('keeps the last good version of a broken manifest, reports where, applies the rest, and recovers', async () => {
    const h = await harness();
    const first = await commitApps(h, { billing: {}, reports: {} }, BASE_FILES);
    await h.reconciler.reconcile('test');

    const broken = (await h.app('billing', { description: 'Broken.' })).replace('state: active', 'state: retired');
    const second = await h.repo.commit({ 'apps/billing.yaml': broken, 'apps/reports.yaml': await h.app('reports', { description: 'Still applies.' }) });
    expect(await h.reconciler.reconcile('test')).toMatchObject({ result: 'applied', commit: second });
    expect(h.raw.applications.get('billing')).toMatchObject({ commit: first, spec: { description: 'The billing application.' } });
    expect(h.raw.applications.get('reports')).toMatchObject({ commit: second, spec: { description: 'Still applies.' } });
    const status = objectStatus(h, 'apps/billing.yaml')!;
    expect(status.problems).toHaveLength(1);
    expect(status.problems[0]).toMatchObject({ path: 'apps/billing.yaml', line: 9, column: 10 });
    expect(status.conditions.find((c) => c.type === 'Applied')).toMatchObject({
      status: 'False',
      reason: 'KeptLastGood',
      message: `the version from commit ${first.slice(0, 12)} is served until the manifest is fixed`,
    });
    expect(ready(h, 'apps/billing.yaml')).toMatchObject({ status: 'False', reason: 'Invalid' });
    expect(ready(h, 'apps/billing.yaml')!.message).toMatch(/^apps\/billing\.yaml:9:10: /);
    expect(status.servedCommit).toBe(first);
    // The repository says so too: applied, except billing, which keeps its last good version.
    const repositoryReady = () => h.reconciler.status().conditions.find((c) => c.type === 'Ready');
    expect(repositoryReady()).toMatchObject({
      status: 'False',
      reason: 'AppliedWithErrors',
      message: `commit ${second.slice(0, 12)} is applied except apps/billing.yaml (KeptLastGood): each keeps its last good version, or is not served if it never had one (see its problems)`,
    });

    const fixed = await commitApps(h, { billing: { description: 'Fixed.' } });
    await h.reconciler.reconcile('test');
    expect(repositoryReady()).toMatchObject({ status: 'True', reason: 'Ready' });
    expect(h.raw.applications.get('billing')).toMatchObject({ commit: fixed, spec: { description: 'Fixed.' } });
    expect(ready(h, 'apps/billing.yaml')).toMatchObject({ status: 'True' });
    expect(objectStatus(h, 'apps/billing.yaml')!.problems).toEqual([]);
  });

  it('refuses oversized manifests of an incremental sync unread, naming size and cap, and applies the rest', { timeout: 60_000 }, async () => {
    const h = await harness();
    const first = await commitApps(h, { billing: {}, reports: {} }, BASE_FILES);
    await h.reconciler.reconcile('test');

    // A 200 MB file, written sparse and stored by git from disk: never built in this process's memory.
    const huge = join(h.dataDir, 'huge.yaml');
    closeSync(openSync(huge, 'w'));
    truncateSync(huge, 200 * 1024 * 1024);
    const hugeBlob = await h.repo.writeBlobFromFile(huge);
    rmSync(huge);
    const cap = 256 * 1024;
    const justOver = `# ${'x'.repeat(cap - 1)}`;
    const deep = `apps/${'d/'.repeat(1000)}deep.yaml`;
    const second = await h.repo.commit({
      'apps/huge.yaml': { blob: hugeBlob },
      'apps/billing.yaml': justOver,
      'apps/reports.yaml': await h.app('reports', { description: 'Still applies.' }),
      [deep]: 'a manifest far too deep',
    });
    h.source.reads = [];
    const rssBefore = process.memoryUsage().rss;
    const synced = await h.reconciler.reconcile('poll');
    expect(synced.error).toBeUndefined();
    expect(synced).toMatchObject({ result: 'applied', commit: second });
    const rssGrowth = process.memoryUsage().rss - rssBefore;
    console.log(`oversized manifests: RSS grew by ${Math.round(rssGrowth / 1024 / 1024)} MiB reconciling a commit with a 200 MB manifest`);
    // Reading the file would take at least its 200 MB (twice, as git's output is gathered).
    expect(rssGrowth).toBeLessThan(100 * 1024 * 1024);

    expect(objectStatus(h, 'apps/huge.yaml')!.problems).toEqual([
      { path: 'apps/huge.yaml', line: 1, column: 1, code: 'file.too-large', message: `apps/huge.yaml is 209715200 bytes; manifests are limited to ${cap} bytes` },
    ]);
    expect(objectStatus(h, 'apps/billing.yaml')!.problems).toEqual([
      { path: 'apps/billing.yaml', line: 1, column: 1, code: 'file.too-large', message: `apps/billing.yaml is ${cap + 1} bytes; manifests are limited to ${cap} bytes` },
    ]);
    // The oversized billing keeps its last good version; the rest of the commit applies.
    expect(h.raw.applications.get('billing')).toMatchObject({ commit: first, spec: { state: 'active' } });
    expect(objectStatus(h, 'apps/billing.yaml')!.conditions.find((c) => c.type === 'Applied')).toMatchObject({ reason: 'KeptLastGood' });
    expect(h.raw.applications.get('reports')).toMatchObject({ commit: second, spec: { description: 'Still applies.' } });
    expect(h.raw.applications.get('huge')).toBeUndefined();
    expect(objectStatus(h, deep)!.problems[0]).toMatchObject({ code: 'file.location' });
  });

  it('holds a commit with more manifests than are read at all, serving the last good state', async () => {
    const h = await harness();
    const first = await commitApps(h, { billing: {} }, BASE_FILES);
    await h.reconciler.reconcile('test');
    const many: Fixture = {};
    for (let i = 0; i < 30; i++) many[`apps/app-${String(i).padStart(3, '0')}.yaml`] = 'x';
    const crowded = await h.repo.commit(many);
    const small = new Reconciler({
      config: h.store.config,
      sync: h.store.sync,
      source: new GitSource({ repo: h.repo.path, branch: 'main', cacheDir: join(h.dataDir, 'git'), maxManifests: 20 }),
      opener: { unseal: () => Promise.reject(new Error('unused')) },
      secretHashKey: h.secretHashKey,
    });
    const run = await small.reconcile('poll');
    expect(run).toMatchObject({
      result: 'failed',
      commit: crowded,
      error: { failure: 'stalled', reason: 'TooLarge', message: `commit ${crowded.slice(0, 12)} has more than 20 manifest paths; it is not read; the last good state is served` },
    });
    expect(h.store.sync.appliedCommit()?.commit).toBe(first);
  });

  it('holds a commit that turns a manifest folder into a symlink, a submodule or a file, rather than deactivate every manifest in it', async () => {
    const h = await harness();
    const first = await commitApps(h, { billing: {} }, BASE_FILES);
    await h.reconciler.reconcile('test');
    const held = (commit: string, path: string, what: string) => ({
      result: 'failed',
      commit,
      error: { failure: 'stalled', reason: 'Unreadable', message: `${path}/ is ${what} in commit ${commit.slice(0, 12)}, not a folder: manifests are never read through it, and the commit is not applied; the last good state is served` },
    });
    for (const [entry, what] of [[{ symlink: '/etc' }, 'a symlink'], [{ submodule: first }, 'a submodule'], ['apps: none', 'a file']] as const) {
      const replaced = await h.repo.commit({ 'apps/billing.yaml': null, apps: entry });
      // From the applied commit (a diff), and after a restart (a full listing).
      expect(await h.reconciler.reconcile('poll')).toMatchObject(held(replaced, 'apps', what));
      expect(h.store.sync.appliedCommit()?.commit).toBe(first);
      expect(h.raw.applications.get('billing')).toMatchObject({ commit: first, spec: { state: 'active' } });
      h.restart();
      expect(await h.reconciler.reconcile('poll')).toMatchObject(held(replaced, 'apps', what));
      expect(h.raw.applications.get('billing')).toMatchObject({ commit: first, spec: { state: 'active' } });
      // Put back as it was, for the next variant.
      await h.repo.forcePush(first);
      h.restart({ acceptHistoryRewrite: first });
    }
    const users = await h.repo.commit({ 'users/alice.yaml': null, users: { symlink: 'apps' } });
    expect(await h.reconciler.reconcile('poll')).toMatchObject(held(users, 'users', 'a symlink'));
  });

  it('refuses a symlinked manifest and a duplicate client id without touching what is served', async () => {
    const h = await harness();
    await commitApps(h, { billing: {} }, BASE_FILES);
    await h.reconciler.reconcile('test');
    await h.repo.commit({
      'apps/linked.yaml': { symlink: 'billing.yaml' },
      'apps/copycat.yaml': await h.app('copycat', { clientId: 'billing-client-0001' }),
    });
    await h.reconciler.reconcile('test');
    expect(objectStatus(h, 'apps/linked.yaml')!.problems).toEqual([
      { path: 'apps/linked.yaml', line: 1, column: 1, code: 'file.symlink', message: 'apps/linked.yaml is a symlink; symlinks are not followed' },
    ]);
    expect(ready(h, 'apps/linked.yaml')).toMatchObject({ status: 'False', reason: 'Invalid' });
    expect(h.raw.applications.get('linked')).toBeUndefined();
    expect(h.raw.applications.get('copycat')).toBeUndefined();
    expect(h.raw.clientIds.get('billing-client-0001')).toBe('billing');
    const copycat = objectStatus(h, 'apps/copycat.yaml')!;
    expect(copycat.problems.map((p) => p.message).join('\n')).toMatch(/billing-client-0001/);
    expect(copycat.problems[0]).toMatchObject({ line: 8, column: 13 });
    expect(copycat.conditions.find((c) => c.type === 'Applied')).toMatchObject({ reason: 'NotApplied' });
  });

  it('re-evaluates unchanged manifests whose references change: a fix elsewhere applies them', async () => {
    const h = await harness();
    await commitApps(h, { billing: {}, reports: { owners: ['bob'] } }, BASE_FILES);
    await h.reconciler.reconcile('test');
    expect(h.raw.applications.get('reports')).toBeUndefined();
    expect(objectStatus(h, 'apps/reports.yaml')!.problems[0]).toMatchObject({ code: 'rules.unknown-owner', line: 7 });

    // Only users/bob.yaml changes; apps/reports.yaml is not in the diff but becomes valid.
    const fix = await h.repo.commit({ 'users/bob.yaml': userYaml('bob') });
    h.source.reads = [];
    await h.reconciler.reconcile('test');
    expect(h.source.reads).toEqual(['users/bob.yaml']);
    expect(h.raw.applications.get('reports')).toMatchObject({ commit: fix, spec: { owners: ['bob'] } });
    expect(ready(h, 'apps/reports.yaml')).toMatchObject({ status: 'True' });

    // Removing bob makes the unchanged app invalid again; its applied version stays.
    await h.repo.commit({ 'users/bob.yaml': null });
    await h.reconciler.reconcile('test');
    expect(h.raw.users.get('bob')).toBeUndefined();
    expect(h.raw.applications.get('reports')!.commit).toBe(fix);
    expect(objectStatus(h, 'apps/reports.yaml')!.conditions.find((c) => c.type === 'Applied')).toMatchObject({ reason: 'KeptLastGood' });
    expect(objectStatus(h, 'users/bob.yaml')).toBeUndefined();
  });

  it('makes an object whose sealed secret cannot be opened invalid, keeping its last good version', async () => {
    const h = await harness();
    const first = await commitApps(h, { billing: {}, reports: {} }, BASE_FILES);
    await h.reconciler.reconcile('test');

    // Sealed, for the right object, to another controller's key: only opening it can tell.
    const otherDir = tempDir();
    cleanups.push(() => otherDir.remove());
    const other = await loadOrCreateKeys(join(otherDir.path, 'other'));
    const foreign = await seal(other.sealingPublicJwk, { kind: 'Application', name: 'billing' }, 'x'.repeat(43));
    await h.repo.commit({ 'apps/billing.yaml': appYaml('billing', foreign, { description: 'Foreign secret.' }) });
    await h.reconciler.reconcile('test');
    expect(h.raw.applications.get('billing')).toMatchObject({ commit: first, spec: { description: 'The billing application.' } });
    const problem = objectStatus(h, 'apps/billing.yaml')!.problems[0]!;
    expect(problem).toMatchObject({ path: 'apps/billing.yaml', line: 12, column: 17, code: 'sealed.unopenable' });
    expect(problem.message).toMatch(/^spec\.credentials\.secrets\[0\]\.sealed cannot be opened: /);

    // Copied from another application's manifest: bound to reports, refused before any decryption.
    const stolen = await h.sealFor('Application', 'reports', 'x'.repeat(43));
    await h.repo.commit({ 'apps/billing.yaml': appYaml('billing', stolen, { description: 'Stolen secret.' }) });
    await h.reconciler.reconcile('test');
    expect(h.raw.applications.get('billing')!.commit).toBe(first);
    expect(objectStatus(h, 'apps/billing.yaml')!.problems[0]).toMatchObject({ line: 12, column: 17, code: 'rules.sealed-binding' });
  });

  it('holds a force push until an operator accepts that head, then resyncs fully', async () => {
    const h = await harness();
    const first = await commitApps(h, { 'app-a1': {}, 'app-a2': {} }, BASE_FILES);
    await h.reconciler.reconcile('test');
    // A new history that shares no commit with the old one: app-a2 is gone, app-a3 appears.
    const files: Fixture = { ...BASE_FILES, 'apps/app-a1.yaml': await h.app('app-a1', { description: 'Rewritten.' }), 'apps/app-a3.yaml': await h.app('app-a3') };
    const rewritten = await h.repo.commit(files, { orphan: true });
    expect(await h.reconciler.reconcile('poll')).toMatchObject({ result: 'failed', commit: rewritten, error: { failure: 'stalled', reason: 'HistoryRewritten' } });
    expect(h.store.sync.appliedCommit()?.commit).toBe(first);

    h.reconciler.acceptHistoryRewrite(rewritten.slice(0, 12));
    h.source.reads = [];
    expect(await h.reconciler.reconcile('manual')).toMatchObject({ result: 'applied', commit: rewritten });
    // Unchanged blobs (settings, plan, user) are not parsed again; the changed ones are.
    expect(h.source.reads.sort()).toEqual(['apps/app-a1.yaml', 'apps/app-a3.yaml']);
    expect(h.raw.applications.get('app-a1')!.spec.description).toBe('Rewritten.');
    expect(h.raw.applications.get('app-a2')!.spec.state).toBe('inactive');
    expect(h.raw.applications.get('app-a3')!.spec.state).toBe('active');
  });

  it('holds a rollback that would bring back a rotated-out secret, across restarts, until that very head is accepted', async () => {
    const h = await harness();
    const before = await commitApps(h, { billing: {}, reports: {} }, BASE_FILES);
    await h.reconciler.reconcile('test');
    const oldSecret = h.secrets.get('billing')!;
    // The rotation: a new secret, merged and applied.
    const rotated = await commitApps(h, { billing: { description: 'Rotated.' } });
    await h.reconciler.reconcile('test');
    const newSecret = h.secrets.get('billing')!;
    const served = () => h.raw.applications.get('billing')!.secrets.map((s) => s.hash);
    const works = (secret: string) => served().some((hash) => clientSecretMatches(h.secretHashKey, secret, hash));
    expect([works(oldSecret), works(newSecret)]).toEqual([false, true]);

    // git push --force of the commit before the rotation.
    await h.repo.forcePush(before);
    const heldMessage = (head: string, note = '') =>
      `the history of main was rewritten: its head ${head} does not contain the applied commit ${rotated.slice(0, 12)}${note}. ` +
      `A rollback can bring back a rotated-out secret, so ${rotated.slice(0, 12)} is still served. ` +
      `To apply the new head: mergekey sync --accept-history-rewrite ${head} (or restart with --accept-history-rewrite ${head})`;
    const held = await h.reconciler.reconcile('poll');
    expect(held).toMatchObject({ result: 'failed', commit: before, error: { failure: 'stalled', reason: 'HistoryRewritten', message: heldMessage(before) } });
    expect([works(oldSecret), works(newSecret)]).toEqual([false, true]);
    expect(h.store.sync.appliedCommit()).toMatchObject({ commit: rotated });
    expect(h.reconciler.historyRewriteHeld()).toEqual({ applied: rotated, head: before });
    const conditions = () => Object.fromEntries(h.reconciler.status().conditions.map((c) => [c.type, `${c.status} ${c.reason}`]));
    expect(conditions()).toEqual({ Fetched: 'True Fetched', Synced: 'False HistoryRewritten', Valid: 'True Valid', Ready: 'False HistoryRewritten' });
    expect(h.logs).toContain(`error: ${heldMessage(before)}`);

    // A restart forgets nothing: the hold comes from the store's applied commit and the fetched head.
    h.restart();
    expect(await h.reconciler.reconcile('startup')).toMatchObject({ result: 'failed', error: { reason: 'HistoryRewritten', message: heldMessage(before) } });
    expect([works(oldSecret), works(newSecret)]).toEqual([false, true]);

    // New commits on top of the rewritten base are still a rewrite.
    const onTop = await commitApps(h, { reports: { description: 'On the rewritten base.' } }, {});
    expect(await h.reconciler.reconcile('webhook')).toMatchObject({ result: 'failed', commit: onTop, error: { reason: 'HistoryRewritten', message: heldMessage(onTop) } });

    // Accepting one head accepts that head only: the branch has moved on, so it is held again.
    h.reconciler.acceptHistoryRewrite(before);
    expect(await h.reconciler.reconcile('manual')).toMatchObject({
      result: 'failed',
      error: { reason: 'HistoryRewritten', message: heldMessage(onTop, ` (the accepted rewrite is ${before}, not this head)`) },
    });
    expect(h.store.sync.appliedCommit()).toMatchObject({ commit: rotated });

    // The operator accepts the head the status names (here at startup, as --accept-history-rewrite does).
    h.restart({ acceptHistoryRewrite: onTop });
    expect(await h.reconciler.reconcile('startup')).toMatchObject({ result: 'applied', commit: onTop });
    expect([works(oldSecret), works(newSecret)]).toEqual([true, false]);
    expect(h.store.sync.appliedCommit()).toMatchObject({ commit: onTop, rewrittenFrom: rotated });
    expect(h.reconciler.historyRewriteHeld()).toBeUndefined();
    expect(h.reconciler.status().conditions.find((c) => c.type === 'Synced')).toMatchObject({
      status: 'True',
      message: `commit ${onTop.slice(0, 12)} is applied; it rewrote the history from ${rotated.slice(0, 12)}, as an operator accepted: anything that rewrite brought back (a rotated-out secret) is in force`,
    });
    expect(h.logs).toContain(
      `error: history rewrite accepted by an operator: applied ${onTop.slice(0, 12)} over ${rotated.slice(0, 12)}; ` +
        'whatever the rewrite brought back (a rotated-out client secret, a removed owner) is in force again',
    );

    // From there the branch moves forward as usual.
    const next = await commitApps(h, { reports: { description: 'Forward again.' } });
    expect(await h.reconciler.reconcile('poll')).toMatchObject({ result: 'applied', commit: next });
    expect(h.reconciler.status().conditions.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True' });

    // An acceptance while nothing is held (a flag left set, a stale command) is dropped, not kept
    // for a later force push to that commit.
    h.restart({ acceptHistoryRewrite: rotated });
    expect(await h.reconciler.reconcile('startup')).toMatchObject({ result: 'unchanged', commit: next });
    await h.repo.forcePush(rotated);
    expect(await h.reconciler.reconcile('poll')).toMatchObject({ result: 'failed', commit: rotated, error: { reason: 'HistoryRewritten' } });
    expect([works(oldSecret), works(newSecret)]).toEqual([true, false]);
  });

  it('keeps serving the last good state when the branch is renamed away or the remote is down, and recovers', async () => {
    const h = await harness();
    const first = await commitApps(h, { billing: {} }, BASE_FILES);
    await h.reconciler.reconcile('test');

    await h.repo.renameBranch('main', 'trunk');
    const gone = await h.reconciler.reconcile('poll');
    expect(gone).toMatchObject({ result: 'failed', error: { failure: 'retry', reason: 'BranchNotFound' } });
    expect(gone.error!.message).toBe(`branch 'main' does not exist in ${h.repo.path}; serving the last good state`);
    expect(h.raw.applications.get('billing')!.commit).toBe(first);
    expect(h.reconciler.status().conditions.find((c) => c.type === 'Fetched')).toMatchObject({ status: 'False', reason: 'BranchNotFound' });
    expect(h.reconciler.status().conditions.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False' });
    await h.repo.renameBranch('trunk', 'main');

    renameSync(h.repo.path, `${h.repo.path}.away`);
    const down = await h.reconciler.reconcile('poll');
    expect(down).toMatchObject({ result: 'failed', error: { failure: 'retry', reason: 'Unreachable' } });
    expect(h.raw.applications.get('billing')!.commit).toBe(first);
    expect(h.reconciler.isReady()).toBe(true);
    renameSync(`${h.repo.path}.away`, h.repo.path);

    const next = await commitApps(h, { billing: { description: 'Back.' } });
    expect(await h.reconciler.reconcile('retry')).toMatchObject({ result: 'applied', commit: next });
    expect(h.reconciler.status().conditions.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True' });
    expect(h.reconciler.status().lastSuccessfulFetch).toMatchObject({ commit: next });
  });

  it('holds back a mass removal until it is allowed, without retrying the same head', async () => {
    const h = await harness();
    const first = await commitApps(h, { 'app-a1': {}, 'app-a2': {}, 'app-a3': {}, 'app-a4': {}, 'app-a5': {} }, BASE_FILES);
    await h.reconciler.reconcile('test');
    const massRemoval = await commitApps(h, { 'app-a1': null, 'app-a2': null, 'app-a3': null });
    const held = await h.reconciler.reconcile('webhook');
    expect(held).toMatchObject({ result: 'failed', commit: massRemoval, error: { failure: 'stalled', reason: 'HeldBack' } });
    expect(held.error!.message).toBe(
      'this commit would deactivate 3 of 5 active applications (apps/app-a1.yaml, apps/app-a2.yaml, apps/app-a3.yaml); it is held back: ' +
        'push a commit that restores them, or restart the server with --allow-mass-deactivation to apply it',
    );
    expect(h.store.sync.appliedCommit()?.commit).toBe(first);
    expect(h.raw.applications.get('app-a1')!.spec.state).toBe('active');
    h.source.reads = [];
    expect(await h.reconciler.reconcile('poll')).toMatchObject({ result: 'failed', error: { reason: 'HeldBack' } });
    expect(h.source.reads).toEqual([]);
    expect(h.reconciler.status().conditions.find((c) => c.type === 'Synced')).toMatchObject({ status: 'False', reason: 'HeldBack' });

    h.restart({ allowMassDeactivation: true });
    expect(await h.reconciler.reconcile('startup')).toMatchObject({ result: 'applied', commit: massRemoval });
    expect(['app-a1', 'app-a2', 'app-a3', 'app-a4'].map((n) => h.raw.applications.get(n)!.spec.state)).toEqual(['inactive', 'inactive', 'inactive', 'active']);
  });

  it('resumes after a restart and never stores a plaintext secret', async () => {
    const h = await harness();
    const password = `password-${randomBytes(12).toString('hex')}`;
    await commitApps(h, { billing: {}, reports: {} }, { ...BASE_FILES, 'users/bob.yaml': userYaml('bob', await h.sealFor('User', 'bob', password)) });
    await h.reconciler.reconcile('test');
    expect(h.raw.users.get('bob')!.passwordHash).toMatch(/^scrypt\$/);
    h.restart();
    const next = await commitApps(h, { reports: { description: 'After restart.' } });
    expect(await h.reconciler.reconcile('startup')).toMatchObject({ result: 'applied', commit: next });
    expect(h.raw.applications.get('reports')!.spec.description).toBe('After restart.');
    expect(ready(h, 'apps/billing.yaml')).toMatchObject({ status: 'True' });
    await h.store.close();
    const plaintexts = [password, ...h.secrets.values()];
    const storeDir = join(h.dataDir, 'store');
    for (const file of readdirSync(storeDir)) {
      const bytes = readFileSync(join(storeDir, file));
      for (const secret of plaintexts) expect(bytes.includes(Buffer.from(secret)), `${secret} in ${file}`).toBe(false);
    }
    h.store = openStore(h.dataDir);
  });
});
