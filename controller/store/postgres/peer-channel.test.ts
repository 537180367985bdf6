// Peer messages between replicas over a real PostgreSQL's NOTIFY (test/support/postgres.ts): a
// batch reaches every other replica whole, never its sender; a batch larger than a NOTIFY payload
// is split and joined again, multi-byte characters included; fragments are never cut mid-character;
// a batch JSON cannot carry is dropped and said, and the next is sent.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startPostgres, type PostgresCluster } from '../../../test/support/postgres.ts';
import { openPool, parseStateUrl } from './connect.ts';
import { connectSharedDb, type SharedDb } from './db.ts';
import { migrate } from './migrate.ts';
import { FragmentJoiner, fragments, MAX_NOTIFY_BYTES, openPeerChannel, type PeerChannel } from './peer-channel.ts';

let cluster: PostgresCluster;
const opened: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  cluster = await startPostgres();
});
afterAll(() => cluster?.stop());
afterEach(async () => {
  for (const item of opened.splice(0).reverse()) await item.close();
});

/** `count` replicas' pools on one fresh, migrated database. */
async function replicas(count: number): Promise<SharedDb[]> {
  const url = await cluster.createDatabase();
  const dbs: SharedDb[] = [];
  for (let i = 0; i < count; i++) {
    const db = await (i === 0 ? migrateThenConnect(url) : connectSharedDb(url, { max: 2 }));
    opened.push(db);
    dbs.push(db);
  }
  return dbs;
}

async function migrateThenConnect(url: string): Promise<SharedDb> {
  const sql = openPool(parseStateUrl(url), { max: 1 });
  await migrate(sql);
  await sql.end();
  return connectSharedDb(url, { max: 2 });
}

/** A channel on `db` that collects what it receives. */
async function listener(db: SharedDb): Promise<{ channel: PeerChannel; received: unknown[][]; errors: unknown[] }> {
  const received: unknown[][] = [];
  const errors: unknown[] = [];
  const channel = await openPeerChannel(db, { receive: (messages) => received.push(messages), onSendError: (error) => errors.push(error) });
  opened.push(channel);
  return { channel, received, errors };
}

describe('peer messages over NOTIFY', () => {
  it('reaches every other replica once, in one batch, and never its sender', async () => {
    const [a, b, c] = await replicas(3);
    const [left, middle, right] = [await listener(a!), await listener(b!), await listener(c!)];
    left.channel.send({ topic: 't', payload: 1 });
    left.channel.send({ topic: 't', payload: 2 });
    await vi.waitFor(() => expect(middle.received.length + right.received.length).toBe(2), { timeout: 5_000 });
    // A later batch from another sender tells us the first has been delivered everywhere it will be.
    middle.channel.send({ topic: 'done', payload: null });
    await vi.waitFor(() => expect(left.received).toHaveLength(1), { timeout: 5_000 });
    await vi.waitFor(() => expect(right.received).toHaveLength(2), { timeout: 5_000 });
    expect(middle.received).toEqual([[{ topic: 't', payload: 1 }, { topic: 't', payload: 2 }]]);
    expect(right.received).toEqual([[{ topic: 't', payload: 1 }, { topic: 't', payload: 2 }], [{ topic: 'done', payload: null }]]);
    expect(left.received).toEqual([[{ topic: 'done', payload: null }]]);
    expect([left.errors, middle.errors, right.errors]).toEqual([[], [], []]);
  });

  it('splits a batch larger than a NOTIFY payload and joins it whole on the other side', async () => {
    const [a, b] = await replicas(2);
    const [sender, receiver] = [await listener(a!), await listener(b!)];
    // 3,000 throttle keys with multi-byte characters: about 150 kB, twenty-odd fragments.
    const hits = Array.from({ length: 3_000 }, (_, i) => ({ key: `client-é€😀-${i}\u0000198.51.100.${i % 256}`, count: 1 + (i % 7), perMinute: 10 }));
    sender.channel.send({ topic: 'oauth-throttles', payload: { clientAuthFailures: hits } });
    await vi.waitFor(() => expect(receiver.received).toHaveLength(1), { timeout: 10_000 });
    expect(receiver.received[0]).toEqual([{ topic: 'oauth-throttles', payload: { clientAuthFailures: hits } }]);
    expect(Buffer.byteLength(JSON.stringify(hits))).toBeGreaterThan(10 * MAX_NOTIFY_BYTES);
    expect(sender.errors).toEqual([]);
  });

  it('drops a batch JSON cannot carry, says so, and sends the next', async () => {
    const [a, b] = await replicas(2);
    const [sender, receiver] = [await listener(a!), await listener(b!)];
    sender.channel.send({ topic: 't', payload: 1n });
    await vi.waitFor(() => expect(sender.errors).toHaveLength(1), { timeout: 5_000 });
    sender.channel.send({ topic: 't', payload: 2 });
    await vi.waitFor(() => expect(receiver.received).toEqual([[{ topic: 't', payload: 2 }]]), { timeout: 5_000 });
    expect(String(sender.errors[0])).toContain('BigInt');
  });
});

describe('fragments', () => {
  it('keeps every payload within the limit and never cuts a character in two', () => {
    const text = JSON.stringify(Array.from({ length: 500 }, (_, i) => `é€😀${i}`));
    const parts = fragments('replica-1', 7, text, 100);
    expect(parts.length).toBeGreaterThan(20);
    for (const part of parts) {
      expect(Buffer.byteLength(part)).toBeLessThanOrEqual(100);
      expect(part).not.toContain('\ufffd');
    }
    const joiner = new FragmentJoiner('replica-2');
    const results = parts.map((part) => joiner.take(part));
    expect(results.slice(0, -1).every((result) => result === undefined)).toBe(true);
    expect(results.at(-1)).toEqual(JSON.parse(text));
  });

  it("ignores its own replica's batches and anything that is not a batch", () => {
    const joiner = new FragmentJoiner('me');
    expect(joiner.take(fragments('me', 1, '[1]')[0]!)).toBeUndefined();
    expect(joiner.take('not a header')).toBeUndefined();
    expect(joiner.take('other 1 0 1 {not json')).toBeUndefined();
    expect(joiner.take('other 1 0 1 {"an":"object"}')).toBeUndefined();
    expect(joiner.take('other 1 2 1 [1]')).toBeUndefined();
    expect(joiner.take(fragments('other', 2, '[1]')[0]!)).toEqual([1]);
  });
});
