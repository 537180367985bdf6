// Request logs: each request's lines carry its request id, whether the child logger behind them
// was made at once (debug) or only when the request first logged (the default level).
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from './app.ts';
import { createLogger } from './logging.ts';
import { createMetrics } from './metrics.ts';

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function appLogging(level: string): Promise<{ app: FastifyInstance; lines: Record<string, unknown>[] }> {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const built = await buildApp({
    logger: createLogger(level, sink),
    sync: { sync: async () => undefined },
    metrics: createMetrics(() => undefined, { defaultMetrics: false }),
    transport: { issuer: 'http://auth.example.com' },
    sealingKey: {},
    plugins: [
      async (instance) => {
        instance.get('/note', async (request) => {
          request.log.info({ secret: 'do-not-log-me' }, 'a note');
          request.log.debug('a detail');
          return { ok: true };
        });
        instance.get('/fail', async () => {
          throw new Error('broken');
        });
      },
    ],
  });
  return { app: built, lines };
}

describe('request logs', () => {
  it('at info, logs what a request logs at info and above, with its request id, and nothing for a quiet success', async () => {
    const logged = await appLogging('info');
    app = logged.app;
    expect((await app.inject({ url: '/.well-known/mergekey-sealing-key' })).statusCode).toBe(200);
    expect(logged.lines).toEqual([]);
    expect((await app.inject({ url: '/note' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/fail' })).statusCode).toBe(500);
    const [note, failed, ...rest] = logged.lines;
    expect(note).toMatchObject({ msg: 'a note', secret: '[redacted]', reqId: expect.any(String) });
    expect(failed).toMatchObject({ level: 50, reqId: expect.any(String) });
    expect(failed!.reqId).not.toBe(note!.reqId);
    expect(rest.every((line) => line.reqId === failed!.reqId)).toBe(true);
    expect(JSON.stringify(logged.lines)).not.toContain('do-not-log-me');
  });

  it('at debug, writes the access log lines of every request with its request id', async () => {
    const logged = await appLogging('debug');
    app = logged.app;
    await app.inject({ url: '/note' });
    expect(logged.lines.map((line) => line.msg)).toEqual(['incoming request', 'a note', 'a detail', 'request completed']);
    expect(new Set(logged.lines.map((line) => line.reqId)).size).toBe(1);
    expect(logged.lines[0]!.reqId).toEqual(expect.any(String));
  });
});
