import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openHandles, type StoreHandles } from './handles.ts';
import { keyringStore, type KeyringStore } from './keyring.ts';

let dir: string;
let store: StoreHandles;
let keyring: KeyringStore;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mergekey-keyring-'));
  store = openHandles(dir);
  keyring = keyringStore(store);
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('keyring store', () => {
  it('replaces the keyring only from the version it was read at', async () => {
    const ring = { v: 1 as const, version: 1, keys: [] };
    expect(await keyring.keyring()).toBeUndefined();
    expect(await keyring.replaceKeyring(undefined, ring)).toBe(true);
    expect(await keyring.replaceKeyring(undefined, { ...ring, version: 2 })).toBe(false);
    expect(await keyring.replaceKeyring(1, { ...ring, version: 2 })).toBe(true);
    expect((await keyring.keyring())?.version).toBe(2);
  });

  it('keeps the keyring across a reopen', async () => {
    await keyring.replaceKeyring(undefined, { v: 1, version: 1, keys: [] });
    await store.close();
    store = openHandles(dir);
    expect((await keyringStore(store).keyring())?.version).toBe(1);
  });
});
