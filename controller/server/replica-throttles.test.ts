// Throttles across replicas (`--state postgres://…`): two OAuth servers with throttles of their
// own, each with its own pool on one real PostgreSQL (test/support/postgres.ts) and its own
// replica peers (replica-peers.ts) carrying the 50 ms exchange over NOTIFY. A plan's token request
// rate holds across both (exactly, when each exchange arrives before the next request; within the
// bound of throttle-sharing.ts in a burst), failed client authentications on one count on the
// other, and a replica does not count its own events a second time when NOTIFY echoes them.
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { basicAuthorization } from '../oauth/basic.ts';
import type { SharedHits, ThrottleSharing } from '../oauth/plugin.ts';
import { connectSharedDb } from '../store/postgres/db.ts';
import { postForm, startTestServer, type RawResponse, type TestClient, type TestServer } from '../../test/support/oauth-server.ts';
import { sharedDatabases } from '../../test/support/shared-db.ts';
import { openReplicaPeers } from './replica-peers.ts';
import { throttleSharingWith } from './start.ts';

const PER_MINUTE = 10;
const silent = pino({ level: 'silent' });

const pg = sharedDatabases();
const { onCleanup } = pg;

/** One replica's side: where it answers, and the events of each throttle it heard from the other. */
interface Replica {
  url(path: string): string;
  heard: Record<string, number>;
}

/**
 * Two replicas on one fresh database, their clock fixed (no throttle recovers during the test),
 * and an application on a plan of PER_MINUTE token requests per minute.
 */
async function twoReplicas(options: { clientAuthFailuresPerMinute?: number } = {}): Promise<{ a: Replica; b: Replica; app: TestClient; server: TestServer }> {
  const { url } = await pg.freshDatabase();
  const sides = [];
  for (let i = 0; i < 2; i++) {
    const db = await connectSharedDb(url, { max: 2 });
    onCleanup(() => db.close());
    const peers = await openReplicaPeers(db, silent);
    onCleanup(() => peers.close());
    const heard: Record<string, number> = {};
    sides.push({ sharing: counting(throttleSharingWith(peers), heard), heard });
  }
  const fixed = Date.now();
  const server = await startTestServer(options, { throttleSharing: sides[0]!.sharing, clock: () => fixed });
  onCleanup(() => server.close());
  const other = await server.another({ throttleSharing: sides[1]!.sharing });
  onCleanup(() => other.close());
  const plan = server.raw.plans.get('standard')!;
  await server.raw.plans.put('ten', { ...plan, name: 'ten', path: 'plans/ten.yaml', spec: { ...plan.spec, tokenRequestsPerMinute: PER_MINUTE } });
  const app = await server.addApp('metered', { plan: 'ten' });
  return { a: { url: server.url, heard: sides[0]!.heard }, b: { url: other.url, heard: sides[1]!.heard }, app, server };
}

/** The sharing, counting what it delivers by throttle. */
function counting(sharing: ThrottleSharing, heard: Record<string, number>): ThrottleSharing {
  return {
    publish: (hits) => sharing.publish(hits),
    subscribe: (receive) =>
      sharing.subscribe((hits: SharedHits) => {
        for (const [name, list] of Object.entries(hits)) heard[name] = (heard[name] ?? 0) + (list ?? []).reduce((sum, hit) => sum + hit.count, 0);
        receive(hits);
      }),
  };
}

function token(replica: Replica, app: TestClient, secret = app.secret!): Promise<RawResponse> {
  return postForm(replica.url('/oauth2/token'), 'grant_type=client_credentials', { authorization: basicAuthorization(app.client.client_id, secret) });
}

/** Waits until `replica` has heard `count` events of `throttle` from the other. */
async function heard(replica: Replica, throttle: string, count: number): Promise<void> {
  await vi.waitFor(() => expect(replica.heard[throttle] ?? 0).toBe(count), { timeout: 10_000, interval: 10 });
}

function expectSlowDown(response: RawResponse): void {
  expect(response.status).toBe(429);
  expect(response.body).toMatchObject({ error: 'slow_down' });
  expect(Number(response.headers['retry-after'])).toBeGreaterThanOrEqual(1);
}

describe("a plan's token request rate across two replicas", () => {
  it('admits exactly the plan when each exchange arrives before the next request, then both refuse with 429 and Retry-After', async () => {
    const { a, b, app } = await twoReplicas();
    const admitted = { a: 0, b: 0 };
    for (let i = 0; i < PER_MINUTE; i++) {
      // Alternately: the one that answered has its event heard by the other before the next
      // request. Waiting on the *other* side also means a replica's own NOTIFY, sent earlier,
      // has come back to it by then: were it counted, fewer than PER_MINUTE would pass.
      const [here, there, name] = i % 2 === 0 ? [a, b, 'a' as const] : [b, a, 'b' as const];
      expect((await token(here, app)).status).toBe(200);
      admitted[name]++;
      await heard(there, 'requests', admitted[name]);
    }
    expect(admitted).toEqual({ a: PER_MINUTE / 2, b: PER_MINUTE / 2 });
    expectSlowDown(await token(a, app));
    expectSlowDown(await token(b, app));
    // A refusal is not an event: nothing more was sent.
    expect([a.heard.requests, b.heard.requests]).toEqual([PER_MINUTE / 2, PER_MINUTE / 2]);
  });

  it('stays within the documented bound in a burst over both, and both refuse once the exchange has run', async () => {
    const { a, b, app } = await twoReplicas();
    // 3× the plan at once, half to each: neither has heard of the other's before it answers.
    const responses = await Promise.all(Array.from({ length: 3 * PER_MINUTE }, (_, i) => token(i % 2 === 0 ? a : b, app)));
    const ok = responses.filter((response) => response.status === 200).length;
    // throttle-sharing.ts: R replicas admit at most the plan plus what the others admit before
    // hearing of it, each at most the plan itself: here between PER_MINUTE and 2 × PER_MINUTE.
    expect(ok).toBeGreaterThanOrEqual(PER_MINUTE);
    expect(ok).toBeLessThanOrEqual(2 * PER_MINUTE);
    for (const response of responses.filter((r) => r.status !== 200)) expectSlowDown(response);
    const admittedBy = (replica: Replica) => responses.filter((response, i) => response.status === 200 && (i % 2 === 0 ? a : b) === replica).length;
    await heard(a, 'requests', admittedBy(b));
    await heard(b, 'requests', admittedBy(a));
    expectSlowDown(await token(a, app));
    expectSlowDown(await token(b, app));
  });
});

describe('failed client authentications across two replicas', () => {
  it('counts the failures on one replica on the other: the right secret is then refused there too', async () => {
    const { a, b, app } = await twoReplicas({ clientAuthFailuresPerMinute: 3 });
    for (let i = 0; i < 3; i++) expect((await token(a, app, 'not-the-secret')).status).toBe(401);
    await heard(b, 'clientAuthFailures', 3);
    const refused = await token(b, app);
    expectSlowDown(refused);
    expect(refused.body).toMatchObject({ error_description: 'too many failed client authentications; retry later' });
    expectSlowDown(await token(a, app));
  });
});
