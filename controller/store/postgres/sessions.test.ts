// Portal sessions on both backends (describe.each over LMDB and a real PostgreSQL,
// test/support/postgres.ts): the same behaviour, checked through the interface, plus what only the
// shared database has to show: a session made through one pool is found, changed and ended
// through another, and an unreachable server is a StoreError that writes nothing.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../../test/support/postgres.ts';
import { sharedDatabases } from '../../../test/support/shared-db.ts';
import { StoreError } from '../errors.ts';
import { SESSION_VERSION, sessionStore, type SessionRecord, type SessionStore } from '../sessions.ts';
import { openPool, parseStateUrl } from './connect.ts';
import { sharedDb } from './db.ts';
import { postgresSessions } from './sessions.ts';

const pg = sharedDatabases();
const { onCleanup } = pg;

const AT = Date.parse('2025-06-01T12:00:00Z');
const IDLE_MS = 30 * 60_000;
const hashOf = (id: string) => createHash('sha256').update(id).digest('base64url');
const record = (user: string, at = AT): SessionRecord => ({ v: SESSION_VERSION, user, csrf: 'csrf', passwordStamp: 'stamp', createdAt: at, expiresAt: at + 8 * 3_600_000, lastSeenAt: at });
const bound = (now = AT, maxPerUser = 20) => ({ now, idleMs: IDLE_MS, maxPerUser });
let next = 0;
/** A fresh 43-character id, as the portal's are. */
const newId = () => `id${String(next++).padStart(41, '0')}`;

interface Backend {
  sessions: SessionStore;
  /** The keys the backend holds, as they are at rest. */
  keys(): Promise<string[]>;
}

const backends: [string, () => Promise<Backend>][] = [
  ['LMDB', async () => {
    const handles = pg.lmdbStore();
    return { sessions: sessionStore(handles), keys: async () => [...handles.sessions.getKeys()].map(String).sort() };
  }],
  ['PostgreSQL', async () => {
    const { name, connect } = await pg.freshDatabase();
    const keys = async () => (await pg.cluster.psql('SELECT id FROM portal_sessions ORDER BY id', name)).split('\n').filter(Boolean);
    return { sessions: postgresSessions(connect()), keys };
  }],
];

describe.each(backends)('portal sessions on %s', (_name, open) => {
  it('are keyed by the hash of their id, never the id itself (a backup holds no usable cookie)', async () => {
    const { sessions, keys } = await open();
    const id = newId();
    await sessions.create(id, { ...record('alice'), flash: { kind: 'success', message: 'Signed in.' }, userGeneration: 7 }, bound());
    expect(await keys()).toEqual([hashOf(id)]);
    expect(await sessions.get(id)).toEqual({ ...record('alice'), flash: { kind: 'success', message: 'Signed in.' }, userGeneration: 7 });
    expect(await sessions.get(newId())).toBeUndefined();
  });

  it('are not brought back by a replace once deleted (OWASP: logout invalidates on the server)', async () => {
    const { sessions } = await open();
    const id = newId();
    await sessions.create(id, record('alice'), bound());
    await sessions.delete(id);
    await sessions.replace(id, { ...record('alice'), flash: { kind: 'success', message: 'Approved #1.' } });
    expect(await sessions.get(id)).toBeUndefined();
    const live = newId();
    await sessions.create(live, record('alice'), bound());
    await sessions.replace(live, { ...record('alice'), lastSeenAt: AT + 60_000, flash: { kind: 'success', message: 'Saved.' } });
    expect(await sessions.get(live)).toEqual({ ...record('alice'), lastSeenAt: AT + 60_000, flash: { kind: 'success', message: 'Saved.' } });
  });

  it("end the user's least recently used live sessions beyond the bound, and no one else's", async () => {
    const { sessions, keys } = await open();
    const ids = [newId(), newId(), newId()];
    // Used at AT+2, AT, AT+1: the second is the least recently used.
    for (const [i, seen] of [2, 0, 1].entries()) await sessions.create(ids[i]!, record('alice', AT + seen), bound(AT + 3, 3));
    const idle = newId();
    await sessions.create(idle, record('alice', AT - IDLE_MS), bound(AT + 3, 20));
    const bob = newId();
    await sessions.create(bob, record('bob'), bound(AT + 3, 1));

    // A fourth live one for alice, at most three: the least recently used goes; an idle one does not count.
    const fourth = newId();
    await sessions.create(fourth, record('alice', AT + 4), bound(AT + 4, 3));
    expect(await keys()).toEqual([ids[0]!, ids[2]!, idle, bob, fourth].map(hashOf).sort());
  });

  it('sweep every session past its expiry, idle too long or of another version, in batches, and nothing live', async () => {
    const { sessions, keys } = await open();
    const live = newId();
    await sessions.create(live, record('alice', AT + 31 * 60_000), bound());
    const ended: string[] = [];
    for (let i = 0; i < 25; i += 1) {
      const id = newId();
      ended.push(id);
      await sessions.create(id, record(`user-${i}`), bound());
    }
    const expired = newId();
    await sessions.create(expired, { ...record('carol', AT + 31 * 60_000), expiresAt: AT + 31 * 60_000 }, bound());
    const other = newId();
    await sessions.create(other, { ...record('dave', AT + 31 * 60_000), v: 2 as typeof SESSION_VERSION }, bound());

    expect(await sessions.sweep({ now: AT + 31 * 60_000, idleMs: IDLE_MS }, 10)).toBe(27);
    expect(await keys()).toEqual([hashOf(live)]);
    expect(await sessions.sweep({ now: AT + 31 * 60_000, idleMs: IDLE_MS }, 10)).toBe(0);
  });
});

describe('portal sessions on PostgreSQL', () => {
  it('made through one replica are found, changed and ended through another', async () => {
    const { connect } = await pg.freshDatabase();
    const [a, b] = [postgresSessions(connect()), postgresSessions(connect())];
    const id = newId();
    await a.create(id, record('alice'), bound());
    expect(await b.get(id)).toEqual(record('alice'));
    await b.replace(id, { ...record('alice'), lastSeenAt: AT + 120_000 });
    expect((await a.get(id))?.lastSeenAt).toBe(AT + 120_000);
    await a.delete(id);
    await b.replace(id, record('alice'));
    expect(await b.get(id)).toBeUndefined();
  });

  it('keep the bound per user when two replicas sign the same user in at once (READ COMMITTED gives no LMDB write lock)', async () => {
    const { connect, name } = await pg.freshDatabase();
    const [a, b] = [postgresSessions(connect()), postgresSessions(connect())];
    const [older, newer] = [newId(), newId()];
    await a.create(older, record('alice', AT - 2), bound(AT, 2));
    await a.create(newer, record('alice', AT - 1), bound(AT, 2));
    // Another transaction holds the row both sign-ins must end: each takes its snapshot, then waits.
    const holder = connect();
    const held = await holder.sql.reserve();
    try {
      await held`BEGIN`;
      await held`SELECT 1 FROM portal_sessions WHERE id = ${hashOf(older)} FOR UPDATE`;
      const signIns = [a.create(newId(), record('alice'), bound(AT, 2)), b.create(newId(), record('alice'), bound(AT, 2))];
      const waiting = async () => Number(await pg.cluster.psql(`SELECT count(*) FROM pg_stat_activity WHERE datname = '${name}' AND wait_event_type = 'Lock'`, name));
      for (let tries = 0; tries < 500 && (await waiting()) < 2; tries++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(await waiting()).toBe(2);
      await held`COMMIT`;
      await Promise.all(signIns);
    } finally {
      held.release();
    }
    expect(await pg.cluster.psql("SELECT count(*) FROM portal_sessions WHERE user_name = 'alice'", name)).toBe('2\n');
  });

  it('report an unreachable server as store.unreachable, and nothing is written', async () => {
    const { connect, name } = await pg.freshDatabase();
    const id = newId();
    await postgresSessions(connect()).create(id, record('alice'), bound());
    const url = parseStateUrl(pg.cluster.url(name));
    url.port = String(await freePort());
    const down = sharedDb(openPool(url, { connectTimeout: 2 }), url);
    onCleanup(() => down.close());
    const unreachable = postgresSessions(down);

    const calls = [unreachable.get(id), unreachable.create(newId(), record('bob'), bound()), unreachable.replace(id, { ...record('alice'), lastSeenAt: AT + 1 }), unreachable.delete(id), unreachable.sweep({ now: AT + 9 * 3_600_000, idleMs: IDLE_MS })];
    for (const call of calls) {
      const error = await (call as Promise<unknown>).then(() => undefined, (err: unknown) => err);
      expect(error).toBeInstanceOf(StoreError);
      expect((error as StoreError).code).toBe('store.unreachable');
    }
    expect(await pg.cluster.psql("SELECT user_name, last_seen_ms FROM portal_sessions", name)).toBe(`alice|${AT}\n`);
  });
});
