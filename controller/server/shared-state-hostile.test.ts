// `mergekey serve --state postgres://…` attacked from outside (issue 13's review): with PostgreSQL
// stopped, every request path that needs shared state (beyond the token endpoint, introspection
// and the listing shared-state.test.ts covers) answers 503 with Retry-After, never a 500, a hang,
// or the sign-in page; and nothing it logs or answers shows the state URL's password.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveServeConfig } from '../config/defaults.ts';
import { portalFor } from '../portal/setup.ts';
import { startPostgres, type PostgresCluster } from '../../test/support/postgres.ts';
import { send, type RawResponse } from '../../test/support/oauth-server.ts';
import { serverDeps, waitFor } from '../../test/support/server.ts';
import { sealedRepo, type SealedRepo } from '../../test/support/serve-child.ts';
import { startServer, type RunningServer } from './start.ts';

let cluster: PostgresCluster;
let f: SealedRepo;
let server: RunningServer;
let password: string;
let database: string;
const logs: string[] = [];

beforeAll(async () => {
  cluster = await startPostgres();
  const state = await cluster.createDatabase();
  password = decodeURIComponent(new URL(state).password);
  database = new URL(state).pathname.slice(1);
  expect(password.length).toBeGreaterThan(3);
  f = await sealedRepo();
  const config = resolveServeConfig({ repo: f.repo.path, data: f.data, port: '0', poll: '0', workers: '1', 'log-level': 'debug', state, migrate: 'true' }, {});
  const logDestination = new Writable({ write: (chunk: Buffer, _encoding, done) => (logs.push(chunk.toString()), done()) });
  server = await startServer(config, { ...serverDeps, plugins: (context) => [portalFor(context, { env: {} })], logDestination });
  await server.initialSync;
}, 120_000);
afterAll(async () => {
  await server?.close();
  f?.remove();
  await cluster?.stop();
});

const basic = (name: string) => ({ authorization: `Basic ${Buffer.from(`${f.clients[name]!.clientId}:${f.clients[name]!.secret}`).toString('base64')}` });
const form = (url: string, body: Record<string, string>, headers: Record<string, string>) =>
  send('POST', url, { headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(body).toString() });

/** Signs alice in to the portal; returns the session cookie. */
async function portalSession(): Promise<string> {
  const page = await send('GET', `${server.url}/portal/sign-in`);
  const presession = String(page.headers['set-cookie']![0]).split(';')[0]!;
  const csrf = /name="_csrf" value="([^"]*)"/.exec(String(page.body))![1]!;
  const signedIn = await form(`${server.url}/portal/sign-in`, { _csrf: csrf, name: 'alice', password: f.passwords.alice! }, { cookie: presession });
  return (signedIn.headers['set-cookie'] as string[]).find((value) => value.startsWith('mergekey-session='))!.split(';')[0]!;
}

const unavailable = (answer: RawResponse) => ({ status: answer.status, retryAfter: answer.headers['retry-after'] !== undefined });

describe('with PostgreSQL stopped', () => {
  it('every path needing shared state answers 503 with Retry-After, and nothing shows the password', { timeout: 120_000 }, async () => {
    const signIn = await form(`${server.url}/oauth2/token`, { grant_type: 'password', username: 'alice', password: f.passwords.alice!, scope: 'open' }, basic('mobile'));
    expect(signIn.status).toBe(200);
    const { access_token: accessToken, refresh_token: refreshToken } = signIn.body as { access_token: string; refresh_token: string };
    const cookie = await portalSession();
    expect((await send('GET', `${server.url}/portal/apps`, { headers: { cookie } })).status).toBe(200);

    await cluster.stopServer();
    try {
      const answers = {
        userinfo: await send('GET', `${server.url}/oauth2/userinfo`, { headers: { authorization: `Bearer ${accessToken}` } }),
        revokeRefresh: await form(`${server.url}/oauth2/revoke`, { token: refreshToken, token_type_hint: 'refresh_token' }, basic('mobile')),
        revokeAccess: await form(`${server.url}/oauth2/revoke`, { token: accessToken }, basic('mobile')),
        portalApps: await send('GET', `${server.url}/portal/apps`, { headers: { cookie } }),
        portalAuthorized: await send('GET', `${server.url}/portal/authorized`, { headers: { cookie } }),
      };
      const page = await send('GET', `${server.url}/portal/sign-in`);
      const presession = String(page.headers['set-cookie']![0]).split(';')[0]!;
      const csrf = /name="_csrf" value="([^"]*)"/.exec(String(page.body))?.[1] ?? '';
      const portalSignIn = await form(`${server.url}/portal/sign-in`, { _csrf: csrf, name: 'alice', password: f.passwords.alice! }, { cookie: presession });
      const all = { ...answers, portalSignIn };
      expect(Object.fromEntries(Object.entries(all).map(([name, answer]) => [name, unavailable(answer)]))).toEqual(
        Object.fromEntries(Object.keys(all).map((name) => [name, { status: 503, retryAfter: true }])),
      );
      const status = await send('GET', `${server.adminUrl}/api/v1/status`);
      const metrics = await send('GET', `${server.adminUrl}/metrics`);
      for (const text of [...Object.values(all).map((answer) => JSON.stringify(answer)), JSON.stringify(status), JSON.stringify(metrics), ...logs]) {
        expect(text).not.toContain(password);
      }
    } finally {
      await cluster.startServer();
    }
  });
});

describe('with PostgreSQL read-only (a failover onto a standby, a provider fencing a full disk)', () => {
  it('answers 503 with Retry-After, not 500, and readiness says so until it takes writes again', { timeout: 120_000 }, async () => {
    const token = () => form(`${server.url}/oauth2/token`, { grant_type: 'client_credentials', scope: 'orders:read' }, basic('billing'));
    const ready = async () => (await send('GET', `${server.adminUrl}/readyz`)).status;
    await waitFor(async () => (await ready()) === 200, 'readiness (after the test before)');
    expect((await token()).status).toBe(200);
    // New sessions are read-only; the pool's connections are ended, so its next ones are.
    await cluster.psql(`ALTER DATABASE "${database}" SET default_transaction_read_only = on`);
    await cluster.psql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${database}' AND pid <> pg_backend_pid()`);
    try {
      // Every grant answers 503 (the first ones may meet the ended connections, the next ones
      // the read-only server), and readiness turns false: the probe asks whether it takes writes.
      const answers = [];
      for (let tries = 0; tries < 5; tries++) answers.push(unavailable(await token()));
      expect(answers).toEqual(Array(5).fill({ status: 503, retryAfter: true }));
      // The probe keeps it false, saying why (without it, its `SELECT 1` succeeded and cleared it).
      await waitFor(async () => /read-only/.test(JSON.stringify((await send('GET', `${server.adminUrl}/readyz`)).body)), 'readiness to say read-only');
      expect(await ready()).toBe(503);
    } finally {
      await cluster.psql(`ALTER DATABASE "${database}" RESET default_transaction_read_only`);
      await cluster.psql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${database}' AND pid <> pg_backend_pid()`);
    }
    await waitFor(async () => (await ready()) === 200, 'readiness once PostgreSQL takes writes again');
    expect((await token()).status).toBe(200);
  });
});

describe('with PostgreSQL frozen (SIGSTOP) under 40 concurrent requests, four times the pool', () => {
  it('answers every one 503 with Retry-After rather than hanging, and serves again once it answers', { timeout: 120_000 }, async () => {
    const token = () => form(`${server.url}/oauth2/token`, { grant_type: 'client_credentials', scope: 'orders:read' }, basic('billing'));
    const ready = async () => (await send('GET', `${server.adminUrl}/readyz`)).status;
    await waitFor(async () => (await ready()) === 200, 'readiness (after the tests before)');
    const { access_token: accessToken } = (await token()).body as { access_token: string };
    await cluster.pauseServer();
    let answers: RawResponse[];
    try {
      answers = await Promise.all(Array.from({ length: 40 }, (_, i) =>
        i % 2 === 0 ? token() : form(`${server.url}/oauth2/introspect`, { token: accessToken }, basic('orders-rs'))));
    } finally {
      await cluster.resumeServer();
    }
    expect(answers.map(unavailable)).toEqual(Array(40).fill({ status: 503, retryAfter: true }));
    await waitFor(async () => (await token()).status === 200, 'a token once PostgreSQL answers again', 30_000);
  });
});
