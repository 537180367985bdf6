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
  dir = mkdtempSync(join(tmpdir(), 'mergekey-token-state-'));
  store = openHandles(dir);
  state = tokenState(store);
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const access = (jti: string, exp = 2000, family?: string): AccessTokenRecord => ({
  v: 1, jti, clientId: 'billing-client', sub: 'client:billing-client', scope: 'open', aud: ['https://as.test'], iat: 1000, exp,
  ...(family === undefined ? {} : { family }),
});
const refresh = (id: string, family: string, exp = 5000): RefreshTokenRecord => ({
  v: 1, id, clientId: 'billing-client', sub: 'user:alice', scope: 'open', iat: 1000, exp, family,
});
const family = (id: string, exp = 5000): FamilyRecord => ({ v: 1, id, sub: 'user:alice', iat: 1000, exp });

describe('token state', () => {
  it('rotates a refresh token exactly once among 20 concurrent attempts', async () => {
    await state.startFamily('billing', family('f1'), refresh('r0', 'f1'), access('a0', 2000, 'f1'));
    const outcomes = await Promise.all(Array.from({ length: 20 }, (_, i) =>
      state.rotateRefreshToken('billing', 'r0', 1500, refresh(`r${i + 1}`, 'f1'), access(`a${i + 1}`, 2500, 'f1'))));
    expect(outcomes.filter((o) => o.outcome === 'rotated')).toHaveLength(1);
    // The first loser sees a used token and revokes the family; the rest find it revoked.
    expect(outcomes.filter((o) => o.outcome === 'reused')).toHaveLength(1);
    expect(outcomes.filter((o) => o.outcome === 'revoked')).toHaveLength(18);
    expect((await state.family('billing', 'f1'))?.revokedAt).toBe(1500);
  });

  it('keeps a rotation and a family revocation across closing and reopening the store', async () => {
    await state.startFamily('billing', family('f1'), refresh('r0', 'f1'), access('a0', 2000, 'f1'));
    expect(await state.rotateRefreshToken('billing', 'r0', 1500, refresh('r1', 'f1'), access('a1', 2500, 'f1'))).toEqual({ outcome: 'rotated' });
    await store.close();
    store = openHandles(dir);
    state = tokenState(store);
    expect(await state.rotateRefreshToken('billing', 'r0', 1600, refresh('r2', 'f1'), access('a2', 2600, 'f1'))).toEqual({ outcome: 'reused' });
    await store.close();
    store = openHandles(dir);
    state = tokenState(store);
    expect((await state.family('billing', 'f1'))?.revokedAt).toBe(1600);
    expect(await state.rotateRefreshToken('billing', 'r1', 1700, refresh('r3', 'f1'), access('a3', 2700, 'f1'))).toEqual({ outcome: 'revoked' });
  });

  it('finds a token only through the application it was issued to', async () => {
    state.recordAccessToken('billing', access('a0'));
    await state.flushAccessTokens();
    expect((await state.accessToken('billing', 'a0'))?.jti).toBe('a0');
    expect(await state.accessToken('billing-eu', 'a0')).toBeUndefined();
    expect(await state.revokeAccessToken('billing', 'a0', 2000)).toBe(true);
    expect(await state.revokeAccessToken('billing', 'a0', 2000)).toBe(false);
    expect(await state.accessToken('billing', 'a0')).toBeUndefined();
    expect(await state.accessTokenRevoked('billing', 'a0')).toBe(true);
    expect(await state.accessTokenRevoked('billing-eu', 'a0')).toBe(false);
  });

  it('gathers access token records and writes them together, at the latest after the delay', async () => {
    const gathering = tokenState(store, { recordDelay: 60_000 });
    gathering.recordAccessToken('billing', access('q1'));
    gathering.recordAccessToken('billing', access('q2'));
    await store.root.committed;
    // Not in the store yet (`state` reads it as another process would).
    expect(await state.accessToken('billing', 'q1')).toBeUndefined();
    await gathering.flushAccessTokens();
    expect([(await state.accessToken('billing', 'q1'))?.jti, (await state.accessToken('billing', 'q2'))?.jti]).toEqual(['q1', 'q2']);
  });

  it('accepts an assertion id once until it expires', async () => {
    const results = await Promise.all(Array.from({ length: 10 }, () => state.useAssertionId('billing', 'j1', 1300, 1000)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await state.useAssertionId('billing', 'j1', 1300, 1299)).toBe(false);
    expect(await state.useAssertionId('billing', 'j1', 1600, 1300)).toBe(true);
  });

  it('pages through one application without seeing its neighbours', async () => {
    for (const app of ['billing', 'billing-eu']) {
      for (let i = 0; i < 3; i++) state.recordAccessToken(app, access(`a${i}`));
    }
    await state.flushAccessTokens();
    await state.startFamily('billing', family('f1'), refresh('r0', 'f1'), access('a9', 2000, 'f1'));
    const first = await state.listTokens('billing', { limit: 3 });
    expect(first.access.map((t) => t.jti)).toEqual(['a0', 'a1', 'a2']);
    expect(first.refresh).toEqual([]);
    expect(first.next).toBe('a:a2');
    const second = await state.listTokens('billing', { limit: 3, after: 'a:a2' });
    expect(second.access.map((t) => t.jti)).toEqual(['a9']);
    expect(second.refresh.map((t) => t.id)).toEqual(['r0']);
    expect(second.next).toBeUndefined();
  });

  it('sweeps expired records of every kind in bounded batches until none is left', async () => {
    for (let i = 0; i < 5; i++) state.recordAccessToken('billing', access(`old${i}`, 1000));
    state.recordAccessToken('billing', access('live', 3000));
    await state.flushAccessTokens();
    await state.useAssertionId('billing', 'j1', 1000, 900);
    await state.startFamily('billing', family('f1', 1000), refresh('r0', 'f1', 1000), access('a9', 1000, 'f1'));
    await state.revokeAccessToken('billing', 'gone', 1000);
    store.root.transactionSync(() => writeCutOffs(store, { applications: ['billing'] }, 900_000));
    const deleted = await new Sweeper(store, { batch: 2 }).sweep(2000);
    // five old access tokens and a9, the refresh token r0 and its family, the assertion id, the
    // tombstone — not the deactivation's cut-off
    expect(deleted).toBe(5 + 1 + 2 + 1 + 1);
    expect(state.cutOffs.application('billing')).toEqual({ generation: 1, at: 900_000 });
    expect((await state.listTokens('billing', { limit: 10 })).access.map((t) => t.jti)).toEqual(['live']);
    expect(await state.useAssertionId('billing', 'j1', 3000, 2000)).toBe(true);
  });

  it('moves the cut-off generation on at every cut-off, keeps the latest time, across a reopen', async () => {
    expect([state.cutOffs.generation(), state.cutOffs.application('billing')]).toEqual([0, undefined]);
    store.root.transactionSync(() => writeCutOffs(store, { applications: ['billing'] }, 1_500_000));
    // A clock set back does not move the time back: tokens without generations are judged by it.
    store.root.transactionSync(() => writeCutOffs(store, { applications: ['billing'], users: ['alice'] }, 1_200_000));
    store.root.transactionSync(() => writeCutOffs(store, { audiences: ['https://orders.test'], scopes: ['orders:read'] }, 1_600_000));
    await store.close();
    store = openHandles(dir);
    state = tokenState(store);
    const { cutOffs } = state;
    expect(cutOffs.generation()).toBe(3);
    expect(cutOffs.application('billing')).toEqual({ generation: 2, at: 1_500_000 });
    expect(cutOffs.user('alice')).toEqual({ generation: 2, at: 1_200_000 });
    expect([cutOffs.audience('https://orders.test'), cutOffs.scope('orders:read')]).toEqual([{ generation: 3, at: 1_600_000 }, { generation: 3, at: 1_600_000 }]);
    expect([cutOffs.application('billing-eu'), cutOffs.user('bob'), cutOffs.audience('https://billing.test'), cutOffs.scope('orders:write')])
      .toEqual([undefined, undefined, undefined, undefined]);
  });

  it('reads the whole-second marks of a store written before generations as generation 0, to the end of their second', async () => {
    await store.revocations.put('app/billing', 1500);
    await store.revocations.put('user/alice', 1600);
    expect(state.cutOffs.application('billing')).toEqual({ generation: 0, at: 1_500_999 });
    expect(state.cutOffs.user('alice')).toEqual({ generation: 0, at: 1_600_999 });
    expect(state.cutOffs.generation()).toBe(0);
  });

  it('finds an access token record this process is still gathering', async () => {
    const gathering = tokenState(store, { recordDelay: 60_000 });
    gathering.recordAccessToken('billing', access('q1'));
    expect((await gathering.accessToken('billing', 'q1'))?.jti).toBe('q1');
    expect(await state.accessToken('billing', 'q1')).toBeUndefined();
  });
});
