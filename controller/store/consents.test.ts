import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSENT_VERSION, type Consents } from './consents.ts';
import { handlesOf } from './handles.ts';
import { openStore, type Store } from './open.ts';

let dir: string;
let store: Store;
let consents: Consents;
const at = Date.parse('2026-01-05T09:00:00Z');

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mergekey-store-consents-'));
  store = openStore(dir);
  consents = store.consents;
});

afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('remembered consents at rest', () => {
  it('keep exactly the set agreed to last, sorted and without duplicates, not the union of every grant', async () => {
    await consents.grant('alice', 'billing', ['profile', 'openid', 'openid'], at, 3);
    expect(await consents.get('alice', 'billing')).toEqual({ v: CONSENT_VERSION, user: 'alice', app: 'billing', scopes: ['openid', 'profile'], grantedAt: at, userGeneration: 3 });
    await consents.grant('alice', 'billing', ['openid', 'email'], at + 1000, 4);
    expect(await consents.get('alice', 'billing')).toEqual({ v: CONSENT_VERSION, user: 'alice', app: 'billing', scopes: ['email', 'openid'], grantedAt: at + 1000, userGeneration: 4 });
    expect(handlesOf(store).consents.get('alice/billing')).toMatchObject({ scopes: ['email', 'openid'] });
  });

  it('list one user’s consents only, by application, not those of a user whose name starts with theirs', async () => {
    await consents.grant('bob', 'zeta', ['openid'], at, 0);
    await consents.grant('bob', 'alpha', ['openid'], at, 0);
    await consents.grant('bobby', 'alpha', ['openid'], at, 0);
    await consents.grant('bob-2', 'alpha', ['openid'], at, 0);
    expect((await consents.list('bob')).map((record) => `${record.user}/${record.app}`)).toEqual(['bob/alpha', 'bob/zeta']);
    expect((await consents.list('bobby')).map((record) => record.app)).toEqual(['alpha']);
    expect(await consents.list('nobody')).toEqual([]);
  });

  it('withdraw one (true once, then false), leaving the others', async () => {
    await consents.grant('carol', 'one', ['openid'], at, 0);
    await consents.grant('carol', 'two', ['openid'], at, 0);
    expect(await consents.withdraw('carol', 'one')).toBe(true);
    expect(await consents.withdraw('carol', 'one')).toBe(false);
    expect(await consents.get('carol', 'one')).toBeUndefined();
    expect((await consents.list('carol')).map((record) => record.app)).toEqual(['two']);
  });

  it('ignore a record of another version (a later release’s), as if none were kept', async () => {
    await handlesOf(store).consents.put('dave/app', { v: 99, user: 'dave', app: 'app', scopes: ['openid'], grantedAt: at, userGeneration: 0 });
    expect(await consents.get('dave', 'app')).toBeUndefined();
    expect(await consents.list('dave')).toEqual([]);
  });
});
