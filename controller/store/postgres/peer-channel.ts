// Messages between replicas over PostgreSQL's LISTEN/NOTIFY (issue 13): what one replica's
// processes publish for their peers (what their throttles counted) reaches the other replicas.
// Nothing is stored: a replica that is not listening (starting, or reconnecting after the
// server went away) misses what was sent meanwhile, and the client's listener reconnects by itself.
//
// A NOTIFY payload must be shorter than 8000 bytes. Messages queued in one turn of the event loop
// are sent together as one JSON array, cut into fragments that fit, all NOTIFYed in one statement
// (one transaction: PostgreSQL delivers a transaction's notifications together and in order).
// Each fragment starts with a header `<replica id> <batch> <index> <count> `: a replica ignores its
// own batches (its listening connection hears them too), and joins the fragments of the others'.
import { randomUUID } from 'node:crypto';
import { postgresError } from './connect.ts';
import { settledWithin, type SharedDb } from './db.ts';

/** The one channel replicas' peer messages travel on. */
export const PEERS_CHANNEL = 'mergekey_peers';

/** PostgreSQL's limit: a payload must be shorter than 8000 bytes (in the server's encoding, UTF-8). */
export const MAX_NOTIFY_BYTES = 7999;

export interface PeerChannel {
  /** This replica's id, random per opening. */
  readonly replicaId: string;
  /** Queues a message for the other replicas; sent with the others queued in the same turn. */
  send(message: unknown): void;
  /** Sends what is queued, stops listening. */
  close(): Promise<void>;
}

export interface PeerChannelOptions {
  /** Called with each batch another replica sent, in its order. */
  receive(messages: unknown[]): void;
  /** A batch not sent, its messages lost: the server unreachable (a StoreError), or a message JSON cannot carry. */
  onSendError?(error: unknown): void;
  /** A batch was sent (after failures: the server answers again). */
  onSent?(): void;
  channel?: string;
}

/** Listens on the channel (resolves once listening) and returns the way to send on it. Throws StoreError. */
export async function openPeerChannel(db: SharedDb, options: PeerChannelOptions): Promise<PeerChannel> {
  const channel = options.channel ?? PEERS_CHANNEL;
  const replicaId = randomUUID();
  const joiner = new FragmentJoiner(replicaId);
  const listening = await db.sql
    .listen(channel, (payload) => {
      const messages = joiner.take(payload);
      try {
        if (messages !== undefined) options.receive(messages);
      } catch {
        // A receiver's failure is its own: the listening connection keeps delivering the next.
      }
    })
    .catch((error: unknown) => {
      throw postgresError(error, db.url);
    });
  let queue: unknown[] = [];
  let batch = 0;
  const inFlight = new Set<Promise<void>>();
  const flush = () => {
    if (queue.length === 0) return;
    let parts: string[];
    try {
      parts = fragments(replicaId, ++batch, JSON.stringify(queue));
    } catch (error) {
      // A message JSON cannot carry (a BigInt, a cycle) is dropped with its batch, not thrown from a timer.
      options.onSendError?.(error);
      return;
    } finally {
      queue = [];
    }
    const sending = db.sql`select pg_notify(${channel}, part) from unnest(${parts}::text[]) with ordinality as t(part, n) order by n`
      .then(() => options.onSent?.(), (error: unknown) => options.onSendError?.(postgresError(error, db.url)));
    inFlight.add(sending);
    void sending.finally(() => inFlight.delete(sending));
  };
  let closed = false;
  return {
    replicaId,
    send(message) {
      if (closed) return;
      if (queue.length === 0) setImmediate(flush);
      queue.push(message);
    },
    async close() {
      closed = true;
      flush();
      // Bounded: a frozen server would otherwise hold the stop (their counts are lost either way).
      await settledWithin(Promise.all(inFlight).then(() => listening.unlisten()));
    },
  };
}

/**
 * Cuts `text` into NOTIFY payloads of at most `maxBytes` bytes each, header included, never
 * inside a UTF-8 sequence.
 */
export function fragments(replicaId: string, batch: number, text: string, maxBytes = MAX_NOTIFY_BYTES): string[] {
  const bytes = Buffer.from(text, 'utf8');
  // The header's length depends on the count; the longest header a count below 10⁶ can need.
  const room = maxBytes - Buffer.byteLength(`${replicaId} ${batch} 999999 999999 `);
  if (room < 4) throw new Error(`a NOTIFY payload of ${maxBytes} bytes leaves no room after its header`);
  const bodies: Buffer[] = [];
  for (let start = 0; start < bytes.length; ) {
    let end = Math.min(start + room, bytes.length);
    // Back off continuation bytes (10xxxxxx) so that a character is never cut in two.
    while (end < bytes.length && (bytes[end]! & 0xc0) === 0x80) end--;
    bodies.push(bytes.subarray(start, end));
    start = end;
  }
  return bodies.map((body, index) => `${replicaId} ${batch} ${index} ${bodies.length} ${body.toString('utf8')}`);
}

const HEADER = /^(\S+) (\d+) (\d+) (\d+) /;

/** Joins the fragments of other replicas' batches; ignores its own replica's and anything malformed. */
export class FragmentJoiner {
  /** Batches being joined, by `<replica> <batch>`; a batch whose fragments were lost is dropped. */
  readonly #partial = new Map<string, string[]>();

  constructor(private readonly ownId: string) {}

  /** The batch's messages once its last fragment arrived; otherwise undefined. */
  take(payload: string): unknown[] | undefined {
    const header = HEADER.exec(payload);
    if (header === null) return undefined;
    const [prefix, replica, batch, indexText, countText] = header as unknown as [string, string, string, string, string];
    if (replica === this.ownId) return undefined;
    const index = Number(indexText);
    const count = Number(countText);
    if (!(index < count)) return undefined;
    const body = payload.slice(prefix.length);
    if (count === 1) return parse(body);
    const key = `${replica} ${batch}`;
    let parts = this.#partial.get(key);
    if (parts === undefined) {
      // Fragments of one batch arrive together; more than a few open batches means some were lost.
      if (this.#partial.size >= 16) this.#partial.clear();
      this.#partial.set(key, (parts = []));
    }
    parts[index] = body;
    if (parts.filter((part) => part !== undefined).length < count) return undefined;
    this.#partial.delete(key);
    return parse(parts.join(''));
  }
}

function parse(text: string): unknown[] | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}
