// Replica peers over a real PostgreSQL (test/support/postgres.ts): a topic's subscribers on
// another replica receive what is published on it and nothing of other topics; `onMessage` (what
// a cluster's primary hands its workers) receives every topic as a peer message. With the server
// gone, publishing loses the messages, says so once in the log (without the password), and
// throws nothing.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { openPool, parseStateUrl } from '../store/postgres/connect.ts';
import { connectSharedDb, type SharedDb } from '../store/postgres/db.ts';
import { migrate } from '../store/postgres/migrate.ts';
import { startPostgres } from '../../test/support/postgres.ts';
import { sharedDatabases } from '../../test/support/shared-db.ts';
import type { PeerMessage } from './ipc.ts';
import { openReplicaPeers, type ReplicaPeers } from './replica-peers.ts';

const silent = pino({ level: 'silent' });
const pg = sharedDatabases();
const { onCleanup } = pg;

async function replicas(): Promise<[ReplicaPeers, ReplicaPeers]> {
  const { url } = await pg.freshDatabase();
  const open = async () => {
    const db: SharedDb = await connectSharedDb(url, { max: 2 });
    onCleanup(() => db.close());
    const peers = await openReplicaPeers(db, silent);
    onCleanup(() => peers.close());
    return peers;
  };
  return [await open(), await open()];
}

describe('replica peers', () => {
  it('deliver a topic to its subscribers on the other replica, and every topic to onMessage', async () => {
    const [a, b] = await replicas();
    const signIns: unknown[] = [];
    const all: PeerMessage[] = [];
    b.subscribe('portal-sign-in', (payload) => signIns.push(payload));
    b.onMessage((message) => all.push(message));
    a.publish('oauth-throttles', { requests: [{ key: 'app', count: 2, perMinute: 10 }] });
    a.publish('portal-sign-in', { user: 'alice' });
    await vi.waitFor(() => expect(all).toHaveLength(2), { timeout: 5_000, interval: 10 });
    expect(all).toEqual([
      { type: 'mergekey:peers', topic: 'oauth-throttles', payload: { requests: [{ key: 'app', count: 2, perMinute: 10 }] } },
      { type: 'mergekey:peers', topic: 'portal-sign-in', payload: { user: 'alice' } },
    ]);
    expect(signIns).toEqual([{ user: 'alice' }]);
  });

  it('lose what is published while the server is gone, say so once and throw nothing', async () => {
    // A server of its own: stopping the file's would end the other tests'.
    const own = await startPostgres();
    try {
      const url = await own.createDatabase();
      const migrating = openPool(parseStateUrl(url), { max: 1 });
      await migrate(migrating);
      await migrating.end();
      const db = await connectSharedDb(url, { max: 1, connectTimeout: 2 });
      onCleanup(() => db.close());
      const lines: string[] = [];
      const logger = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _encoding, done) => void (lines.push(chunk.toString()), done()) }));
      const peers = await openReplicaPeers(db, logger);
      onCleanup(() => peers.close());
      await own.stop();
      for (let i = 0; i < 3; i++) {
        peers.publish('oauth-throttles', { requests: [{ key: 'app', count: 1, perMinute: 10 }] });
        // The next turn of the event loop: each publish is a batch of its own.
        await new Promise((resolve) => setImmediate(resolve));
      }
      // Closing waits for every send to have failed.
      await peers.close();
      expect(lines.filter((line) => line.includes('cannot tell the other replicas'))).toHaveLength(1);
      expect(lines.join('')).not.toContain(own.password);
    } finally {
      await own.stop();
    }
  });
});
