// The liveness rule against a real store whose cut-offs the reconciler's ConfigWriter writes: what
// generations guarantee that whole seconds could not. Times are fixed numbers; nothing waits.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configWriter, type ConfigWriter } from '../store/config.ts';
import { handlesOf, type StoreHandles } from '../store/handles.ts';
import { openStore, type Store } from '../store/open.ts';
import type { ApiRecord, ApplicationRecord, UserRecord } from '../store/records.ts';
import type { IssuedUnder, TokenState } from '../store/token-state.ts';
import { currentScopeMap, liveness, livenessSources, sessionUserLive, type LivenessSources, type TokenFacts } from './liveness.ts';
import { SlowConfig } from './slow-config.ts';
import { uuidV7 } from './issue.ts';

// One second of the reconciler's clock, and a token of that very second (seconds).
const T = 1_700_000_000_000;
const SECOND = T / 1000;

let dir: string;
let store: Store;
/** The store's LMDB databases, for what the reconciler would write and a format-1 store held. */
let raw: StoreHandles;
let tokens: TokenState;
let clock: number;
let writer: ConfigWriter;
const sources = () => livenessSources({ tokens, config: store.config });
const write = (change: () => unknown) => raw.root.transactionSync(change);
const base = (name: string, path: string) => ({ v: 1 as const, name, path, commit: 'c'.repeat(40) });

const billing = (state: 'active' | 'inactive'): ApplicationRecord => ({
  ...base('billing', 'apps/billing.yaml'),
  spec: {
    description: 'd', owners: ['alice'], clientId: 'mk-billing', state, scopes: ['open', 'orders:read'],
    grantTypes: ['client_credentials', 'password', 'refresh_token'], tokenEndpointAuthMethod: 'client_secret_basic',
  },
  secrets: [{ hash: 'h' }],
});
const orders = (scopes: string[], audience = 'https://orders.example'): ApiRecord => ({
  ...base('orders', 'apis/orders.yaml'), spec: { description: 'd', audience, scopes: scopes.map((name) => ({ name, description: name })) },
});
const alice = (sealed: string): UserRecord => ({
  ...base('alice', 'users/alice.yaml'), spec: { roles: ['developer'] }, passwordHash: `scrypt$${sealed}`, passwordSealed: sealed,
});

/** A token of billing issued at `iat` (seconds) from state read at `issuedUnder`, or without generations. */
function token(iat: number, issuedUnder: IssuedUnder | undefined, extra: Partial<TokenFacts> = {}): TokenFacts {
  return {
    type: 'access_token', app: raw.applications.get('billing')!, jti: uuidV7(iat * 1000 + 500), sub: 'client:mk-billing',
    scope: 'open', aud: ['https://as.example'], iat, exp: iat + 900, issuedUnder, ...extra,
  };
}
const verdict = async (facts: TokenFacts) => {
  const answer = await liveness(sources(), { ...facts, app: raw.applications.get('billing')! }, facts.iat + 1);
  return answer.live ? 'live' : answer.reason;
};
/** What an issuer records when it reads everything now. */
const now = (): IssuedUnder => {
  const generation = tokens.cutOffs.generation();
  return { application: generation, grants: generation, user: generation };
};

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mergekey-liveness-'));
  store = openStore(dir);
  raw = handlesOf(store);
  tokens = store.tokens;
  clock = T;
  writer = configWriter(raw, () => clock);
  write(() => {
    writer.putApplication(billing('active'));
    writer.putApi(orders(['orders:read']));
    writer.putUser(alice('s1'));
  });
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('an application\'s deactivation', () => {
  it('ends a token issued from the record read before it, though signed after it, and reactivation brings it back never', async () => {
    // A worker authenticates the client (reads the active record) ...
    const read = now();
    // ... the reconciler deactivates the application meanwhile ...
    write(() => writer.putApplication(billing('inactive')));
    expect(await verdict(token(SECOND + 5, read))).toBe('application-inactive');
    // ... and the worker's token, dated seconds after the deactivation, is dead after a reactivation.
    clock += 60_000;
    write(() => writer.putApplication(billing('active')));
    expect(await verdict(token(SECOND + 5, read))).toBe('application-deactivated');
  });

  it('leaves a token issued right after a reactivation live, in the very second (and millisecond) of the deactivation', async () => {
    const before = now();
    write(() => writer.putApplication(billing('inactive')));
    write(() => writer.putApplication(billing('active')));
    // The same second, the same millisecond: a token from the reactivated record lives at once,
    // so the token endpoint has nothing to wait out.
    expect(tokens.cutOffs.application('billing')!.at).toBe(T);
    expect(await verdict(token(SECOND, now()))).toBe('live');
    expect(await verdict(token(SECOND, before))).toBe('application-deactivated');
  });

  it('is written by the reconciler only: reading an inactive application\'s tokens writes nothing', async () => {
    write(() => writer.putApplication(billing('inactive')));
    const generation = tokens.cutOffs.generation();
    for (let i = 0; i < 3; i++) await verdict(token(SECOND, now()));
    expect(tokens.cutOffs.generation()).toBe(generation);
  });
});

describe('a user\'s removal or new password', () => {
  const userToken = (issuedUnder: IssuedUnder | undefined) => token(SECOND, issuedUnder, { sub: 'user:alice', type: 'refresh_token', jti: undefined });

  it('ends the tokens issued from the record read before it, and not those issued right after a restore', async () => {
    const before = now();
    write(() => writer.delete('User', 'alice'));
    expect(await verdict(userToken(before))).toBe('user-removed');
    write(() => writer.putUser(alice('s1')));
    expect(await verdict(userToken(before))).toBe('user-changed');
    expect(await verdict(userToken(now()))).toBe('live');
    const restored = now();
    write(() => writer.putUser(alice('s2')));
    expect(await verdict(userToken(restored))).toBe('user-changed');
  });

  it('ends a portal session opened before it, and not one opened right after, in the same millisecond', () => {
    const opened = { user: 'alice', createdAt: T, userGeneration: tokens.cutOffs.generation() };
    write(() => writer.putUser(alice('s2')));
    expect(sessionUserLive(tokens.cutOffs, opened)).toBe(false);
    expect(sessionUserLive(tokens.cutOffs, { ...opened, userGeneration: tokens.cutOffs.generation() })).toBe(true);
  });
});

describe('an Api\'s withdrawn audience or scope', () => {
  it('ends the tokens carrying it issued from the Apis read before, and not those issued after it is published again', async () => {
    const before = now();
    const forOrders = (issuedUnder: IssuedUnder) => token(SECOND, issuedUnder, { scope: 'orders:read', aud: ['https://orders.example'] });
    write(() => writer.putApi(orders(['orders:write'])));
    expect(await verdict(forOrders(before))).toBe('scope-withdrawn');
    write(() => writer.putApi(orders(['orders:read'])));
    expect(await verdict(forOrders(before))).toBe('scope-withdrawn');
    expect(await verdict(forOrders(now()))).toBe('live');
    const republished = now();
    write(() => writer.putApi(orders(['orders:read'], 'https://orders-v2.example')));
    expect(await verdict(forOrders(republished))).toBe('audience-withdrawn');
    // Only what was withdrawn: a token for the rest of the grant lives on.
    expect(await verdict(token(SECOND, republished))).toBe('live');
  });

  it('makes a grant read the kept scope map again when it predates a withdrawal of a scope it grants, and only then', () => {
    let reads = 0;
    const config = store.config;
    const counting = { ...config, apis: () => (reads++, config.apis()) };
    const slow = new SlowConfig(counting, () => tokens.cutOffs.generation(), () => clock, 1000);
    const ctx = { tokens, slow };
    expect(currentScopeMap(ctx, ['orders:read']).published.get('orders:read')).toBe('https://orders.example');
    expect(reads).toBe(1);
    write(() => writer.putUser(alice('s2')));
    // Something was cut off, but nothing this grant carries: the kept map serves.
    expect(currentScopeMap(ctx, ['open', 'orders:read']).published.has('orders:read')).toBe(true);
    expect(reads).toBe(1);
    write(() => writer.delete('Api', 'orders'));
    const map = currentScopeMap(ctx, ['open', 'orders:read']);
    expect([map.published.has('orders:read'), map.generation, reads]).toEqual([false, tokens.cutOffs.generation(), 2]);
  });
});

describe('a store written before generations', () => {
  it('judges tokens without generations by their issue time, as the whole-second marks did', async () => {
    await raw.revocations.put('app/billing', SECOND);
    expect(await verdict(token(SECOND, undefined))).toBe('application-deactivated');
    expect(await verdict(token(SECOND + 1, undefined))).toBe('live');
    // A token with generations is issued after the upgrade: an older mark never ends it.
    expect(await verdict(token(SECOND, now()))).toBe('live');
    // A deactivation after the upgrade ends every token from before it.
    clock = (SECOND + 10) * 1000;
    write(() => writer.putApplication(billing('inactive')));
    write(() => writer.putApplication(billing('active')));
    expect(await verdict(token(SECOND + 5, undefined))).toBe('application-deactivated');
  });

  it('judges an access token whose record is not there (another worker\'s batch, a crash) by its id\'s millisecond', async () => {
    write(() => writer.putApplication(billing('inactive')));
    write(() => writer.putApplication(billing('active')));
    const at = (ms: number): TokenFacts => ({ ...token(SECOND, undefined), jti: uuidV7(ms) });
    expect(await verdict(at(T))).toBe('application-deactivated');
    expect(await verdict(at(T + 1))).toBe('live');
  });
});

describe('a revocation and a family read with the token', () => {
  it('are taken as read, the store not asked again; without them, the store is asked', async () => {
    const asked: string[] = [];
    const counting: LivenessSources = {
      ...sources(),
      tokens: {
        cutOffs: tokens.cutOffs,
        accessTokenRevoked: async () => { asked.push('revoked'); return false; },
        family: async () => { asked.push('family'); return { v: 1, id: 'f1', sub: 'client:mk-billing', iat: SECOND, exp: SECOND + 900 }; },
      },
    };
    const judge = async (facts: TokenFacts) => {
      const answer = await liveness(counting, facts, facts.iat + 1);
      return answer.live ? 'live' : answer.reason;
    };
    const of = (extra: Partial<TokenFacts>) => token(SECOND, now(), { family: 'f1', ...extra });
    const family = { v: 1 as const, id: 'f1', sub: 'client:mk-billing', iat: SECOND, exp: SECOND + 900 };
    expect(await judge(of({ revoked: true }))).toBe('revoked');
    expect(await judge(of({ revoked: false, familyRead: { record: { ...family, revokedAt: SECOND } } }))).toBe('family-revoked');
    expect(await judge(of({ revoked: false, familyRead: { record: undefined } }))).toBe('family-revoked');
    expect(await judge(of({ revoked: false, familyRead: { record: family } }))).toBe('live');
    expect(asked).toEqual([]);
    expect(await judge(of({}))).toBe('live');
    expect(asked).toEqual(['revoked', 'family']);
  });
});
