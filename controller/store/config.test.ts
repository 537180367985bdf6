import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configReader, configWriter, type ConfigReader, type ConfigWriter } from './config.ts';
import { StoreError } from './errors.ts';
import { openHandles, type StoreHandles } from './handles.ts';
import { RECORD_VERSION, type ApiRecord, type ApplicationRecord, type PlanRecord, type UserRecord } from './records.ts';

let dir: string;
let store: StoreHandles;
let reader: ConfigReader;
let writer: ConfigWriter;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mergekey-config-'));
  store = openHandles(dir);
  reader = configReader(store);
  writer = configWriter(store);
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const base = (name: string, path: string) => ({ v: RECORD_VERSION as typeof RECORD_VERSION, name, path, commit: 'c1' });

function app(name: string, clientId: string, state: 'active' | 'inactive' = 'active'): ApplicationRecord {
  return {
    ...base(name, `apps/${name}.yaml`),
    spec: { description: 'd', owners: ['alice'], clientId, state, scopes: ['open'], grantTypes: ['client_credentials'], tokenEndpointAuthMethod: 'client_secret_basic' },
    secrets: [{ hash: 'h' }],
  };
}
function api(name: string, scopes: string[]): ApiRecord {
  return { ...base(name, `apis/${name}.yaml`), spec: { description: 'd', audience: `https://${name}.example`, scopes: scopes.map((s) => ({ name: s, description: s })) } };
}
function plan(name: string): PlanRecord {
  return { ...base(name, `plans/${name}.yaml`), spec: { description: 'd', accessTokenTtl: '15m', refreshTokenTtl: '30d', tokenRequestsPerMinute: 60 } };
}
function user(name: string): UserRecord {
  return { ...base(name, `users/${name}.yaml`), spec: { roles: ['developer'] }, passwordHash: 'scrypt$…' };
}

function storeError(action: () => unknown): StoreError {
  try {
    action();
  } catch (err) {
    expect(err).toBeInstanceOf(StoreError);
    return err as StoreError;
  }
  throw new Error('expected a StoreError');
}

describe('ConfigWriter', () => {
  it('refuses to write outside a transaction, where each write would commit on its own', () => {
    expect(storeError(() => writer.putApplication(app('billing', 'mk-billing-1'))).code).toBe('store.no-transaction');
    expect(reader.application('billing')).toBeUndefined();
  });

  it('writes everything a commit carries in one transaction, readable by the OAuth side', () => {
    store.root.transactionSync(() => {
      writer.putSettings({ ...base('repo', 'mergekey.yaml'), spec: { issuer: 'https://id.example', defaultPlan: 'standard' } });
      writer.putPlan(plan('standard'));
      writer.putUser(user('alice'));
      writer.putApi(api('payments', ['payments:read', 'payments:write']));
      writer.putApi(api('ledger', ['ledger:read']));
      writer.putApplication(app('billing', 'mk-Billing-1'));
    });
    expect(reader.settings()?.spec.issuer).toBe('https://id.example');
    expect(reader.plan('standard')?.spec.accessTokenTtl).toBe('15m');
    expect(reader.plans().map((p) => p.name)).toEqual(['standard']);
    expect(reader.user('alice')?.passwordHash).toBe('scrypt$…');
    expect(reader.apis().map((a) => a.name)).toEqual(['ledger', 'payments']);
    expect(reader.scopeOwner('payments:write')?.name).toBe('payments');
    expect(reader.scopeOwner('open')).toBeUndefined();
    expect(reader.applications().map((a) => a.name)).toEqual(['billing']);
    expect(reader.applicationByClientId('mk-Billing-1')?.name).toBe('billing');
  });

  it('matches client ids exactly on lookup, as RFC 6749 compares them', () => {
    store.root.transactionSync(() => writer.putApplication(app('billing', 'mk-Billing-1')));
    expect(reader.applicationByClientId('mk-billing-1')).toBeUndefined();
    expect(reader.applicationByClientId('mk-unknown')).toBeUndefined();
  });

  it('refuses a client id another application holds, even in another case, and keeps the commit out', () => {
    store.root.transactionSync(() => writer.putApplication(app('billing', 'mk-Billing-1')));
    const err = storeError(() =>
      store.root.transactionSync(() => {
        writer.putPlan(plan('gold'));
        writer.putApplication(app('shop', 'MK-BILLING-1'));
      }),
    );
    expect(err.code).toBe('store.client-id-taken');
    expect(err.message).toBe('application shop (apps/shop.yaml) cannot use client id MK-BILLING-1: application billing holds it');
    expect(reader.plan('gold')).toBeUndefined();
    expect(reader.application('shop')).toBeUndefined();
  });

  it('deactivates a removed application, keeps its record, and never hands its client id to another', () => {
    store.root.transactionSync(() => writer.putApplication(app('billing', 'mk-billing-1')));
    store.root.transactionSync(() => expect(writer.deactivateApplication('billing', 'c2')).toBe(true));
    const record = reader.applicationByClientId('mk-billing-1');
    expect(record?.spec.state).toBe('inactive');
    expect(record?.commit).toBe('c2');
    expect(storeError(() => store.root.transactionSync(() => writer.putApplication(app('other', 'mk-billing-1')))).code).toBe('store.client-id-taken');
    store.root.transactionSync(() => expect(writer.deactivateApplication('nobody', 'c2')).toBe(false));
  });

  it('revokes every token of an application in the transaction that deactivates it', () => {
    const revokedBefore = (name: string) => store.revocations.get(`app/${name}`);
    const second = Math.floor(Date.now() / 1000);
    store.root.transactionSync(() => {
      writer.putApplication(app('billing', 'mk-billing-1'));
      writer.putApplication(app('shop', 'mk-shop-0001'));
      writer.putApplication(app('legacy', 'mk-legacy-01', 'inactive'));
    });
    expect(revokedBefore('billing')).toBeUndefined();
    // Created inactive: it never held a token.
    expect(revokedBefore('legacy')).toBeUndefined();
    store.root.transactionSync(() => writer.putApplication(app('billing', 'mk-billing-1', 'inactive')));
    store.root.transactionSync(() => writer.deactivateApplication('shop', 'c2'));
    expect(revokedBefore('billing')).toBeGreaterThanOrEqual(second);
    expect(revokedBefore('shop')).toBeGreaterThanOrEqual(second);
  });

  it('deletes removed APIs, plans and users, so their scopes, lifetimes and sign-in stop being served', () => {
    store.root.transactionSync(() => {
      writer.putApi(api('payments', ['payments:read']));
      writer.putPlan(plan('gold'));
      writer.putUser(user('bob'));
    });
    store.root.transactionSync(() => {
      expect(writer.delete('Api', 'payments')).toBe(true);
      expect(writer.delete('Plan', 'gold')).toBe(true);
      expect(writer.delete('User', 'bob')).toBe(true);
      expect(writer.delete('User', 'bob')).toBe(false);
    });
    expect(reader.scopeOwner('payments:read')).toBeUndefined();
    expect(reader.plan('gold')).toBeUndefined();
    expect(reader.user('bob')).toBeUndefined();
  });

  describe('ends a user\'s tokens and portal sessions in the transaction that removes the user or changes its password', () => {
    const sealed = (name: string, seal: string | undefined): UserRecord => {
      const { passwordHash: _hash, ...rest } = user(name);
      return seal === undefined ? rest : { ...rest, passwordHash: `scrypt$${seal}`, passwordSealed: seal };
    };
    const cases: { change: string; before?: UserRecord; write: (w: ConfigWriter) => unknown; marked: boolean }[] = [
      { change: 'removed', before: sealed('bob', 's1'), write: (w) => w.delete('User', 'bob'), marked: true },
      { change: 'removed without a password', before: sealed('bob', undefined), write: (w) => w.delete('User', 'bob'), marked: true },
      { change: 'a password sealed anew', before: sealed('bob', 's1'), write: (w) => w.putUser(sealed('bob', 's2')), marked: true },
      { change: 'its password taken away', before: sealed('bob', 's1'), write: (w) => w.putUser(sealed('bob', undefined)), marked: true },
      { change: 'a password given', before: sealed('bob', undefined), write: (w) => w.putUser(sealed('bob', 's1')), marked: true },
      // A record from before passwordSealed: compared by its hash, so the first write ends its sessions.
      { change: 'rewritten from an older record', before: user('bob'), write: (w) => w.putUser(sealed('bob', 's1')), marked: true },
      { change: 'another field edited', before: sealed('bob', 's1'), write: (w) => w.putUser({ ...sealed('bob', 's1'), spec: { roles: ['publisher'] } }), marked: false },
      // Its name may have been someone's, removed before marks existed.
      { change: 'created', write: (w) => w.putUser(sealed('bob', 's1')), marked: true },
      { change: 'removed when there was none', write: (w) => w.delete('User', 'bob'), marked: false },
    ];
    it.each(cases)('$change: marked $marked', ({ before, write, marked }) => {
      let now = 1_700_000_000_500;
      const clocked = configWriter(store, () => now);
      if (before !== undefined) store.root.transactionSync(() => clocked.putUser(before));
      const earlier = store.revocations.get('user/bob');
      now += 60_000;
      store.root.transactionSync(() => write(clocked));
      expect(store.revocations.get('user/bob')).toBe(marked ? 1_700_000_060 : earlier);
    });

    it('keeps the latest mark, never an earlier one, and marks no other user', () => {
      let now = 1_700_000_000_000;
      const clocked = configWriter(store, () => now);
      store.root.transactionSync(() => clocked.putUser(sealed('bob', 's1')));
      store.root.transactionSync(() => clocked.delete('User', 'bob'));
      now += 60_000;
      store.root.transactionSync(() => clocked.putUser(sealed('bob', 's1')));
      store.root.transactionSync(() => clocked.putUser(sealed('bob', 's2')));
      expect(store.revocations.get('user/bob')).toBe(1_700_000_060);
      expect(store.revocations.get('user/bo')).toBeUndefined();
    });
  });

  describe('ends an API\'s tokens in the transaction that removes it, changes its audience or drops a scope', () => {
    const aud = (audience: string) => `aud/${createHash('sha256').update(audience, 'utf8').digest('base64url')}`;
    const cases: { change: string; before?: ApiRecord; write: (w: ConfigWriter) => unknown; audience: boolean; scopes: string[] }[] = [
      { change: 'removed', before: api('orders', ['orders:read', 'orders:write']), write: (w) => w.delete('Api', 'orders'), audience: true, scopes: ['orders:read', 'orders:write'] },
      { change: 'given another audience', before: api('orders', ['orders:read']), write: (w) => w.putApi({ ...api('orders', ['orders:read']), spec: { ...api('orders', ['orders:read']).spec, audience: 'https://v2.example' } }), audience: true, scopes: [] },
      { change: 'a scope dropped', before: api('orders', ['orders:read', 'orders:write']), write: (w) => w.putApi(api('orders', ['orders:read'])), audience: false, scopes: ['orders:write'] },
      { change: 'a scope added', before: api('orders', ['orders:read']), write: (w) => w.putApi(api('orders', ['orders:read', 'orders:write'])), audience: false, scopes: [] },
      { change: 'its description edited', before: api('orders', ['orders:read']), write: (w) => w.putApi({ ...api('orders', ['orders:read']), spec: { ...api('orders', ['orders:read']).spec, description: 'new' } }), audience: false, scopes: [] },
      // A new API has no tokens, and a mark would make the token endpoint wait out its second.
      { change: 'created', write: (w) => w.putApi(api('orders', ['orders:read'])), audience: false, scopes: [] },
      { change: 'removed when there was none', write: (w) => w.delete('Api', 'orders'), audience: false, scopes: [] },
    ];
    it.each(cases)('$change', ({ before, write, audience, scopes }) => {
      let now = 1_700_000_000_500;
      const clocked = configWriter(store, () => now);
      if (before !== undefined) store.root.transactionSync(() => clocked.putApi(before));
      const earlier = (key: string) => store.revocations.get(key);
      const keys = [aud('https://orders.example'), 'scope/orders:read', 'scope/orders:write'];
      const marksBefore = keys.map(earlier);
      now += 60_000;
      store.root.transactionSync(() => write(clocked));
      expect(keys.map((key) => store.revocations.get(key))).toEqual([
        audience ? 1_700_000_060 : marksBefore[0],
        scopes.includes('orders:read') ? 1_700_000_060 : marksBefore[1],
        scopes.includes('orders:write') ? 1_700_000_060 : marksBefore[2],
      ]);
    });
  });

  it('follows a scope that a commit moves from one API to another', () => {
    store.root.transactionSync(() => writer.putApi(api('payments', ['refunds', 'payments:read'])));
    store.root.transactionSync(() => {
      writer.putApi(api('payments', ['payments:read']));
      writer.putApi(api('refunds', ['refunds']));
    });
    expect(reader.scopeOwner('refunds')?.name).toBe('refunds');
  });
});
