// Faults of several replicas (issue 13, README "Running several replicas"), on two real
// `mergekey serve --state postgres://…` processes over one PostgreSQL (test/support/replicas.ts):
// the database stopped and started again under both, a replica SIGKILLed under load, and a
// replica started on a schema newer than it knows.
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { knownMigrations } from '../../controller/store/postgres/migrate.ts';
import { migrateDatabase, startReplicas, type Answer, type Replica, type ReplicaSet } from '../support/replicas.ts';
import { postOnNewConnection } from '../support/serve-child.ts';
import { waitFor } from '../support/server.ts';

let replicas: ReplicaSet;
let a: Replica;
let b: Replica;

beforeAll(async () => {
  replicas = await startReplicas();
  ({ a, b } = replicas);
}, 120_000);

afterAll(async () => {
  await replicas?.close();
});

const billingToken = (on: Replica) => on.token('billing', 'client_credentials', { scope: 'orders:read' });
const signIn = (on: Replica) => on.token('mobile', 'password', { username: 'alice', password: replicas.passwords.alice, scope: 'orders:read' });
const readiness = async (on: Replica) => {
  const response = await fetch(`${on.adminUrl}/readyz`);
  return { status: response.status, body: (await response.json()) as { ready: boolean; message?: string } };
};
const getStatus = async (url: string) => (await fetch(url)).status;

/** The ids of every live token of `app` in its token listing on `on`, page after page. */
async function listedIds(on: Replica, app: 'billing'): Promise<Set<string>> {
  const ids = new Set<string>();
  const authorization = `Basic ${Buffer.from(`${app}-client-0001:${replicas.clients[app].secret!}`).toString('base64')}`;
  let after: string | undefined;
  do {
    const response = await fetch(`${on.url}/api/v1/apps/${app}/tokens?limit=1000${after === undefined ? '' : `&after=${encodeURIComponent(after)}`}`, { headers: { authorization } });
    expect(response.status).toBe(200);
    const page = (await response.json()) as { tokens: { id: string }[]; next?: string };
    for (const token of page.tokens) ids.add(token.id);
    after = page.next;
  } while (after !== undefined);
  return ids;
}

describe('PostgreSQL down', () => {
  it('fails closed on both replicas (503 with Retry-After, not ready), keeps metadata and JWKS, and recovers without a restart', { timeout: 90_000 }, async () => {
    const live = (await billingToken(a)).body.access_token as string;
    const signedIn = (await signIn(b)).body;
    const pids = [a.child.proc.pid, b.child.proc.pid];

    await replicas.cluster.stopServer();
    try {
      for (const on of [a, b]) {
        await waitFor(async () => (await readiness(on)).status === 503, `replica ${on.name} to notice the outage`, 30_000);
        // Each serving process meets the outage on its own pool, in a request or in its probe
        // (once a second): wait until four token requests in a row, each on a connection of its
        // own (so on every worker in turn), are refused, then ask each endpoint.
        let refusedInARow = 0;
        await waitFor(async () => {
          const answer = await postOnNewConnection(on.as.token_endpoint!, { grant_type: 'client_credentials', scope: 'orders:read' }, { id: 'billing-client-0001', secret: replicas.clients.billing.secret! });
          refusedInARow = answer.status === 503 ? refusedInARow + 1 : 0;
          return refusedInARow === 4;
        }, `every process of replica ${on.name} to refuse tokens`, 30_000);
        expect((await readiness(on)).body).toMatchObject({ ready: false, message: expect.any(String) });
        // RFC 6749 section 4.1.2.1's temporarily_unavailable, saying nothing of the cause.
        const unavailable = { status: 503, body: { error: 'temporarily_unavailable', error_description: expect.stringMatching(/^the server cannot .* now; retry later$/) } };
        const answers: Answer[] = [
          await billingToken(on),
          await signIn(on),
          await on.token('mobile', 'refresh_token', { refresh_token: signedIn.refresh_token as string }),
          await on.post('orders-rs', 'introspection_endpoint', { token: live }),
          await on.post('billing', 'revocation_endpoint', { token: live }),
        ];
        for (const answer of answers) {
          expect(answer).toMatchObject(unavailable);
          expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
        }
        // What needs no shared state answers as ever: discovery and the keys that verify tokens.
        expect(await getStatus(`${on.url}/.well-known/oauth-authorization-server`)).toBe(200);
        expect(await getStatus(`${on.url}/.well-known/openid-configuration`)).toBe(200);
        expect(await getStatus(on.as.jwks_uri!)).toBe(200);
        expect(await getStatus(`${on.adminUrl}/healthz`)).toBe(200);
        // Never the database's password, in any line either replica wrote.
        expect(on.child.lines.filter((line) => line.includes(replicas.cluster.password))).toEqual([]);
      }
    } finally {
      await replicas.cluster.startServer();
    }

    for (const on of [a, b]) {
      await waitFor(async () => (await readiness(on)).status === 200, `replica ${on.name} to recover`, 30_000);
      expect((await billingToken(on)).status).toBe(200);
      // The state from before the outage is all there: the token lives, the refresh token rotates once.
      expect(await on.introspect(live)).toMatchObject({ active: true });
    }
    expect((await a.token('mobile', 'refresh_token', { refresh_token: signedIn.refresh_token as string })).status).toBe(200);
    // The same processes: nothing restarted.
    expect([a.child.proc.pid, b.child.proc.pid]).toEqual(pids);
    expect([a.child.proc.exitCode, b.child.proc.exitCode]).toEqual([null, null]);
  });
});

describe('a schema newer than the replica knows', () => {
  it('refuses to start, before it listens, saying why and without the password', { timeout: 60_000 }, async () => {
    const future = await replicas.cluster.createDatabase();
    await migrateDatabase(future);
    const known = knownMigrations().length;
    await replicas.cluster.psql(`INSERT INTO schema_migrations (version, name, checksum) VALUES (${known + 1}, '00${known + 1}-from-the-future', 'x')`, new URL(future).pathname.slice(1));

    const child = replicas.serveAnother({ state: future });
    expect(await child.exit).not.toBe(0);
    const output = child.lines.join('\n');
    expect(output).toContain(`the database's schema is at version ${known + 1}, newer than this Mergekey knows (version ${known}): run a Mergekey release that knows it`);
    expect(output).not.toMatch(/serving on/);
    expect(output).not.toContain(replicas.cluster.password);
  });
});

describe('a replica SIGKILLed under load', () => {
  it('loses nothing it answered: the other knows and lists every token it issued, and keeps serving', { timeout: 90_000 }, async () => {
    const issued: Record<string, unknown>[] = [];
    const signedIn: Record<string, unknown>[] = [];
    let killed = false;
    // Three clients keep A busy, each with one request at a time, until A dies under them.
    const client = async (request: () => Promise<Answer>, into: Record<string, unknown>[]) => {
      while (!killed) {
        try {
          const answer = await request();
          if (answer.status === 200) into.push(answer.body);
        } catch {
          return; // The connection died with A.
        }
      }
    };
    const load = [client(() => billingToken(a), issued), client(() => signIn(a), signedIn), client(() => signIn(a), signedIn)];
    await waitFor(() => issued.length >= 50 && signedIn.length >= 10, 'A to answer under load', 30_000);
    await a.kill();
    killed = true;
    await Promise.all(load);

    // B keeps serving.
    expect((await billingToken(b)).status).toBe(200);
    // Every access token A answered with is known to B: active, listed, then revocable through B.
    for (const body of [...issued, ...signedIn]) expect(await b.introspect(body.access_token as string)).toMatchObject({ active: true, client_id: expect.any(String) });
    const listed = await listedIds(b, 'billing');
    expect(issued.map((body) => `at_${String(decodeJwt(body.access_token as string).jti)}`).filter((id) => !listed.has(id))).toEqual([]);
    for (const body of issued) {
      expect(await b.revoke('billing', body.access_token as string)).toBe(200);
      expect(await b.introspect(body.access_token as string)).toEqual({ active: false });
    }
    // Every refresh token A answered with was committed: B exchanges each, once.
    for (const body of signedIn) {
      const rotated = await b.token('mobile', 'refresh_token', { refresh_token: body.refresh_token as string });
      expect(rotated.status).toBe(200);
    }
  });
});
