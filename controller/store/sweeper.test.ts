// The sweeper over a real LMDB store, with the clock injected: expired token state is deleted in
// bounded batches however much of it there is, nothing alive is touched, and a sweeper that stops
// in the middle (a restart) leaves nothing behind for the next one.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openHandles, type StoreHandles } from './handles.ts';
import { Sweeper } from './sweeper.ts';
import { tokenState, writeCutOffs, type AccessTokenRecord, type FamilyRecord, type RefreshTokenRecord, type TokenState } from './token-state.ts';

let dir: string;
let store: StoreHandles;
let state: TokenState;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mergekey-sweeper-'));
  store = openHandles(dir);
  state = tokenState(store);
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const access = (jti: string, exp: number, family?: string): AccessTokenRecord => ({
  v: 1, jti, clientId: 'billing-client', sub: 'client:billing-client', scope: 'open', aud: ['https://as.test'], iat: 1000, exp,
  ...(family === undefined ? {} : { family }),
});
const refresh = (id: string, family: string, exp: number): RefreshTokenRecord => ({
  v: 1, id, clientId: 'mobile-client', sub: 'user:alice', scope: 'open', iat: 1000, exp, family,
});
const family = (id: string, exp: number): FamilyRecord => ({ v: 1, id, sub: 'user:alice', iat: 1000, exp });

/** `expired` access tokens that expire at 1500, interleaved with `live` ones that expire at 9000. */
async function issue(expired: number, live: number): Promise<void> {
  const every = live === 0 ? Infinity : Math.floor((expired + live) / live);
  let alive = 0;
  for (let i = 0; i < expired + live; i++) {
    const lives = alive < live && i % every === 0;
    if (lives) alive++;
    state.recordAccessToken('billing', access(`t${String(i).padStart(6, '0')}`, lives ? 9000 : 1500));
  }
  await state.flushAccessTokens();
}

const count = (db: keyof Pick<StoreHandles, 'tokens' | 'refreshTokens' | 'jtis' | 'revocations' | 'expiries'>) => store[db].getKeysCount();

describe('sweeping expired token state', () => {
  it('deletes 20,000 expired access tokens, ten batches and more, and no live one', async () => {
    await issue(20_000, 500);
    expect(count('tokens')).toBe(20_500);
    const swept: number[] = [];
    const sweeper = new Sweeper(store, { batch: 1000, now: () => 1_500_000, onSwept: (_db, n) => swept.push(n) });

    expect(await sweeper.sweep(1499)).toBe(0);
    expect(await sweeper.sweep(1500)).toBe(20_000);
    expect(swept.length).toBeGreaterThanOrEqual(20);
    expect(Math.max(...swept)).toBeLessThanOrEqual(1000);
    expect(count('tokens')).toBe(500);
    for (const { value } of store.tokens.getRange()) expect((value as AccessTokenRecord).exp).toBe(9000);
    // Only the live tokens' expiry entries are left (and the sweeper's marker).
    expect([...store.expiries.getKeys({ start: [1] })]).toHaveLength(500);
    expect([sweeper.oldestExpiredAge(), sweeper.backlog()]).toEqual([0, 0]);
  });

  it('resumes after a restart in the middle of a sweep, and leaves nothing behind', async () => {
    await issue(20_000, 0);
    const first = new Sweeper(store, { batch: 1000, now: () => 2_000_000 });
    let deleted = 0;
    // Stopped after its first batch, as by a restart.
    const stopping = new Sweeper(store, {
      batch: 1000,
      onSwept: (_db, n) => {
        deleted += n;
        void stopping.stop();
      },
    });
    await stopping.sweep(2000);
    expect(deleted).toBe(1000);
    expect(first.oldestExpiredAge()).toBe(2_000_000 / 1000 - 1500);
    expect(first.backlog()).toBe(19_000);

    await store.close();
    store = openHandles(dir);
    state = tokenState(store);
    expect(await new Sweeper(store, { batch: 1000 }).sweep(2000)).toBe(19_000);
    expect(count('tokens')).toBe(0);
    expect([...store.expiries.getKeys({ start: [1] })]).toEqual([]);
  });

  it('keeps a family its rotations made live longer, and an assertion id used again after it expired', async () => {
    await state.startFamily('mobile', family('f1', 1500), refresh('r0', 'f1', 1500), access('a0', 1200, 'f1'));
    expect(await state.rotateRefreshToken('mobile', 'r0', 1100, refresh('r1', 'f1', 3000), access('a1', 1300, 'f1'))).toEqual({ outcome: 'rotated' });
    await state.useAssertionId('billing', 'j1', 1200, 1000);
    expect(await state.useAssertionId('billing', 'j1', 3000, 1250)).toBe(true);
    await state.revokeAccessToken('billing', 'gone', 1400);
    store.root.transactionSync(() => writeCutOffs(store, { applications: ['billing'] }, 900_000));

    // a0, a1, the used r0, the tombstone; not the family (now until 3000), r1, j1 (now until 3000)
    expect(await new Sweeper(store).sweep(2000)).toBe(4);
    expect((await state.family('mobile', 'f1'))?.exp).toBe(3000);
    expect((await state.refreshToken('mobile', 'r1'))?.exp).toBe(3000);
    expect(await state.refreshToken('mobile', 'r0')).toBeUndefined();
    expect(await state.useAssertionId('billing', 'j1', 3000, 2500)).toBe(false);
    expect(await state.accessTokenRevoked('billing', 'gone')).toBe(false);
    expect(state.cutOffs.application('billing')).toEqual({ generation: 1, at: 900_000 });

    expect(await new Sweeper(store).sweep(3000)).toBe(3);
    expect([count('tokens'), count('refreshTokens'), count('jtis')]).toEqual([0, 0, 0]);
  });

  it('indexes records a store kept from before it had expiry entries, once, and sweeps them', async () => {
    await store.root.transaction(() => {
      for (let i = 0; i < 2500; i++) store.tokens.put(`billing/old${i}`, access(`old${i}`, 1500));
      store.tokens.put('billing/live', access('live', 9000));
      store.jtis.put('billing/j-old', 1500);
      store.revocations.put('at/billing/x', 1500);
      store.revocations.put('app/billing', 1000);
    });
    expect(await new Sweeper(store, { batch: 1000 }).sweep(2000)).toBe(2502);
    expect([...store.tokens.getKeys()]).toEqual(['billing/live']);
    expect([...store.revocations.getKeys()]).toEqual(['app/billing']);
  });

  it('runs in the background with its own clock until stopped', async () => {
    await issue(3000, 10);
    let clock = 1_000_000;
    const sweeper = new Sweeper(store, { batch: 500, idleMs: 1, now: () => clock });
    sweeper.start();
    clock = 1_600_000;
    await waitUntil(() => count('tokens') === 10);
    await sweeper.stop();
    expect(count('tokens')).toBe(10);
  });
});

async function waitUntil(check: () => boolean): Promise<void> {
  for (let i = 0; !check(); i++) {
    if (i > 5000) throw new Error('the sweeper did not finish');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
