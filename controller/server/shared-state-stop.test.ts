// `mergekey serve --state postgres://…` stopping while PostgreSQL is frozen (SIGSTOP, as across a
// network partition): the stop ends within Kubernetes's default grace period (30 s),
// though what it would still tell the other replicas (throttle counts) and its LISTENs' ends
// cannot reach the server.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { resolveServeConfig } from '../config/defaults.ts';
import { startPostgres, type PostgresCluster } from '../../test/support/postgres.ts';
import { send } from '../../test/support/oauth-server.ts';
import { serverDeps } from '../../test/support/server.ts';
import { sealedRepo, type SealedRepo } from '../../test/support/serve-child.ts';
import { startServer } from './start.ts';

let cluster: PostgresCluster;
let f: SealedRepo;

beforeAll(async () => {
  cluster = await startPostgres();
  f = await sealedRepo();
}, 60_000);
afterAll(async () => {
  await cluster?.resumeServer().catch(() => undefined);
  f?.remove();
  await cluster?.stop();
});

it('stops within its bounds while PostgreSQL is frozen, counts for the other replicas pending', { timeout: 120_000 }, async () => {
  const state = await cluster.createDatabase();
  const config = resolveServeConfig({ repo: f.repo.path, data: f.data, port: '0', poll: '0', workers: '1', 'log-level': 'silent', state, migrate: 'true' }, {});
  const server = await startServer(config, { ...serverDeps, logDestination: new Writable({ write: (_chunk, _encoding, done) => done() }) });
  await server.initialSync;
  await cluster.pauseServer();
  // A failed client authentication: the throttles count it and publish the count to the others.
  const refused = await send('POST', `${server.url}/oauth2/token`, {
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${f.clients.billing!.clientId}:wrong`).toString('base64')}` },
    body: 'grant_type=client_credentials',
  });
  expect(refused.status).toBe(401);
  // Let the throttle exchange (50 ms) hand the count to the channel, whose NOTIFY then waits on the frozen server.
  await new Promise((resolve) => setTimeout(resolve, 300));
  let timer: NodeJS.Timeout | undefined;
  const stopped = await Promise.race([
    server.close().then(() => 'stopped'),
    new Promise((resolve) => (timer = setTimeout(() => resolve('still stopping after 30 s'), 30_000))),
  ]);
  clearTimeout(timer);
  await cluster.resumeServer();
  expect(stopped).toBe('stopped');
});
