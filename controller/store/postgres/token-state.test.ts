// Token state on PostgreSQL behaves as on LMDB: the same cases run against both implementations
// (the LMDB-only ones, reopening and sweeping, stay in ../token-state.test.ts). Then what only a
// shared database can show, against a real server (test/support/postgres.ts): two pools (two
// replicas) racing on one refresh token and one assertion id, a batch of records in one round
// trip, and a server that cannot be reached.
import { describe, expect, it } from 'vitest';
import { freePort, startPostgres } from '../../../test/support/postgres.ts';
import { sharedDatabases, type FreshDatabase } from '../../../test/support/shared-db.ts';
import { StoreError } from '../errors.ts';
import { cutOffs, tokenState, type AccessTokenRecord, type FamilyRecord, type RefreshTokenRecord, type TokenState, type TokenStateOptions } from '../token-state.ts';
import { openPool, parseStateUrl } from './connect.ts';
import { connectSharedDb, sharedDb, type SharedDb } from './db.ts';
import { migrate } from './migrate.ts';
import { postgresTokenState } from './token-state.ts';

const pg = sharedDatabases();
const { onCleanup } = pg;

/** A fresh migrated database; `pools` SharedDbs on it, as that many replicas would open. */
async function sharedDatabase(pools = 1): Promise<FreshDatabase & { dbs: SharedDb[] }> {
  const fresh = await pg.freshDatabase();
  return { ...fresh, dbs: await fresh.replicas(pools) };
}

interface Implementation {
  name: string;
  /** Token states over one store, as several processes would open it. */
  open(): Promise<(options?: TokenStateOptions) => TokenState>;
}

const implementations: Implementation[] = [
  {
    name: 'LMDB',
    async open() {
      const store = pg.lmdbStore();
      return (options) => tokenState(store, options);
    },
  },
  {
    name: 'PostgreSQL',
    async open() {
      const { dbs: [db] } = await sharedDatabase();
      const store = pg.lmdbStore();
      return (options) => postgresTokenState(db!, { cutOffs: cutOffs(store), ...options });
    },
  },
];

const access = (jti: string, exp = 2000, family?: string): AccessTokenRecord => ({
  v: 1, jti, clientId: 'billing-client', sub: 'client:billing-client', scope: 'open', aud: ['https://as.test', 'https://billing.test'], iat: 1000, exp,
  ...(family === undefined ? {} : { family }),
});
const refresh = (id: string, family: string, exp = 5000): RefreshTokenRecord => ({
  v: 1, id, clientId: 'billing-client', sub: 'user:alice', scope: 'open', iat: 1000, exp, family, issuedUnder: { application: 3, grants: 4, user: 5 },
});
const family = (id: string, exp = 5000): FamilyRecord => ({ v: 1, id, sub: 'user:alice', iat: 1000, exp });

describe.each(implementations)('token state on $name', ({ open }) => {
  it('rotates a refresh token exactly once among 20 concurrent attempts; a loser revokes the family', async () => {
    const state = (await open())();
    await state.startFamily('billing', family('f1'), refresh('r0', 'f1'), access('a0', 2000, 'f1'));
    const outcomes = await Promise.all(Array.from({ length: 20 }, (_, i) =>
      state.rotateRefreshToken('billing', 'r0', 1500, refresh(`r${i + 1}`, 'f1'), access(`a${i + 1}`, 2500, 'f1'))));
    expect(outcomes.filter((o) => o.outcome === 'rotated')).toHaveLength(1);
    expect(outcomes.filter((o) => o.outcome === 'reused')).toHaveLength(1);
    expect(outcomes.filter((o) => o.outcome === 'revoked')).toHaveLength(18);
    expect((await state.family('billing', 'f1'))?.revokedAt).toBe(1500);
  });

  it('keeps the records as given, and a rotation marks the token used, writes the next ones and extends the family', async () => {
    const state = (await open())();
    const first = { ...access('a0', 2000, 'f1'), issuedUnder: { application: 1, grants: 2 } };
    await state.startFamily('billing', family('f1'), refresh('r0', 'f1'), first);
    expect(await state.accessToken('billing', 'a0')).toEqual(first);
    expect(await state.refreshToken('billing', 'r0')).toEqual(refresh('r0', 'f1'));
    expect(await state.family('billing', 'f1')).toEqual(family('f1'));
    expect(await state.rotateRefreshToken('billing', 'r0', 1500, refresh('r1', 'f1', 9000), access('a1', 2500, 'f1'))).toEqual({ outcome: 'rotated' });
    expect(await state.refreshToken('billing', 'r0')).toEqual({ ...refresh('r0', 'f1'), usedAt: 1500 });
    expect(await state.refreshToken('billing', 'r1')).toEqual(refresh('r1', 'f1', 9000));
    expect(await state.accessToken('billing', 'a1')).toEqual(access('a1', 2500, 'f1'));
    expect(await state.family('billing', 'f1')).toEqual(family('f1', 9000));
  });

  it('refuses to rotate an unknown, an expired, or a revoked family\'s token, writing nothing', async () => {
    const state = (await open())();
    await state.startFamily('billing', family('f1'), refresh('r0', 'f1', 1400), access('a0', 2000, 'f1'));
    await state.startFamily('billing', family('f2'), refresh('s0', 'f2'), access('b0', 2000, 'f2'));
    expect(await state.rotateRefreshToken('billing', 'nope', 1500, refresh('r1', 'f1'), access('a1', 2500, 'f1'))).toEqual({ outcome: 'unknown' });
    expect(await state.rotateRefreshToken('billing-eu', 's0', 1300, refresh('r1', 'f2'), access('a1', 2500, 'f2'))).toEqual({ outcome: 'unknown' });
    expect(await state.rotateRefreshToken('billing', 'r0', 1400, refresh('r1', 'f1'), access('a1', 2500, 'f1'))).toEqual({ outcome: 'expired' });
    expect(await state.revokeFamily('billing', 'f2', 1300)).toBe(true);
    expect(await state.revokeFamily('billing', 'f2', 1350)).toBe(false);
    expect(await state.revokeFamily('billing', 'none', 1350)).toBe(false);
    expect(await state.rotateRefreshToken('billing', 's0', 1400, refresh('s1', 'f2'), access('b1', 2500, 'f2'))).toEqual({ outcome: 'revoked' });
    expect(await state.family('billing', 'f2')).toEqual({ ...family('f2'), revokedAt: 1300 });
    expect([await state.refreshToken('billing', 'r1'), await state.refreshToken('billing', 's1'), await state.accessToken('billing', 'a1'), await state.accessToken('billing', 'b1')])
      .toEqual([undefined, undefined, undefined, undefined]);
    expect((await state.refreshToken('billing', 's0'))?.usedAt).toBeUndefined();
  });

  it('finds a token only through the application it was issued to', async () => {
    const state = (await open())();
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

  it('reads an access token\'s record, revocation and family at once, and a refresh token with its family', async () => {
    const opened = await open();
    const state = opened({ recordDelay: 60_000 });
    await state.startFamily('billing', family('f1'), refresh('r0', 'f1'), access('a0', 2000, 'f1'));
    expect(await state.accessTokenState('billing', 'a0')).toEqual({ record: access('a0', 2000, 'f1'), revoked: false, family: family('f1') });
    // Still gathering here: the record from memory, its family from the store.
    state.recordAccessToken('billing', access('q1', 2000, 'f1'));
    expect(await state.accessTokenState('billing', 'q1')).toEqual({ record: access('q1', 2000, 'f1'), revoked: false, family: family('f1') });
    state.recordAccessToken('billing', access('a5'));
    await state.flushAccessTokens();
    expect(await state.accessTokenState('billing', 'a5')).toEqual({ record: access('a5'), revoked: false, family: undefined });
    expect(await state.revokeAccessToken('billing', 'a5', 2000)).toBe(true);
    expect(await state.accessTokenState('billing', 'a5')).toEqual({ record: undefined, revoked: true, family: undefined });
    // Revoked through another process (another replica): seen at once.
    expect(await opened().revokeAccessToken('billing', 'a0', 2000)).toBe(true);
    expect(await state.accessTokenState('billing', 'a0')).toEqual({ record: undefined, revoked: true, family: undefined });
    expect(await state.accessTokenState('billing', 'nope')).toEqual({ record: undefined, revoked: false, family: undefined });
    expect(await state.accessTokenState('billing-eu', 'q1')).toEqual({ record: undefined, revoked: false, family: undefined });

    expect(await state.refreshTokenWithFamily('billing', 'r0')).toEqual({ record: refresh('r0', 'f1'), family: family('f1') });
    expect(await state.revokeFamily('billing', 'f1', 1500)).toBe(true);
    expect(await state.refreshTokenWithFamily('billing', 'r0')).toEqual({ record: refresh('r0', 'f1'), family: { ...family('f1'), revokedAt: 1500 } });
    expect(await state.accessTokenState('billing', 'q1')).toEqual({ record: access('q1', 2000, 'f1'), revoked: false, family: { ...family('f1'), revokedAt: 1500 } });
    expect(await state.refreshTokenWithFamily('billing', 'nope')).toBeUndefined();
    expect(await state.refreshTokenWithFamily('billing-eu', 'r0')).toBeUndefined();
    await state.flushAccessTokens();
  });

  it('gathers access token records and writes them together, at the latest after the delay', async () => {
    const opened = await open();
    const gathering = opened({ recordDelay: 60_000 });
    const other = opened();
    gathering.recordAccessToken('billing', access('q1'));
    gathering.recordAccessToken('billing', access('q2'));
    // Still gathering here; another process does not see them yet, this one does.
    expect(await other.accessToken('billing', 'q1')).toBeUndefined();
    expect(await gathering.accessToken('billing', 'q1')).toEqual(access('q1'));
    await gathering.flushAccessTokens();
    expect([await other.accessToken('billing', 'q1'), await other.accessToken('billing', 'q2')]).toEqual([access('q1'), access('q2')]);
  });

  it('accepts an assertion id once until it expires', async () => {
    const state = (await open())();
    const results = await Promise.all(Array.from({ length: 10 }, () => state.useAssertionId('billing', 'j1', 1300, 1000)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await state.useAssertionId('billing', 'j1', 1300, 1299)).toBe(false);
    expect(await state.useAssertionId('billing-eu', 'j1', 1300, 1299)).toBe(true);
    expect(await state.useAssertionId('billing', 'j1', 1600, 1300)).toBe(true);
  });

  it('accepts an assertion id of any characters the client signed, a NUL included (text refuses 0x00), once', async () => {
    const state = (await open())();
    const hostile = 'j\u0000\u0001\u{1F600}';
    expect(await state.useAssertionId('billing', hostile, 1300, 1000)).toBe(true);
    expect(await state.useAssertionId('billing', hostile, 1300, 1000)).toBe(false);
    expect(await state.useAssertionId('billing', 'j', 1300, 1000)).toBe(true);
  });

  it('pages through one application in key order without seeing its neighbours', async () => {
    const state = (await open())();
    for (const app of ['billing', 'billing-eu', 'billin']) {
      for (const jti of ['a2', 'a0', 'B1', 'a1']) state.recordAccessToken(app, access(jti));
    }
    await state.flushAccessTokens();
    await state.startFamily('billing', family('f1'), refresh('r1', 'f1'), access('a9', 2000, 'f1'));
    await state.startFamily('billing', family('f0'), refresh('r0', 'f0'), access('a8', 2000, 'f0'));
    await state.startFamily('billing-eu', family('f2'), refresh('r2', 'f2'), access('a7', 2000, 'f2'));
    const pages: string[][] = [];
    let after: string | undefined;
    do {
      const page = await state.listTokens('billing', { limit: 3, ...(after === undefined ? {} : { after }) });
      pages.push([...page.access.map((t) => `a:${t.jti}`), ...page.refresh.map((t) => `r:${t.id}`), `next=${page.next}`]);
      after = page.next;
    } while (after !== undefined);
    // Byte order: upper case before lower case.
    expect(pages).toEqual([['a:B1', 'a:a0', 'a:a1', 'next=a:a1'], ['a:a2', 'a:a8', 'a:a9', 'next=a:a9'], ['r:r0', 'r:r1', 'next=undefined']]);
    const exact = await state.listTokens('billing', { limit: 6 });
    expect([exact.access.length, exact.refresh.length, exact.next]).toEqual([6, 0, 'a:a9']);
    expect((await state.listTokens('billing', { limit: 5, after: 'r:r0' })).refresh).toEqual([refresh('r1', 'f1')]);
    expect(await state.listTokens('nobody', { limit: 5 })).toEqual({ access: [], refresh: [] });
    // A cursor of neither kind lists the refresh tokens from the start, as LMDB's ranges do.
    expect((await state.listTokens('billing', { limit: 5, after: 'x:r0' })).refresh.map((t) => t.id)).toEqual(['r0', 'r1']);
  });

  it('forgets a revoked token\'s record, one still gathering included', async () => {
    const opened = await open();
    const gathering = opened({ recordDelay: 60_000 });
    gathering.recordAccessToken('billing', access('q1'));
    expect(await gathering.revokeAccessToken('billing', 'q1', 2000)).toBe(true);
    await gathering.flushAccessTokens();
    expect(await gathering.accessToken('billing', 'q1')).toBeUndefined();
    expect((await gathering.listTokens('billing', { limit: 5 })).access).toEqual([]);
  });
});

describe('token state on PostgreSQL shared by replicas', () => {
  it('rotates a refresh token exactly once among 20 concurrent attempts through two pools, and the family ends revoked', async () => {
    const { dbs } = await sharedDatabase(2);
    const store = pg.lmdbStore();
    const [one, two] = dbs.map((db) => postgresTokenState(db, { cutOffs: cutOffs(store) }));
    await one!.startFamily('billing', family('f1'), refresh('r0', 'f1'), access('a0', 2000, 'f1'));
    const outcomes = await Promise.all(Array.from({ length: 20 }, (_, i) =>
      (i % 2 === 0 ? one! : two!).rotateRefreshToken('billing', 'r0', 1500, refresh(`r${i + 1}`, 'f1'), access(`a${i + 1}`, 2500, 'f1'))));
    expect(outcomes.filter((o) => o.outcome === 'rotated')).toHaveLength(1);
    expect(outcomes.filter((o) => o.outcome === 'reused')).toHaveLength(1);
    expect(outcomes.filter((o) => o.outcome === 'revoked')).toHaveLength(18);
    expect((await two!.family('billing', 'f1'))?.revokedAt).toBe(1500);
    // Only the winner's next token and access token were written.
    const page = await one!.listTokens('billing', { limit: 50 });
    expect([page.access.length, page.refresh.length]).toEqual([2, 2]);
  });

  it('accepts an assertion id once among 20 concurrent uses through two pools', async () => {
    const { dbs } = await sharedDatabase(2);
    const store = pg.lmdbStore();
    const [one, two] = dbs.map((db) => postgresTokenState(db, { cutOffs: cutOffs(store) }));
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? one! : two!).useAssertionId('billing', 'j1', 1300, 1000)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('writes a batch of gathered records in one round trip, and resolves a flush once they are committed', async () => {
    const { dbs: [db], name } = await sharedDatabase();
    const state = postgresTokenState(db!, { cutOffs: cutOffs(pg.lmdbStore()), recordDelay: 60_000 });
    const before = db!.roundTrips();
    for (let i = 0; i < 500; i++) state.recordAccessToken(i % 2 === 0 ? 'billing' : 'orders', access(`a${String(i).padStart(3, '0')}`));
    await state.flushAccessTokens();
    expect(db!.roundTrips() - before).toBe(1);
    expect((await pg.cluster.psql('SELECT app, count(*) FROM access_tokens GROUP BY app ORDER BY app', name)).trim()).toBe('billing|250\norders|250');
  });

  it('answers introspection\'s read of an access token, and the refresh grant\'s of a refresh token, in one round trip each, reads asked together in one', async () => {
    const { dbs: [db] } = await sharedDatabase();
    const state = postgresTokenState(db!, { cutOffs: cutOffs(pg.lmdbStore()) });
    await state.startFamily('billing', family('f1'), refresh('r0', 'f1'), access('a0', 2000, 'f1'));
    const before = db!.roundTrips();
    expect(await state.accessTokenState('billing', 'a0')).toEqual({ record: access('a0', 2000, 'f1'), revoked: false, family: family('f1') });
    expect(db!.roundTrips() - before).toBe(1);
    expect(await state.refreshTokenWithFamily('billing', 'r0')).toEqual({ record: refresh('r0', 'f1'), family: family('f1') });
    expect(db!.roundTrips() - before).toBe(2);
    // Reads asked together (requests that arrived together) share one round trip, each its own answer.
    state.recordAccessToken('billing', access('a1'));
    await state.flushAccessTokens();
    expect(await state.revokeAccessToken('billing', 'a1', 2000)).toBe(true);
    const together = db!.roundTrips();
    const answers = await Promise.all(['a0', 'a1', 'nope', 'a0'].map((jti) => state.accessTokenState('billing', jti)));
    expect(db!.roundTrips() - together).toBe(1);
    expect(answers).toEqual([
      { record: access('a0', 2000, 'f1'), revoked: false, family: family('f1') },
      { record: undefined, revoked: true, family: undefined },
      { record: undefined, revoked: false, family: undefined },
      { record: access('a0', 2000, 'f1'), revoked: false, family: family('f1') },
    ]);
    const refreshes = db!.roundTrips();
    expect(await Promise.all(['r0', 'nope', 'r0'].map((id) => state.refreshTokenWithFamily('billing', id))))
      .toEqual([{ record: refresh('r0', 'f1'), family: family('f1') }, undefined, { record: refresh('r0', 'f1'), family: family('f1') }]);
    expect(db!.roundTrips() - refreshes).toBe(1);
  });

  it('resolves a grant\'s record only once committed, and gathers the records that arrive during a batch into the next (a group commit)', async () => {
    const { dbs: [db], name } = await sharedDatabase();
    const state = postgresTokenState(db!, { cutOffs: cutOffs(pg.lmdbStore()) });
    const count = async () => (await pg.cluster.psql('SELECT count(*) FROM access_tokens', name)).trim();
    const before = db!.roundTrips();
    const first = state.recordAccessToken('billing', access('g00'));
    // The first batch leaves on the next turn; the fifty that follow find it in flight.
    await new Promise((resolve) => setTimeout(resolve, 1));
    const rest = Array.from({ length: 50 }, (_, i) => state.recordAccessToken('billing', access(`g${String(i + 1).padStart(2, '0')}`)));
    await first;
    expect(Number(await count())).toBeGreaterThanOrEqual(1);
    await Promise.all(rest);
    expect(await count()).toBe('51');
    expect(db!.roundTrips() - before).toBe(2);
  });

  it('rejects the grants waiting on a batch the server refused, reports it to onError, and carries on', async () => {
    const { dbs: [db], name } = await sharedDatabase();
    const errors: unknown[] = [];
    const state = postgresTokenState(db!, { cutOffs: cutOffs(pg.lmdbStore()), recordDelay: 60_000, onError: (err) => errors.push(err) });
    // Not a jti the column takes: a NUL byte in text. The whole batch is refused, nothing of it written.
    const waiting = [state.recordAccessToken('billing', access('good')), state.recordAccessToken('billing', access('bad\u0000'))];
    await state.flushAccessTokens();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(StoreError);
    // Neither grant may answer its token: its record was not committed.
    for (const grant of waiting) await expect(grant).rejects.toBe(errors[0]);
    const later = state.recordAccessToken('billing', access('later'));
    await state.flushAccessTokens();
    await later;
    expect((await pg.cluster.psql('SELECT jti FROM access_tokens', name)).trim()).toBe('later');
    expect(state.unwritable()).toBeUndefined();
  });

  it('writes nothing of a rotation the server refuses: the presented token stays unused, the family as it was', async () => {
    const { dbs: [db] } = await sharedDatabase();
    const state = postgresTokenState(db!, { cutOffs: cutOffs(pg.lmdbStore()) });
    await state.startFamily('billing', family('f1'), refresh('r0', 'f1'), access('a0', 2000, 'f1'));
    await state.startFamily('billing', family('f2'), refresh('taken', 'f2'), access('b0', 2000, 'f2'));
    // The next refresh token's id is taken: the insert fails after the token was marked used, in the same statement.
    const error = await state.rotateRefreshToken('billing', 'r0', 1500, refresh('taken', 'f1', 9000), access('a1', 2500, 'f1')).then(() => undefined, (err: unknown) => err);
    expect(error instanceof StoreError ? error.code : error).toBe('store.postgres-failed');
    expect(await state.refreshToken('billing', 'r0')).toEqual(refresh('r0', 'f1'));
    expect(await state.family('billing', 'f1')).toEqual(family('f1'));
    expect(await state.accessToken('billing', 'a1')).toBeUndefined();
    expect(await state.rotateRefreshToken('billing', 'r0', 1500, refresh('r1', 'f1'), access('a1', 2500, 'f1'))).toEqual({ outcome: 'rotated' });
  });

  it('knows used assertion ids since the shared database was made', async () => {
    const { dbs: [db], migratedBetween: [from, to] } = await sharedDatabase();
    const state = postgresTokenState(db!, { cutOffs: cutOffs(pg.lmdbStore()) });
    const since = await state.assertionIdsKnownSince();
    expect(since).toBeGreaterThanOrEqual(from - 1);
    expect(since).toBeLessThanOrEqual(to);
    // Read once: it never changes for a database.
    const before = db!.roundTrips();
    expect(await state.assertionIdsKnownSince()).toBe(since);
    expect(db!.roundTrips()).toBe(before);
  });

  it('rejects every operation with store.unreachable once the server has stopped, its pooled connections included', async () => {
    const own = await startPostgres();
    onCleanup(() => own.stop());
    const url = await own.createDatabase();
    const setup = openPool(parseStateUrl(url));
    await migrate(setup);
    await setup.end();
    const db = await connectSharedDb(url);
    onCleanup(() => db.close());
    const state = postgresTokenState(db, { cutOffs: cutOffs(pg.lmdbStore()) });
    // Connections open and idle in the pool when the server goes.
    await Promise.all([state.startFamily('billing', family('f1'), refresh('r0', 'f1'), access('a0', 2000, 'f1')), state.family('billing', 'f1'), state.accessTokenRevoked('billing', 'a0')]);
    await own.stop();
    const outcomes = await Promise.all([
      state.rotateRefreshToken('billing', 'r0', 1500, refresh('r1', 'f1'), access('a1', 2500, 'f1')),
      state.revokeAccessToken('billing', 'a0', 2000),
      state.useAssertionId('billing', 'j1', 1300, 1000),
      state.refreshToken('billing', 'r0'),
      state.accessTokenState('billing', 'a0'),
      state.accessTokenState('billing', 'a1'),
      state.refreshTokenWithFamily('billing', 'r0'),
    ].map((operation) => operation.then(() => undefined, (err: unknown) => (err instanceof StoreError ? err.code : err))));
    expect(outcomes).toEqual(Array.from({ length: 7 }, () => 'store.unreachable'));
    expect(state.unwritable()).toMatch(/cannot reach PostgreSQL/);
  });

  it('rejects every operation with store.unreachable when the server cannot be reached, says so, and writes nothing', async () => {
    const url = parseStateUrl(`postgres://mergekey:secret-pw@127.0.0.1:${await freePort()}/mergekey`);
    const db = sharedDb(openPool(url, { connectTimeout: 5 }), url);
    onCleanup(() => db.close());
    const errors: unknown[] = [];
    const state = postgresTokenState(db, { cutOffs: cutOffs(pg.lmdbStore()), recordDelay: 60_000, onError: (err) => errors.push(err) });
    expect(state.unwritable()).toBeUndefined();
    const operations: [string, () => Promise<unknown>][] = [
      ['accessToken', () => state.accessToken('billing', 'a0')],
      ['revokeAccessToken', () => state.revokeAccessToken('billing', 'a0', 2000)],
      ['accessTokenRevoked', () => state.accessTokenRevoked('billing', 'a0')],
      ['startFamily', () => state.startFamily('billing', family('f1'), refresh('r0', 'f1'), access('a0', 2000, 'f1'))],
      ['refreshToken', () => state.refreshToken('billing', 'r0')],
      ['family', () => state.family('billing', 'f1')],
      ['rotateRefreshToken', () => state.rotateRefreshToken('billing', 'r0', 1500, refresh('r1', 'f1'), access('a1', 2500, 'f1'))],
      ['revokeFamily', () => state.revokeFamily('billing', 'f1', 1500)],
      ['useAssertionId', () => state.useAssertionId('billing', 'j1', 1300, 1000)],
      ['assertionIdsKnownSince', () => state.assertionIdsKnownSince()],
      ['listTokens', () => state.listTokens('billing', { limit: 5 })],
    ];
    for (const [name, operation] of operations) {
      const error = await operation().then(() => undefined, (err: unknown) => err);
      expect([name, error instanceof StoreError ? error.code : error]).toEqual([name, 'store.unreachable']);
      expect((error as Error).message).not.toContain('secret-pw');
    }
    const grant = state.recordAccessToken('billing', access('q1'));
    await state.flushAccessTokens();
    await expect(grant).rejects.toMatchObject({ code: 'store.unreachable' });
    expect(errors.map((err) => (err as StoreError).code)).toEqual(['store.unreachable']);
    expect(state.unwritable()).toMatch(/cannot reach PostgreSQL at 127\.0\.0\.1:\d+/);
    expect(state.unwritable()).not.toContain('secret-pw');
  });
});
