// Every write of the token state fails its own call, with StoreError('store.unwritable'), when
// the store cannot commit, and the store is writable again after the next commit. The failure
// is injected where lmdb-js reports it (a rejected commit whose `commitError` holds the errno,
// which lmdb also rejects on its own), over a real store; disk-full.test.ts in server/ fills a
// real file system under `mergekey serve`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreError } from './errors.ts';
import { forgetStore, storeHealth } from './health.ts';
import { openHandles, type StoreHandles } from './handles.ts';
import { keyringStore } from './keyring.ts';
import { Sweeper } from './sweeper.ts';
import { tokenState, type AccessTokenRecord, type RefreshTokenRecord, type TokenState } from './token-state.ts';

let dir: string;
let store: StoreHandles;
let state: TokenState;
let full: boolean;
let reported: unknown[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mergekey-health-'));
  store = openHandles(dir);
  full = false;
  reported = [];
  const transaction = store.root.transaction.bind(store.root);
  // As lmdb-js fails a commit on a full disk: "Commit failed", the errno on `commitError`.
  store.root.transaction = (<T>(callback: () => T) => {
    if (!full) return transaction(callback);
    const errno = Object.assign(new Error('No space left on device: Attempting to write page at position 40960'), { code: 28 });
    const commitError = Promise.reject(errno);
    return Promise.reject(Object.assign(new Error('Commit failed (see commitError for details)'), { commitError }));
  }) as typeof store.root.transaction;
  state = tokenState(store, { onError: (err) => reported.push(err) });
});
afterEach(async () => {
  forgetStore(store);
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const access = (jti: string): AccessTokenRecord => ({
  v: 1, jti, clientId: 'mobile-client', sub: 'user:alice', scope: 'open', aud: ['https://as.test'], iat: 1000, exp: 2000,
});
const refresh = (id: string): RefreshTokenRecord => ({ v: 1, id, clientId: 'mobile-client', sub: 'user:alice', scope: 'open', iat: 1000, exp: 5000, family: 'f1' });

const UNWRITABLE = { name: 'StoreError', code: 'store.unwritable', message: 'the store cannot write: a commit failed (the disk may be full)' };

describe('a store that cannot write', () => {
  it('fails every token state write with store.unwritable, and writes again once a commit succeeds', async () => {
    await state.startFamily('mobile', { v: 1, id: 'f1', sub: 'user:alice', iat: 1000, exp: 5000 }, refresh('r0'), access('a0'));
    full = true;
    const writes: [string, () => Promise<unknown>][] = [
      ['refresh rotation', () => state.rotateRefreshToken('mobile', 'r0', 1100, refresh('r1'), access('a1'))],
      ['family start', () => state.startFamily('mobile', { v: 1, id: 'f2', sub: 'user:alice', iat: 1000, exp: 5000 }, refresh('r2'), access('a2'))],
      ['family revocation', () => state.revokeFamily('mobile', 'f1', 1100)],
      ['access token revocation', () => state.revokeAccessToken('mobile', 'a0', 2000)],
      ['assertion id', () => state.useAssertionId('mobile', 'j1', 1300, 1000)],
      ['signing keys', () => keyringStore(store).replaceKeyring(undefined, { v: 1, version: 1, keys: [] })],
      ['sweeping', () => new Sweeper(store).sweep(6000)],
    ];
    for (const [what, write] of writes) {
      const error = await write().then(() => undefined, (e: unknown) => e);
      expect(error, what).toBeInstanceOf(StoreError);
      expect({ name: (error as StoreError).name, code: (error as StoreError).code, message: (error as StoreError).message }, what).toEqual(UNWRITABLE);
    }
    // Access token records are written in the background: the failure is reported, not thrown.
    state.recordAccessToken('mobile', access('a3'));
    await state.flushAccessTokens();
    expect(reported).toMatchObject([UNWRITABLE]);
    // Readiness names the errno once lmdb has given it.
    expect(state.unwritable()).toBe('the store cannot write: ENOSPC (no space left on device)');
    // Nothing of any failed write is in the store.
    expect([(await state.refreshToken('mobile', 'r0'))?.usedAt, (await state.family('mobile', 'f1'))?.revokedAt, await state.accessToken('mobile', 'a3')]).toEqual([undefined, undefined, undefined]);

    full = false;
    expect(await state.rotateRefreshToken('mobile', 'r0', 1100, refresh('r1'), access('a1'))).toEqual({ outcome: 'rotated' });
    expect(state.unwritable()).toBeUndefined();
  });

  it('becomes writable again by itself, with no request, once space is freed', async () => {
    full = true;
    await expect(state.useAssertionId('mobile', 'j1', 1300, 1000)).rejects.toMatchObject({ code: 'store.unwritable' });
    expect(storeHealth(store).problem()).toBe('the store cannot write: ENOSPC (no space left on device)');
    full = false;
    // The probe tries every second; this waits for its result without asserting on time.
    for (let i = 0; storeHealth(store).problem() !== undefined; i++) {
      if (i > 500) throw new Error('the store did not recover');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(state.unwritable()).toBeUndefined();
  });

  it('passes errors that are not a failed commit through unchanged', async () => {
    const bug = new TypeError('not a write failure');
    await expect(storeHealth(store).guard(Promise.reject(bug))).rejects.toBe(bug);
    expect(state.unwritable()).toBeUndefined();
  });
});
