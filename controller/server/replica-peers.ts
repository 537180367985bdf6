// The peers of the other replicas (`--state postgres://…`, issue 13): what this replica's
// processes publish for their peers also goes to every other replica over PostgreSQL NOTIFY
// (store/postgres/peer-channel.ts), and what the others publish comes back here. The process that
// reconciles owns it: alone, it serves `Peers` to its own OAuth server and portal; as the primary
// of `--workers N`, it forwards its workers' messages and hands the others' to every worker.
import type { Logger } from 'pino';
import type { SharedDb } from '../store/postgres/db.ts';
import { openPeerChannel, type PeerChannel } from '../store/postgres/peer-channel.ts';
import type { PeerMessage } from './ipc.ts';
import type { Peers } from './start.ts';

export interface ReplicaPeers extends Peers {
  /** Calls `receive` with every message another replica published, whatever its topic. */
  onMessage(receive: (message: PeerMessage) => void): () => void;
  /** Sends what is queued and stops listening (before the pool closes). */
  close(): Promise<void>;
}

/** Listens for the other replicas' messages (resolves once listening). */
export async function openReplicaPeers(shared: SharedDb, logger: Logger): Promise<ReplicaPeers> {
  const receivers = new Set<(message: PeerMessage) => void>();
  let failing = false;
  const channel: PeerChannel = await openPeerChannel(shared, {
    receive(messages) {
      for (const message of messages) {
        if (!isTopicMessage(message)) continue;
        const peerMessage: PeerMessage = { type: 'mergekey:peers', topic: message.topic, payload: message.payload };
        for (const receive of receivers) receive(peerMessage);
      }
    },
    onSent() {
      if (failing) logger.info('telling the other replicas what this one counts again');
      failing = false;
    },
    onSendError(error) {
      // Said once per outage, not every exchange interval; the throttles' bound then widens (throttle-sharing.ts).
      if (failing) return;
      failing = true;
      logger.warn({ err: error }, 'cannot tell the other replicas what this one counted; each counts alone until the shared database answers');
    },
  });
  const onMessage = (receive: (message: PeerMessage) => void) => {
    receivers.add(receive);
    return () => void receivers.delete(receive);
  };
  return {
    publish: (topic, payload) => channel.send({ topic, payload }),
    subscribe: (topic, receive) => onMessage((message) => message.topic === topic && receive(message.payload)),
    onMessage,
    close: () => channel.close(),
  };
}

function isTopicMessage(value: unknown): value is { topic: string; payload: unknown } {
  return typeof value === 'object' && value !== null && typeof (value as { topic?: unknown }).topic === 'string';
}
