// Requests between the primary and its workers over node:cluster's IPC channel: a worker asks the
// primary for the reconciler's status or a sync; the primary asks each worker for its metrics (for
// the operator listener's /metrics). Each request carries an id; its answer (or error) comes back with it.
// Workers also send messages for their peers (what their throttles counted, say), which the
// primary passes on to every other worker.
import { LIMITS } from '../config/defaults.ts';
import type { ReconcileStatus } from '../reconcile/failures.ts';
import type { RunStatus } from '../store/sync-records.ts';

/** What each side can be asked, and what it answers. */
export type PrimaryCalls = {
  status: { input: undefined; output: ReconcileStatus };
  sync: { input: { reason: string; acceptHistoryRewrite?: string }; output: RunStatus | null };
};

export type WorkerCalls = {
  /** The worker's registry as prom-client JSON, for aggregation. */
  metrics: { input: undefined; output: unknown[] };
};

type Calls = Record<string, { input: unknown; output: unknown }>;

/**
 * Messages that are not requests: a worker is listening or failed to start; a worker must stop;
 * a worker must read its TLS certificate again (the primary got SIGHUP); a worker's store can or
 * cannot write.
 */
export type Notice =
  | { type: 'mergekey:listening'; url: string }
  | { type: 'mergekey:failed'; message: string }
  | { type: 'mergekey:stop' }
  | { type: 'mergekey:reload-tls' }
  /** A worker's store cannot write (a full disk), or can again (null): the primary's readiness says so. */
  | { type: 'mergekey:store-problem'; problem: string | null };

/** A message from one worker to all the others, passed on by the primary; one topic per feature. */
export interface PeerMessage {
  type: 'mergekey:peers';
  topic: string;
  payload: unknown;
}

interface Request {
  type: 'mergekey:request';
  id: number;
  op: string;
  input: unknown;
}

interface Response {
  type: 'mergekey:response';
  id: number;
  output?: unknown;
  error?: string;
}

export interface Channel {
  /**
   * node:cluster's `send`. With a callback, a failed send (the other process gone) is reported to
   * it; without one it would be an 'error' event, which nobody handles, and would end the process.
   */
  send(message: unknown, callback: (error: Error | null) => void): void;
  on(event: 'message', listener: (message: unknown) => void): void;
  off(event: 'message', listener: (message: unknown) => void): void;
}

export type Handlers<C extends Calls> = { [K in keyof C]: (input: C[K]['input']) => C[K]['output'] | Promise<C[K]['output']> };

export class IpcTimeout extends Error {
  override readonly name = 'IpcTimeout';
}

/**
 * One end of the channel: answers the requests the other side makes (`Mine`) and makes requests
 * of it (`Theirs`). `close()` fails what is still waiting.
 */
export class Rpc<Mine extends Calls, Theirs extends Calls> {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void; timer: NodeJS.Timeout }>();
  private readonly listener = (message: unknown) => void this.receive(message);

  constructor(
    private readonly channel: Channel,
    private readonly handlers: Handlers<Mine>,
    private readonly timeoutMs: number = LIMITS.ipcTimeoutMs,
  ) {
    channel.on('message', this.listener);
  }

  call<K extends keyof Theirs & string>(op: K, input: Theirs[K]['input'], timeoutMs = this.timeoutMs): Promise<Theirs[K]['output']> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new IpcTimeout(`no answer to ${op} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
      const failed = (error: unknown) => {
        if (!this.pending.has(id)) return;
        clearTimeout(timer);
        this.pending.delete(id);
        reject(error instanceof Error ? error : new Error(String(error)));
      };
      try {
        this.channel.send({ type: 'mergekey:request', id, op, input } satisfies Request, (error) => {
          if (error !== null) failed(error);
        });
      } catch (error) {
        failed(error);
      }
    });
  }

  close(): void {
    this.channel.off('message', this.listener);
    for (const [id, waiting] of this.pending) {
      clearTimeout(waiting.timer);
      waiting.reject(new Error('the channel closed'));
      this.pending.delete(id);
    }
  }

  private async receive(message: unknown): Promise<void> {
    if (!isObject(message)) return;
    if (message.type === 'mergekey:response') {
      const response = message as unknown as Response;
      const waiting = this.pending.get(response.id);
      if (waiting === undefined) return;
      this.pending.delete(response.id);
      clearTimeout(waiting.timer);
      if (response.error !== undefined) waiting.reject(new Error(response.error));
      else waiting.resolve(response.output);
      return;
    }
    if (message.type !== 'mergekey:request') return;
    const request = message as unknown as Request;
    const reply = (answer: Omit<Response, 'type' | 'id'>) => {
      try {
        // A failed send needs nothing: the other side is gone, and nobody waits for the answer.
        this.channel.send({ type: 'mergekey:response', id: request.id, ...answer } satisfies Response, () => {});
      } catch {
        // As above, when the channel says so at once.
      }
    };
    const handler = (this.handlers as Record<string, ((input: unknown) => unknown) | undefined>)[request.op];
    if (handler === undefined) return reply({ error: `unknown request ${String(request.op)}` });
    try {
      reply({ output: await handler(request.input) });
    } catch (error) {
      reply({ error: error instanceof Error ? error.message : String(error) });
    }
  }
}

export function isNotice(message: unknown): message is Notice {
  return isObject(message) && typeof message.type === 'string' && ['mergekey:listening', 'mergekey:failed', 'mergekey:stop', 'mergekey:reload-tls', 'mergekey:store-problem'].includes(message.type);
}

export function isPeerMessage(message: unknown): message is PeerMessage {
  return isObject(message) && message.type === 'mergekey:peers' && typeof message.topic === 'string';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
