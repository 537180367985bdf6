// The request/answer protocol between the primary and its workers, over a pair of in-memory
// channels that deliver asynchronously, as node:cluster's IPC does.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { IpcTimeout, Rpc, type Channel } from './ipc.ts';

function pair(): [Channel, Channel] {
  const a = new EventEmitter();
  const b = new EventEmitter();
  const end = (self: EventEmitter, other: EventEmitter): Channel => ({
    send: (message, callback) =>
      void setImmediate(() => {
        other.emit('message', JSON.parse(JSON.stringify(message)));
        callback(null);
      }),
    on: (event, listener) => void self.on(event, listener),
    off: (event, listener) => void self.off(event, listener),
  });
  return [end(a, b), end(b, a)];
}

type Calls = {
  double: { input: number; output: number };
  fail: { input: undefined; output: never };
  never: { input: undefined; output: never };
};

describe('Rpc', () => {
  it('answers each request with its own result, and reports a failed handler as an error', async () => {
    const [primary, worker] = pair();
    new Rpc<Calls, Record<string, never>>(primary, {
      double: async (n) => n * 2,
      fail: () => { throw new Error('the reconciler is busy'); },
      never: () => new Promise<never>(() => {}),
    });
    const client = new Rpc<Record<string, never>, Calls>(worker, {});
    expect(await Promise.all([client.call('double', 2), client.call('double', 21)])).toEqual([4, 42]);
    await expect(client.call('fail', undefined)).rejects.toThrow('the reconciler is busy');
    await expect(client.call('never', undefined, 20)).rejects.toBeInstanceOf(IpcTimeout);
  });

  it('refuses an operation the other side does not handle, and fails what waits when closed', async () => {
    const [primary, worker] = pair();
    new Rpc<Record<string, never>, Record<string, never>>(primary, {});
    const client = new Rpc<Record<string, never>, Calls>(worker, {});
    await expect(client.call('double', 1)).rejects.toThrow('unknown request double');
    const waiting = client.call('double', 1, 60_000);
    client.close();
    await expect(waiting).rejects.toThrow('the channel closed');
  });

  it('fails a request at once when the channel cannot send it, as when the other process is gone', async () => {
    const closed: Channel = {
      send: (_message, callback) => void setImmediate(() => callback(Object.assign(new Error('Channel closed'), { code: 'ERR_IPC_CHANNEL_CLOSED' }))),
      on: () => {},
      off: () => {},
    };
    const client = new Rpc<Record<string, never>, Calls>(closed, {}, 60_000);
    await expect(client.call('double', 2)).rejects.toThrow('Channel closed');
  });
});
