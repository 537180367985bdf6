// `mergekey serve --workers 2 --state postgres://…` as an operator runs it, beside another replica
// on the same PostgreSQL (here the test itself, through replica-peers.ts as any replica's primary
// is): what the workers' throttles count reaches the other replica, through the primary's NOTIFY;
// what the other replica counts reaches both workers, which then refuse with 429 and Retry-After.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import type { SharedHits } from '../oauth/plugin.ts';
import { connectSharedDb, type SharedDb } from '../store/postgres/db.ts';
import { startPostgres, type PostgresCluster } from '../../test/support/postgres.ts';
import { postForm, type RawResponse } from '../../test/support/oauth-server.ts';
import { sealedRepo, serveChild, type SealedRepo, type ServeChild } from '../../test/support/serve-child.ts';
import { basicAuthorization } from '../oauth/basic.ts';
import { openReplicaPeers, type ReplicaPeers } from './replica-peers.ts';

let cluster: PostgresCluster;
let fixture: SealedRepo;
let server: ServeChild;
let url: string;
let db: SharedDb;
let other: ReplicaPeers;
const heard: SharedHits[] = [];

beforeAll(async () => {
  cluster = await startPostgres();
  const state = await cluster.createDatabase();
  fixture = await sealedRepo();
  server = serveChild(['--repo', fixture.repo.path, '--data', fixture.data, '--port', '0', '--poll', '0', '--workers', '2', '--state', state, '--migrate']);
  url = await server.url();
  db = await connectSharedDb(state, { max: 2 });
  other = await openReplicaPeers(db, pino({ level: 'silent' }));
  other.subscribe('oauth-throttles', (payload) => heard.push(payload as SharedHits));
}, 60_000);

afterAll(async () => {
  await other?.close();
  await db?.close();
  expect(await server?.stop()).toBe(0);
  fixture?.remove();
  await cluster?.stop();
});

/** A token request on a connection of its own: node:cluster gives each to the next worker in turn. */
const token = (): Promise<RawResponse> =>
  postForm(`${url}/oauth2/token`, 'grant_type=client_credentials&scope=orders%3Aread', {
    authorization: basicAuthorization(fixture.clients.billing!.clientId, fixture.clients.billing!.secret),
  });

describe('throttles between a `--workers 2` replica and another replica', () => {
  it("carry a worker's events to the other replica, and the other replica's to both workers", { timeout: 60_000 }, async () => {
    expect((await token()).status).toBe(200);
    // The worker told its primary, which NOTIFYed: the other replica heard billing's request.
    await vi.waitFor(() => expect(heard.flatMap((hits) => hits.requests ?? []).map((hit) => hit.key)).toContain('billing'), { timeout: 10_000, interval: 20 });
    const perMinute = heard.flatMap((hits) => hits.requests ?? []).find((hit) => hit.key === 'billing')!.perMinute;

    // The other replica admitted ten minutes' worth: once that arrives, neither worker admits more.
    other.publish('oauth-throttles', { requests: [{ key: 'billing', count: perMinute * 10, perMinute }] } satisfies SharedHits);
    let refused: RawResponse[] = [];
    await vi.waitFor(
      async () => {
        // Two refusals in a row are both workers'.
        refused = [await token(), await token()];
        expect(refused.map((answer) => answer.status)).toEqual([429, 429]);
      },
      { timeout: 20_000, interval: 20 },
    );
    for (const answer of refused) {
      expect(answer.body).toMatchObject({ error: 'slow_down' });
      // About ten minutes: the other replica's events, not the few admitted here.
      expect(Number(answer.headers['retry-after'])).toBeGreaterThan(8 * 60);
    }
  });
});
