import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreError } from '../../store/errors.ts';
import { openStore, type Store } from '../../store/open.ts';
import type { SessionRecord, SessionStore } from '../../store/sessions.ts';
import { PortalError, toPortalError } from '../portal-errors.ts';
import { tokensEqual } from './csrf.ts';
import { passwordStamp, Sessions } from './sessions.ts';

let dir: string;
let store: Store;
/** The records the sessions are kept in: what a session leaves behind in the store. */
let records: SessionStore;
let clock = Date.parse('2025-06-01T12:00:00Z');

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mergekey-sessions-'));
  store = openStore(dir);
  records = store.sessions;
});

afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const sessions = () => new Sessions(records, { now: () => clock, lifetimeMs: 8 * 3_600_000, idleMs: 30 * 60_000 });

describe('portal sessions', () => {
  it('send every write through the store health, and a write the store cannot commit is a 503 page', async () => {
    const full = new StoreError('store.unwritable', 'the store cannot write: ENOSPC (no space left on device)');
    const guarded: unknown[] = [];
    const failing = new Sessions(records, { now: () => clock, guard: (write) => (guarded.push(write), write.then(() => Promise.reject(full))) });
    await expect(failing.create('carol', 'stamp')).rejects.toBe(full);
    const { id, session } = await sessions().create('carol', 'stamp');
    await expect(failing.setFlash(id, session, undefined)).rejects.toBe(full);
    await expect(failing.destroy(id)).rejects.toBe(full);
    expect(guarded).toHaveLength(3);
    const page = toPortalError(full) as PortalError;
    expect(page).toBeInstanceOf(PortalError);
    expect([page.status, page.message, page.hint]).toEqual([503, 'The server cannot save anything right now.', 'Its storage is full or failing; try again in a few minutes.']);
  });

  it('hands out a random 256-bit id and keeps only its hash', async () => {
    const { id, session } = await sessions().create('alice', 'stamp');
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // Kept under the id's hash, never the id itself: store/sessions.test.ts.
    expect(await records.get(id)).toMatchObject({ user: 'alice', passwordStamp: 'stamp' });
    expect(session.csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(session.csrf).not.toBe(id);
    const other = await sessions().create('alice', 'stamp');
    expect(other.id).not.toBe(id);
    expect(other.session.csrf).not.toBe(session.csrf);
  });

  it('finds a live session, and nothing for a malformed or unknown id', async () => {
    const { id } = await sessions().create('bob', 'stamp');
    expect((await sessions().find(id))?.user).toBe('bob');
    expect(await sessions().find(undefined)).toBeUndefined();
    expect(await sessions().find('x')).toBeUndefined();
    expect(await sessions().find('A'.repeat(43))).toBeUndefined();
  });

  it('ends after the idle period unless touched, and at the absolute lifetime whatever the activity', async () => {
    const start = clock;
    const { id, session } = await sessions().create('carol', 'stamp');
    clock = start + 29 * 60_000;
    const touched = await sessions().touch(id, session);
    expect(touched.lastSeenAt).toBe(clock);
    clock = start + 50 * 60_000;
    expect(await sessions().find(id)).toBeDefined();
    clock = start + 60 * 60_000;
    expect(await sessions().find(id)).toBeUndefined();

    clock = start;
    const long = await sessions().create('dave', 'stamp');
    let current = long.session;
    for (let minutes = 20; minutes < 8 * 60; minutes += 20) {
      clock = start + minutes * 60_000;
      current = await sessions().touch(long.id, current);
    }
    clock = start + 8 * 3_600_000;
    expect(await sessions().find(long.id)).toBeUndefined();
    clock = start;
  });

  it('is gone after destroy (sign-out), and sweep removes expired ones', async () => {
    const { id } = await sessions().create('erin', 'stamp');
    await sessions().destroy(id);
    expect(await sessions().find(id)).toBeUndefined();

    const stale = await sessions().create('frank', 'stamp');
    clock += 9 * 3_600_000;
    expect(await sessions().sweep()).toBeGreaterThanOrEqual(1);
    expect(await records.get(stale.id)).toBeUndefined();
  });

  it('keeps a confirmation for the next page only', async () => {
    const { id, session } = await sessions().create('gina', 'stamp');
    await sessions().setFlash(id, session, { kind: 'success', message: 'Done.' });
    const withFlash = (await sessions().find(id))!;
    expect(withFlash.flash).toEqual({ kind: 'success', message: 'Done.' });
    await sessions().setFlash(id, withFlash, undefined);
    expect((await sessions().find(id))!.flash).toBeUndefined();
  });
});

describe('a session ended while a request that loaded it still runs (OWASP: logout invalidates on the server)', () => {
  it('stays ended: the request’s flash or idle-time write does not bring the record back', async () => {
    const { id, session } = await sessions().create('alice', 'stamp');
    // The request loaded the record; meanwhile another tab signs out.
    const loaded = (await sessions().find(id))!;
    await sessions().destroy(id);
    await sessions().setFlash(id, loaded, { kind: 'success', message: 'Approved #1.' });
    expect(await sessions().find(id)).toBeUndefined();
    expect(await records.get(id)).toBeUndefined();
    clock += 2 * 60_000;
    await sessions().touch(id, session);
    expect(await sessions().find(id)).toBeUndefined();
    expect(await records.get(id)).toBeUndefined();
  });

  it('still takes the flash of a live session', async () => {
    const { id, session } = await sessions().create('alice', 'stamp');
    await sessions().setFlash(id, session, { kind: 'success', message: 'Saved.' });
    expect((await sessions().find(id))?.flash).toEqual({ kind: 'success', message: 'Saved.' });
  });
});

describe('sessions of one user', () => {
  it('are at most maxPerUser at once: a sign-in past it ends the least recently used, and no one else’s', async () => {
    const bounded = new Sessions(records, { now: () => clock, lifetimeMs: 8 * 3_600_000, idleMs: 30 * 60_000, maxPerUser: 3 });
    const other = await bounded.create('olga', 'stamp');
    const opened: { id: string; session: SessionRecord }[] = [];
    for (let i = 0; i < 3; i += 1) {
      clock += 1_000;
      opened.push(await bounded.create('nina', 'stamp'));
    }
    // The first one is used again, so the second is now the least recently used.
    clock += 61_000;
    await bounded.touch(opened[0]!.id, opened[0]!.session);
    clock += 1_000;
    const fourth = await bounded.create('nina', 'stamp');
    const live = await Promise.all([opened[0]!.id, opened[1]!.id, opened[2]!.id, fourth.id].map(async (id) => (await bounded.find(id)) !== undefined));
    expect(live).toEqual([true, false, true, true]);
    expect((await bounded.find(other.id))?.user).toBe('olga');
  });
});

describe('tokens and stamps', () => {
  it('compares CSRF tokens exactly, refusing missing ones', () => {
    expect(tokensEqual('abc', 'abc')).toBe(true);
    expect(tokensEqual('abc', 'abd')).toBe(false);
    expect(tokensEqual('abc', 'abcd')).toBe(false);
    expect(tokensEqual(undefined, 'abc')).toBe(false);
    expect(tokensEqual('', undefined)).toBe(false);
  });

  it('stamps a password hash so that a new password changes the stamp', () => {
    expect(passwordStamp('scrypt$a')).toBe(passwordStamp('scrypt$a'));
    expect(passwordStamp('scrypt$a')).not.toBe(passwordStamp('scrypt$b'));
    expect(passwordStamp('scrypt$a')).not.toContain('scrypt');
  });
});
