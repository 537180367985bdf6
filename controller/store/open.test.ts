import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StoreError } from './errors.ts';
import { LMDB_DATA_VERSION, lmdbFileProblem } from './lmdb-file.ts';
import { handlesOf, openHandles, STORE_FORMAT, type StoreHandles, type StoreMeta } from './handles.ts';
import { openStore } from './open.ts';
import { openPool, parseStateUrl } from './postgres/connect.ts';
import { sharedDb } from './postgres/db.ts';

const dirs: string[] = [];
const open: StoreHandles[] = [];
afterEach(async () => {
  for (const store of open.splice(0)) await store.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mergekey-store-'));
  dirs.push(dir);
  return dir;
}

function opened(dir: string): StoreHandles {
  const store = openHandles(dir);
  open.push(store);
  return store;
}

/** A store with something in it, closed, so its files can be damaged. */
async function writtenStore(): Promise<string> {
  const dir = dataDir();
  const store = openHandles(dir);
  store.root.transactionSync(() => {
    store.plans.put('standard', { v: 1, name: 'standard', path: 'plans/standard.yaml', commit: 'c1', spec: { description: 'd', accessTokenTtl: '15m', refreshTokenTtl: '30d', tokenRequestsPerMinute: 60 } });
    for (let i = 0; i < 300; i++) store.sync.put(`k${i}`, 'x'.repeat(200));
  });
  await store.close();
  return dir;
}

function expectStoreError(action: () => unknown, code: StoreError['code'], message: RegExp): void {
  let caught: unknown;
  try {
    action();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(StoreError);
  expect((caught as StoreError).code).toBe(code);
  expect((caught as StoreError).message).toMatch(message);
}

describe('openStore', () => {
  it('records the store format on first open and reopens what it wrote', async () => {
    const dir = await writtenStore();
    const store = opened(dir);
    const meta = store.root.openDB<StoreMeta, string>({ name: 'meta' }).get('format');
    expect(meta?.format).toBe(STORE_FORMAT);
    expect(store.plans.get('standard')?.spec.accessTokenTtl).toBe('15m');
  });

  it('refuses a store written by a newer release, naming both formats', async () => {
    const dir = dataDir();
    const store = openHandles(dir);
    await store.root.openDB<StoreMeta, string>({ name: 'meta' }).put('format', { format: 3, createdAt: '2030-01-01T00:00:00Z' });
    await store.close();
    expectStoreError(
      () => openHandles(dir),
      'store.newer-format',
      new RegExp(`^store at ${join(dir, 'store')} was written by Mergekey store format 3; this release reads up to ${STORE_FORMAT}$`),
    );
  });

  it('marks a format-1 store as this format on open, so a format-1 release no longer misreads it', async () => {
    const dir = dataDir();
    const store = openHandles(dir);
    await store.root.openDB<StoreMeta, string>({ name: 'meta' }).put('format', { format: 1, createdAt: '2025-01-01T00:00:00Z' });
    await store.close();
    const reopened = opened(dir);
    expect(reopened.root.openDB<StoreMeta, string>({ name: 'meta' }).get('format')).toEqual({ format: STORE_FORMAT, createdAt: '2025-01-01T00:00:00Z' });
  });

  it('refuses a format record that is not a format', async () => {
    const dir = dataDir();
    const store = openHandles(dir);
    await store.root.openDB<unknown, string>({ name: 'meta' }).put('format', { format: 'one' });
    await store.close();
    expectStoreError(() => openHandles(dir), 'store.corrupt', /format record/);
  });

  // Each of these makes lmdb-js kill the process (SIGSEGV, SIGBUS) if it reaches the native code.
  it('refuses a data file of junk with an error naming the file, not a native crash', () => {
    const dir = dataDir();
    mkdirSync(join(dir, 'store'));
    writeFileSync(join(dir, 'store', 'data.mdb'), Buffer.alloc(100_000, 'this is not an LMDB file '));
    expectStoreError(() => openHandles(dir), 'store.corrupt', new RegExp(`the store at ${join(dir, 'store')} is corrupt \\(.*data\\.mdb: meta page 0: no LMDB magic number\\)`));
  });

  it('refuses a truncated data file', async () => {
    const dir = await writtenStore();
    const file = join(dir, 'store', 'data.mdb');
    truncateSync(file, Math.floor(readFileSync(file).length / 2));
    expectStoreError(() => openHandles(dir), 'store.corrupt', /truncated/);
  });

  it('refuses a data file whose second meta page is damaged', async () => {
    const dir = await writtenStore();
    const file = join(dir, 'store', 'data.mdb');
    const bytes = readFileSync(file);
    bytes.fill(0xff, 4096, 4096 + 64);
    writeFileSync(file, bytes);
    expectStoreError(() => openHandles(dir), 'store.corrupt', /meta page 1/);
  });

  it('refuses a data directory whose store path is a file', () => {
    const dir = dataDir();
    writeFileSync(join(dir, 'store'), 'not a directory');
    expectStoreError(() => openHandles(dir), 'store.unreadable', /cannot create the store directory/);
  });
});

describe('the store façade', () => {
  it('hands out one interface per kind of state, over the handles it keeps inside', async () => {
    const dir = await writtenStore();
    const store = openStore(dir);
    try {
      expect(store.config.plan('standard')?.spec.accessTokenTtl).toBe('15m');
      expect(store.sync.appliedCommit()).toBeUndefined();
      expect(await store.keyring.keyring()).toBeUndefined();
      expect(store.health.problem()).toBeUndefined();
      expect(await store.tokens.accessToken('billing', 'nope')).toBeUndefined();
      // The raw handles are not members of the façade: only store/, tests and benchmarks reach them.
      expect(Object.keys(store)).not.toContain('root');
      expect(handlesOf(store).plans.get('standard')?.name).toBe('standard');
    } finally {
      await store.close();
    }
  });

  it('refuses what openHandles refuses', () => {
    const dir = dataDir();
    writeFileSync(join(dir, 'store'), 'not a directory');
    expect(() => openStore(dir)).toThrow(StoreError);
  });
});

describe('lmdbFileProblem', () => {
  // Pins the on-disk layout lmdb-file.ts reads against what the installed lmdb-js writes, so an
  // lmdb upgrade that changes it fails here rather than refusing every real store.
  it('finds nothing wrong with a store lmdb-js has just written', async () => {
    const dir = await writtenStore();
    const file = join(dir, 'store', 'data.mdb');
    expect(lmdbFileProblem(file)).toBeUndefined();
    expect(readFileSync(file).readUInt32LE(28)).toBe(LMDB_DATA_VERSION);
  });
});

describe('openStore with a shared database', () => {
  it('reports the shared database in its health, tells watchers, and closes the pool with the store', async () => {
    // A port nothing listens on: every round trip is refused.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    const url = parseStateUrl(`postgres://mergekey:s3cret@127.0.0.1:${port}/mergekey`);
    const shared = sharedDb(openPool(url, { max: 1 }), url, { probeMs: 60_000 });
    const store = openStore(dataDir(), { shared });
    const heard: (string | undefined)[] = [];
    store.health.watch((problem) => heard.push(problem));
    expect(store.health.problem()).toBeUndefined();

    const listed = store.tokens.listTokens('billing', { limit: 10 });
    await expect(listed).rejects.toMatchObject({ code: 'store.unreachable' });
    expect(store.health.problem()).toMatch(new RegExp(`^cannot reach PostgreSQL at 127\\.0\\.0\\.1:${port}: `));
    expect(heard).toEqual([store.health.problem()]);

    await store.close();
    // The pool is closed: no further round trip is even tried.
    await expect(shared.sql`SELECT 1`).rejects.toMatchObject({ code: 'CONNECTION_ENDED' });
  });
});
