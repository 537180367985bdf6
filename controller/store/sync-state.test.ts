import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ActualEntry, ObjectStatus, RunStatus } from './sync-records.ts';
import { configReader } from './config.ts';
import { openHandles, type StoreHandles } from './handles.ts';
import type { PlanRecord } from './records.ts';
import { syncState, type SyncState } from './sync-state.ts';

let dir: string;
let store: StoreHandles;
let state: SyncState;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mergekey-sync-state-'));
  store = openHandles(dir);
  state = syncState(store);
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const plan: PlanRecord = { v: 1, name: 'standard', path: 'plans/standard.yaml', commit: 'c1', spec: { description: 'd', accessTokenTtl: '15m', refreshTokenTtl: '30d', tokenRequestsPerMinute: 60 } };
const entry: ActualEntry = { kind: 'Plan', name: 'standard', path: 'plans/standard.yaml', fingerprint: 'f1', commit: 'c1' };
const status = (path: string) => ({ path, kind: 'Plan', name: 'standard', conditions: [], problems: [] }) as unknown as ObjectStatus;

describe('SyncState', () => {
  it('starts empty', () => {
    expect(state.load()).toEqual({ inventory: new Map(), objects: new Map() });
    expect(state.appliedCommit()).toBeUndefined();
    expect(state.storeRebuild()).toBeUndefined();
  });

  it('applies configuration and bookkeeping in one transaction, and reads them back after a reopen', async () => {
    const applied = { commit: 'c1', at: '2026-12-07T00:00:00.000Z' };
    const longPath = `plans/${'deep/'.repeat(200)}standard.yaml`;
    state.applyCommit(({ config, sync }) => {
      config.putPlan(plan);
      sync.putInventory('Plan/standard', entry);
      sync.putObjectStatus(status('plans/standard.yaml'));
      // Longer than an LMDB key: kept under its hash, still found by its path.
      sync.putObjectStatus(status(longPath));
      sync.setApplied(applied);
    });
    await store.close();
    store = openHandles(dir);
    state = syncState(store);
    expect(configReader(store).plan('standard')).toEqual(plan);
    const loaded = state.load();
    expect(loaded.applied).toEqual(applied);
    expect(loaded.inventory).toEqual(new Map([['Plan/standard', entry]]));
    expect([...loaded.objects.keys()].sort()).toEqual(['plans/standard.yaml', longPath].sort());
    expect(state.appliedCommit()).toEqual(applied);

    state.applyCommit(({ sync }) => {
      sync.removeInventory('Plan/standard');
      sync.removeObjectStatus(longPath);
    });
    expect(state.load().inventory.size).toBe(0);
    expect([...state.load().objects.keys()]).toEqual(['plans/standard.yaml']);
  });

  it('writes nothing of a commit whose application throws', () => {
    expect(() => state.applyCommit(({ config, sync }) => {
      config.putPlan(plan);
      sync.putInventory('Plan/standard', entry);
      sync.setApplied({ commit: 'c1', at: '2026-12-07T00:00:00.000Z' });
      throw new Error('a client id the plan missed');
    })).toThrow('a client id the plan missed');
    expect(configReader(store).plan('standard')).toBeUndefined();
    expect(state.load()).toEqual({ inventory: new Map(), objects: new Map() });
  });

  it('records the last attempt outside any commit', () => {
    const run = { startedAt: '2026-12-07T00:00:00.000Z', result: 'unchanged', trigger: 'poll' } as unknown as RunStatus;
    state.writeRun(run);
    expect(state.load().run).toEqual(run);
  });
});
