// `mergekey serve --workers 2` as an operator runs it: the workers share the store the primary
// reconciles, so a deactivation merged in git stops an application's tokens on every worker; the
// primary's status and sync are reachable through any worker; a worker that dies is replaced; an
// application's plan rate and the portal's sign-in limit hold across the workers; a held rewrite
// is accepted through a worker.
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ORDERS_AUDIENCE, postOnNewConnection, sealedRepo, serveChild, type SealedRepo, type ServeChild } from '../../test/support/serve-child.ts';

let fixture: SealedRepo;
let server: ServeChild;
let url: string;
let adminUrl: string;

beforeAll(async () => {
  fixture = await sealedRepo();
  // Debug logs carry one access line per request with the pid of the worker that served it.
  server = serveChild(['--repo', fixture.repo.path, '--data', fixture.data, '--port', '0', '--poll', '0', '--workers', '2', '--log-level', 'debug']);
  url = await server.url();
  adminUrl = await server.adminUrl();
}, 60_000);

afterAll(async () => {
  expect(await server.stop()).toBe(0);
  expect(server.lines.some((line) => line.includes('"msg":"mergekey stopped"'))).toBe(true);
  fixture.remove();
});

/**
 * Pids of the processes that logged the `count` requests to `path` made since line `from`. The
 * answer can arrive before the log line (a socket and a pipe race), so the lines are waited for.
 */
async function servedBy(path: string, from: number, count: number): Promise<Set<number>> {
  const pattern = new RegExp(`"msg":"incoming request".*"url":"${path}"|"url":"${path}".*"msg":"incoming request"`);
  const before = server.lines.slice(0, from).filter((line) => pattern.test(line)).length;
  await server.waitFor(pattern, before + count - 1);
  const pids = new Set<number>();
  for (const line of server.lines.slice(from).filter((l) => pattern.test(l))) pids.add((JSON.parse(line) as { pid: number }).pid);
  return pids;
}

const token = (app: 'billing' | 'orders-rs') =>
  postOnNewConnection(`${url}/oauth2/token`, { grant_type: 'client_credentials', ...(app === 'billing' ? { scope: 'orders:read' } : {}) }, {
    id: fixture.clients[app]!.clientId,
    secret: fixture.clients[app]!.secret,
  });

/** Introspected by the `orders` Api's resource server, on a new connection (so by the next worker). */
const introspect = (accessToken: string) =>
  postOnNewConnection(`${url}/oauth2/introspect`, { token: accessToken }, { id: fixture.clients['orders-rs']!.clientId, secret: fixture.clients['orders-rs']!.secret });

describe('mergekey serve --workers 2', () => {
  it('issues tokens from both workers under the issuer of mergekey.yaml', { timeout: 60_000 }, async () => {
    const mark = server.lines.length;
    const answers = [await token('billing'), await token('billing')];
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(decodeJwt(answer.body.access_token as string)).toMatchObject({ iss: fixture.issuer, aud: ORDERS_AUDIENCE, scope: 'orders:read' });
    }
    expect((await servedBy('/oauth2/token', mark, 2)).size).toBe(2);
    const metadata = (await (await fetch(`${url}/.well-known/oauth-authorization-server`, { headers: { host: 'evil.example' } })).json()) as { issuer: string };
    expect(metadata.issuer).toBe(fixture.issuer);
  });

  it('stops every token of an application deactivated through a git commit, on both workers', { timeout: 60_000 }, async () => {
    const tokens = [(await token('billing')).body.access_token as string, (await token('billing')).body.access_token as string];
    for (const accessToken of tokens) expect((await introspect(accessToken)).body).toMatchObject({ active: true, client_id: fixture.clients.billing!.clientId });

    const commit = await fixture.setState('billing', 'inactive');
    // The sync goes to the primary's operator listener.
    const sync = (await (await fetch(`${adminUrl}/api/v1/sync?wait=true`, { method: 'POST' })).json()) as { run: { result: string; commit: string } };
    expect(sync.run).toMatchObject({ result: 'applied', commit });

    const mark = server.lines.length;
    for (let round = 0; round < 2; round++) {
      for (const accessToken of tokens) expect((await introspect(accessToken)).body).toEqual({ active: false });
      expect(await token('billing')).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    }
    expect((await servedBy('/oauth2/introspect', mark, 4)).size).toBe(2);
    expect((await servedBy('/oauth2/token', mark, 2)).size).toBe(2);

    const status = (await (await fetch(`${adminUrl}/api/v1/status`)).json()) as { lastApplied: { commit: string } };
    expect(status.lastApplied.commit).toBe(commit);
  });

  it('replaces a worker that dies, and keeps serving', { timeout: 60_000 }, async () => {
    const serving = server.lines.filter((line) => /"msg":"worker \d+ \(pid \d+\) serving"/.test(line)).map((line) => (JSON.parse(line) as { workerPid: number }).workerPid);
    expect(serving).toHaveLength(2);
    process.kill(serving[0]!, 'SIGKILL');
    expect(await server.waitFor(/exited with SIGKILL; starting another/)).toContain(`"workerPid":${serving[0]}`);
    const replacement = (JSON.parse(await server.waitFor(/"msg":"worker \d+ \(pid \d+\) serving"/, 2)) as { workerPid: number }).workerPid;
    expect(serving).not.toContain(replacement);

    const mark = server.lines.length;
    for (let i = 0; i < 2; i++) expect((await token('orders-rs')).status).toBe(200);
    expect(await servedBy('/oauth2/token', mark, 2)).toEqual(new Set([serving[1], replacement]));
  });

  it('holds an application to its plan\'s token request rate across both workers', { timeout: 60_000 }, async () => {
    await fixture.repo.commit(
      { 'plans/standard.yaml': 'apiVersion: mergekey/v1\nkind: Plan\nmetadata:\n  name: standard\nspec:\n  description: The default plan.\n  tokenRequestsPerMinute: 6\n' },
      { message: 'standard: 6 token requests a minute' },
    );
    const sync = (await (await fetch(`${adminUrl}/api/v1/sync?wait=true`, { method: 'POST' })).json()) as { run: { result: string } };
    expect(sync.run.result).toBe('applied');
    // A worker reads plans again at most a second after they change (configCacheTtl).
    await sleep(1_200);

    const mark = server.lines.length;
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      const answer = await token('orders-rs');
      statuses.push(answer.status);
      if (answer.status === 429) expect(answer.body).toMatchObject({ error: 'slow_down' });
      // Time for the worker that answered to tell the other one (every 50 ms).
      await sleep(300);
    }
    // Alone, each worker would allow the plan's burst of 6: 10 answers of 200.
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429, 429, 429, 429]);
    expect((await servedBy('/oauth2/token', mark, 10)).size).toBe(2);
  });

  it('holds the portal\'s sign-in limit for a user across both workers', { timeout: 60_000 }, async () => {
    // One sign-in form, posted again and again on new connections: they alternate between the workers.
    const form = await fetch(`${url}/portal/sign-in`);
    const cookie = form.headers.getSetCookie().map((header) => header.split(';')[0]!).join('; ');
    const csrf = /name="_csrf" value="([^"]*)"/.exec(await form.text())![1]!;
    const mark = server.lines.length;
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) {
      statuses.push(await postSignIn(`${url}/portal/sign-in`, cookie, { _csrf: csrf, name: 'alice', password: 'not her password' }));
      // Time for the worker that answered to tell the other one.
      await sleep(200);
    }
    // Five wrong passwords per (user, address), then that address waits (SIGN_IN_LIMITS); alone, each worker would allow five.
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
    expect((await servedBy('/portal/sign-in', mark, 7)).size).toBe(2);
  });

  it('holds a force push while workers serve, and applies it once accepted at the primary\'s operator listener', { timeout: 60_000 }, async () => {
    const before = await fixture.repo.commit({ 'README.md': 'a commit to go back to' });
    const sync = async (query = '') => (await (await fetch(`${adminUrl}/api/v1/sync?wait=true${query}`, { method: 'POST' })).json()) as { run: { result: string; commit: string; error?: { reason: string } } };
    const ahead = await fixture.repo.commit({ 'README.md': 'applied, then rolled back' });
    expect((await sync()).run).toMatchObject({ result: 'applied', commit: ahead });
    await fixture.repo.forcePush(before);
    expect((await sync()).run).toMatchObject({ result: 'failed', commit: before, error: { reason: 'HistoryRewritten' } });
    expect((await sync(`&acceptHistoryRewrite=${before}`)).run).toMatchObject({ result: 'applied', commit: before });
  });
});

/** Posts the sign-in form on a connection of its own; resolves with the status. */
function postSignIn(url: string, cookie: string, form: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent: false, headers: { connection: 'close', cookie, 'content-type': 'application/x-www-form-urlencoded' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(new URLSearchParams(form).toString());
  });
}
