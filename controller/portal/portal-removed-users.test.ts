// Portal sessions of a user that was removed, or given a new password, end for good: a User
// restored under the same name (a revert, or a new person) gets no session of the old one back.
// The real portal over HTTP and a real LMDB store written through the reconciler's ConfigWriter;
// the clock is injected and shared by both; nothing sleeps.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hashPassword } from '../sealing/hashes.ts';
import { configWriter } from '../store/config.ts';
import { openStore, type Store } from '../store/open.ts';
import { handlesOf } from '../store/handles.ts';
import type { UserRecord } from '../store/records.ts';
import { PEOPLE, startPortalAlone, Visitor } from '../../test/support/portal.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

// startPortalAlone's clock starts here and moves only with `advance`.
const START = Date.parse('2026-01-05T09:00:00Z');

async function world() {
  const dir = mkdtempSync(join(tmpdir(), 'mergekey-portal-users-'));
  const store: Store = openStore(join(dir, 'data'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }), () => store.close());
  // The record a reconcile would write: the very same one restored (same hash, same stamp).
  const bob: UserRecord = {
    v: 1, name: 'bob', path: 'users/bob.yaml', commit: 'c'.repeat(40),
    spec: { roles: ['developer'], displayName: 'Bob' }, passwordHash: await hashPassword(PEOPLE.bob.password), passwordSealed: 'seal-1',
  };
  await handlesOf(store).users.put('bob', bob);
  const portal = await startPortalAlone({ store });
  cleanups.push(() => portal.close());
  let elapsed = 0;
  const writer = configWriter(handlesOf(store), () => START + elapsed);
  const advance = (ms: number) => {
    elapsed += ms;
    portal.advance(ms);
  };
  const write = (change: () => unknown) => handlesOf(store).root.transactionSync(change);
  // A page that needs a session and no workspace: a developer is refused it (403) once signed in,
  // and sent to sign in (303) without a session.
  const signedIn = async (visitor: Visitor) => (await visitor.get('/portal/review')).status === 403;
  return { bob, portal, writer, advance, write, signedIn };
}

describe('portal sessions end with their user', () => {
  it('stays signed out when the removed user is restored with the same record', async () => {
    const w = await world();
    const visitor = new Visitor(w.portal.url);
    await visitor.signIn('bob');
    expect(await w.signedIn(visitor)).toBe(true);

    w.advance(5_000);
    w.write(() => w.writer.delete('User', 'bob'));
    w.write(() => w.writer.putUser(w.bob));
    const page = await visitor.get('/portal/review');
    expect(page.status).toBe(303);
    expect(page.location).toBe('/portal/sign-in?next=%2Fportal%2Freview');

    // Past the second of the removal, bob signs in again as anyone would.
    w.advance(1_000);
    const again = new Visitor(w.portal.url);
    await again.signIn('bob');
    expect(await w.signedIn(again)).toBe(true);
  });

  it('ends the session when the password is sealed anew, and not on other edits', async () => {
    const w = await world();
    const visitor = new Visitor(w.portal.url);
    await visitor.signIn('bob');

    w.advance(5_000);
    // Same password hash (a stamp that would not notice), another sealing of it: sessions end.
    w.write(() => w.writer.putUser({ ...w.bob, spec: { ...w.bob.spec, displayName: 'Robert' } }));
    expect(await w.signedIn(visitor)).toBe(true);
    w.write(() => w.writer.putUser({ ...w.bob, passwordSealed: 'seal-2' }));
    expect(await w.signedIn(visitor)).toBe(false);
  });
});
