// The start-up store check on real LMDB files that lmdb-js wrote: every page of a store damaged in
// turn (the free-page list's too), the check child's death by a signal, and the evidence that a store
// existed. controller/server/serve-store.test.ts drives the same through `mergekey serve`.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareStore, readStoreInChild, recordStoreIdentity, STORE_ID_FILE } from './check.ts';
import { StoreError } from './errors.ts';
import { lmdbTreeProblem } from './lmdb-file.ts';
import { openHandles } from './handles.ts';

const base = mkdtempSync(join(tmpdir(), 'mergekey-check-'));
let copies = 0;
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** A data directory with a store of several transactions: branch pages, overflow values, a free list. */
let pristine: string;
beforeAll(async () => {
  pristine = join(base, 'pristine');
  const store = openHandles(pristine);
  for (let t = 0; t < 4; t++) {
    store.root.transactionSync(() => {
      for (let i = 0; i < 400; i++) store.sync.put(`object/${t}/${i}`, { path: `apps/app-${i}.yaml`, conditions: [{ type: 'Ready', status: 'True' }] });
      // Only its size matters here: a record long enough to spread over overflow pages.
      store.tokens.put(`billing/${t}`, { jti: `${t}`, scope: 'open '.repeat(2000) } as never);
      if (t > 0) store.sync.remove(`object/${t - 1}/7`);
    });
  }
  recordStoreIdentity(pristine, store, undefined);
  await store.close();
});

function copy(): { data: string; file: string } {
  const data = join(base, `copy-${++copies}`);
  cpSync(pristine, data, { recursive: true });
  return { data, file: join(data, 'store', 'data.mdb') };
}

const options = { rebuild: false, timeoutMs: 60_000 };

async function refusal(data: string, opts = options): Promise<StoreError> {
  const error = await prepareStore(data, opts).then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(StoreError);
  return error as StoreError;
}

function damage(file: string, change: (bytes: Buffer, pageSize: number) => void): void {
  const bytes = readFileSync(file);
  change(bytes, bytes.readUInt32LE(48));
  writeFileSync(file, bytes);
}

describe('prepareStore', () => {
  it('reads a sound store whole: every database, every entry', async () => {
    const { data } = copy();
    expect(await prepareStore(data, options)).toEqual({
      databases: expect.objectContaining({ sync: 4 * 400 - 3, tokens: 4, meta: 2 }),
    });
  });

  it('refuses the store whatever page of it is damaged, naming the page and its database', { timeout: 120_000 }, async () => {
    const walk = lmdbTreeProblem(join(pristine, 'store', 'data.mdb'));
    if (typeof walk === 'string') throw new Error(walk);
    const kinds = new Set(walk.pages.values());
    expect([...kinds].sort()).toEqual(['(free list)', '(main)', 'meta', 'sync', 'tokens']);
    expect(walk.pages.size).toBeGreaterThan(40);
    const { data, file } = copy();
    const original = readFileSync(file);
    for (const [page, tree] of walk.pages) {
      // An overflow value's pages after its first have no header: a byte changed there is a
      // changed byte of the value, which nothing without checksums can see.
      if (original.readBigUInt64LE(page * 4096) !== BigInt(page)) continue;
      const bytes = Buffer.from(original);
      // The page header after its number, and the first node offsets (an overflow page: its count).
      for (let i = page * 4096 + 8; i < page * 4096 + 32; i++) bytes[i] = bytes[i]! ^ 0xa5;
      writeFileSync(file, bytes);
      const error = await refusal(data);
      expect(error.code).toBe('store.corrupt');
      const where = tree === '(main)' ? 'the main database' : tree === '(free list)' ? 'the free list' : `database ${tree}`;
      // An overflow page is found from the leaf that points to it.
      expect(error.message).toMatch(new RegExp(`^the store file ${file} is damaged \\(page (${page} \\(${where.replace(/[()]/g, '\\$&')}\\): |\\d+ \\(${where.replace(/[()]/g, '\\$&')}\\): node \\d+: (overflow )?page ${page})`));
    }
  });

  it('reports the check child dying by a signal as damage, not as its own death', { timeout: 120_000 }, async () => {
    const { data, file } = copy();
    const original = readFileSync(file);
    const walk = lmdbTreeProblem(file);
    if (typeof walk === 'string') throw new Error(walk);
    const leaves = [...walk.pages].filter(([page, tree]) => tree === 'sync' && original.readUInt16LE(page * 4096 + 18) === 0x02).map(([page]) => page);
    // A leaf's first node offset pointed far past its page: depending on what lies there, lmdb-js
    // returns an error or dies by SIGSEGV, SIGBUS or an assertion (SIGTRAP, SIGABRT). Past the end
    // of the file is SIGBUS, so the last leaves are tried first.
    leaves.sort((a, b) => b - a);
    const problems: string[] = [];
    for (const leaf of leaves) {
      const bytes = Buffer.from(original);
      bytes.writeUInt16LE(0xfff0, leaf * 4096 + 24);
      writeFileSync(file, bytes);
      const walked = await readStoreInChild(join(data, 'store'), 60_000).result;
      expect(walked.ok).toBe(false);
      problems.push((walked as { problem: string }).problem);
      if (/killed/.test(problems.at(-1)!)) break;
    }
    expect(problems.at(-1)).toMatch(/^reading it killed the check process with SIG(SEGV|BUS|TRAP|ABRT)(: .+)?$/);
  });

  it('reports a check that does not finish in time as damage', async () => {
    const { data } = copy();
    expect(await readStoreInChild(join(data, 'store'), 1).result).toEqual({ ok: false, problem: 'reading it took longer than 1 ms (a loop in a damaged page?)' });
  });

  it('starts a first store, but refuses a missing one where lock.mdb says one existed', async () => {
    const fresh = join(base, `copy-${++copies}`);
    expect(await prepareStore(fresh, options)).toEqual({});
    const { data } = copy();
    rmSync(join(data, 'store', 'data.mdb'));
    rmSync(join(data, STORE_ID_FILE));
    const error = await refusal(data);
    expect([error.code, error.message.replace(/\. Restore .*/s, '')]).toEqual([
      'store.missing',
      `the store file ${join(data, 'store', 'data.mdb')} is missing, but this data directory had a store (${join(data, 'store', 'lock.mdb')})`,
    ]);
  });

  it('refuses --rebuild-store over a sound or a new store, and moves a damaged one aside', async () => {
    const { data, file } = copy();
    const sound = await refusal(data, { ...options, rebuild: true });
    expect([sound.code, sound.message]).toEqual([
      'store.rebuild-not-needed',
      `--rebuild-store was given but the store at ${join(data, 'store')} is sound; start without it ` +
        '(it only replaces a missing or damaged store, so that a flag left in place cannot throw a sound store away)',
    ]);
    const fresh = join(base, `copy-${++copies}`);
    mkdirSync(fresh);
    expect((await refusal(fresh, { ...options, rebuild: true })).message).toContain(`the store at ${join(fresh, 'store')} is new;`);

    damage(file, (bytes) => bytes.fill(0, 0, 64));
    const prepared = await prepareStore(data, { ...options, rebuild: true, now: () => new Date('2026-12-07T03:00:00.000Z') });
    const movedTo = `${join(data, 'store')}.damaged-2026-12-07T03-00-00-000Z`;
    expect(prepared).toEqual({
      rebuilt: {
        at: '2026-12-07T03:00:00.000Z',
        reason: `the store file ${file} is damaged (meta page 0: no LMDB magic number)`,
        movedTo,
        message:
          'the store was rebuilt from git: refresh tokens, access token records, revocations, used client assertion ids, token signing keys ' +
          'and portal sessions were in the old store: every refresh token issued before is invalid and clients must sign in again',
      },
    });
    expect(readFileSync(join(movedTo, 'data.mdb')).subarray(0, 64)).toEqual(Buffer.alloc(64));
  });
});
