// Remembered consents as the portal judges them, over a real LMDB store: what covers a request,
// and that a consent does not outlive its user (a User removed and restored by a revert, or a
// new person of the same name, inherits none), as sessions and tokens do not.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configWriter } from '../store/config.ts';
import { handlesOf } from '../store/handles.ts';
import { openStore, type Store } from '../store/open.ts';
import type { UserRecord } from '../store/records.ts';
import { PortalConsents } from './consents.ts';

let dir: string;
let store: Store;
let consents: PortalConsents;
const now = Date.parse('2026-01-05T09:00:00Z');

const user = (name: string, passwordSealed: string): UserRecord => ({
  v: 1, name, path: `users/${name}.yaml`, commit: 'c'.repeat(40), spec: { roles: ['developer'] }, passwordHash: 'scrypt$x', passwordSealed,
});

/** A transaction of the reconciler's apply, the only writer of cut-offs. */
function apply(change: (writer: ReturnType<typeof configWriter>) => void): void {
  const handles = handlesOf(store);
  handles.root.transactionSync(() => change(configWriter(handles, () => now)));
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mergekey-portal-consents-'));
  store = openStore(dir);
  consents = new PortalConsents({ consents: store.consents, tokens: store.tokens, now: () => now });
});

afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('remembered consents', () => {
  it('cover a request for the same scopes or fewer, not one for a scope outside them', async () => {
    apply((writer) => writer.putUser(user('erin', 'sealed-1')));
    await consents.remember('erin', 'webshop', ['openid', 'profile']);
    expect(await consents.covers('erin', 'webshop', ['openid', 'profile'])).toBe(true);
    expect(await consents.covers('erin', 'webshop', ['profile'])).toBe(true);
    expect(await consents.covers('erin', 'webshop', [])).toBe(true);
    expect(await consents.covers('erin', 'webshop', ['openid', 'email'])).toBe(false);
    expect(await consents.covers('erin', 'other', ['openid'])).toBe(false);
    expect(await consents.covers('frank', 'webshop', ['openid'])).toBe(false);
  });

  it('end when their user is removed and restored, or given a new password, after they were given', async () => {
    apply((writer) => writer.putUser(user('gina', 'sealed-1')));
    await consents.remember('gina', 'webshop', ['openid']);
    apply((writer) => writer.putUser({ ...user('gina', 'sealed-1'), commit: 'd'.repeat(40) }));
    // Another edit of the manifest (same password) changes nothing.
    expect(await consents.covers('gina', 'webshop', ['openid'])).toBe(true);
    apply((writer) => {
      writer.delete('User', 'gina');
      writer.putUser(user('gina', 'sealed-2'));
    });
    expect(await consents.get('gina', 'webshop')).toBeUndefined();
    expect(await consents.list('gina')).toEqual([]);
    expect(await consents.covers('gina', 'webshop', ['openid'])).toBe(false);
    // Agreed to again, it holds.
    await consents.remember('gina', 'webshop', ['openid']);
    expect(await consents.covers('gina', 'webshop', ['openid'])).toBe(true);
  });
});
