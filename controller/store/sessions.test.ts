import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from './open.ts';
import { handlesOf } from './handles.ts';
import { isLive, SESSION_VERSION, type SessionRecord, type SessionStore } from './sessions.ts';

let dir: string;
let store: Store;
let sessions: SessionStore;
let clock = Date.parse('2025-06-01T12:00:00Z');
const IDLE_MS = 30 * 60_000;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mergekey-store-sessions-'));
  store = openStore(dir);
  sessions = store.sessions;
});

afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const hashOf = (id: string) => createHash('sha256').update(id).digest('base64url');
const record = (user: string, at = clock): SessionRecord => ({ v: SESSION_VERSION, user, csrf: 'csrf', passwordStamp: 'stamp', createdAt: at, expiresAt: at + 8 * 3_600_000, lastSeenAt: at });
const bound = () => ({ now: clock, idleMs: IDLE_MS, maxPerUser: 20 });
let next = 0;
/** A fresh 43-character id, as the portal's are. */
const newId = () => `id${String(next++).padStart(41, '0')}`;

describe('portal sessions at rest', () => {
  it('are keyed by the hash of their id, never the id itself (a backup holds no usable cookie)', async () => {
    const id = newId();
    await sessions.create(id, record('alice'), bound());
    expect(handlesOf(store).sessions.get(id)).toBeUndefined();
    expect(handlesOf(store).sessions.get(hashOf(id))).toMatchObject({ user: 'alice', passwordStamp: 'stamp' });
    expect(await sessions.get(id)).toMatchObject({ user: 'alice' });
  });

  it('are not brought back by a replace once deleted (OWASP: logout invalidates on the server)', async () => {
    const id = newId();
    await sessions.create(id, record('alice'), bound());
    await sessions.delete(id);
    await sessions.replace(id, { ...record('alice'), flash: { kind: 'success', message: 'Approved #1.' } });
    expect(handlesOf(store).sessions.get(hashOf(id))).toBeUndefined();
    const live = newId();
    await sessions.create(live, record('alice'), bound());
    await sessions.replace(live, { ...record('alice'), flash: { kind: 'success', message: 'Saved.' } });
    expect((await sessions.get(live))?.flash).toEqual({ kind: 'success', message: 'Saved.' });
  });

  it('are live before their expiry and within the idle limit, and only in this record version', () => {
    const at = clock;
    expect(isLive(record('a', at), { now: at + IDLE_MS - 1, idleMs: IDLE_MS })).toBe(true);
    expect(isLive(record('a', at), { now: at + IDLE_MS, idleMs: IDLE_MS })).toBe(false);
    expect(isLive({ ...record('a', at), expiresAt: at + 10 }, { now: at + 10, idleMs: IDLE_MS })).toBe(false);
    expect(isLive({ ...record('a', at), v: 2 as typeof SESSION_VERSION }, { now: at, idleMs: IDLE_MS })).toBe(false);
  });
});

describe('sweeping', () => {
  it('removes every expired session, however many were opened since the last sweep (the store stays bounded)', async () => {
    const live = newId();
    await sessions.create(live, record('alice'), bound());
    clock += 1;
    for (let i = 0; i < 2500; i += 1) await sessions.create(newId(), record(`user-${i}`), bound());
    // Past the idle limit of all of them but the one still in use.
    clock += 31 * 60_000;
    await sessions.replace(live, { ...record('alice'), lastSeenAt: clock - 2 * 60_000 });
    expect(await sessions.sweep({ now: clock, idleMs: IDLE_MS })).toBeGreaterThanOrEqual(2500);
    expect(handlesOf(store).sessions.getKeysCount()).toBe(1);
    expect((await sessions.get(live))?.user).toBe('alice');
  });
});
