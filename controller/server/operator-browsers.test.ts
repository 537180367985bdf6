// The operator listener has no authentication and relies on being reachable from loopback only;
// a browser on the operator's machine is on loopback too. A page must not be able to trigger a
// sync (a cross-site "simple" POST needs no preflight) nor read the status and metrics through
// a DNS name rebound to 127.0.0.1 (same-origin to the browser). Tools are answered as before.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveServeConfig } from '../config/defaults.ts';
import { startServer, type RunningServer } from './start.ts';
import { serverDeps } from '../../test/support/server.ts';
import { sealedRepo, type SealedRepo } from '../../test/support/serve-child.ts';

let fixture: SealedRepo;
let server: RunningServer;
beforeAll(async () => {
  fixture = await sealedRepo();
  const config = resolveServeConfig({ repo: fixture.repo.path, data: fixture.data, port: '0', poll: '0', workers: '1', 'log-level': 'silent' }, {});
  server = await startServer(config, serverDeps);
  await server.initialSync;
}, 30_000);
afterAll(async () => {
  await server?.close();
  fixture?.remove();
});

const refused = { error: 'access_denied', error_description: 'the operator listener does not answer requests made by web pages' };

describe('the operator listener answers tools, not web pages', () => {
  // What a browser sends: a cross-site form or fetch, and a same-origin fetch from a page whose
  // host name now resolves to 127.0.0.1 (DNS rebinding).
  const fromPages: [string, string, string, Record<string, string>][] = [
    ['a cross-site POST that would trigger a sync', 'POST', '/api/v1/sync', { origin: 'https://attacker.example', 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors' }],
    ['a cross-site POST from a browser without Fetch Metadata', 'POST', '/api/v1/sync?wait=true', { origin: 'https://attacker.example' }],
    ['a rebound page reading the status', 'GET', '/api/v1/status', { host: 'rebound.attacker.example', 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors' }],
    ['a rebound page reading the metrics', 'GET', '/metrics', { host: 'rebound.attacker.example', 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors' }],
    ['a same-site page', 'GET', '/readyz', { 'sec-fetch-site': 'same-site' }],
  ];
  it.each(fromPages)('%s: 403 access_denied, and nothing done', async (_what, method, path, headers) => {
    const before = (await server.admin.inject({ url: '/api/v1/status' })).json() as { lastAttempt?: { at?: string } };
    const response = await server.admin.inject({ method: method as 'GET' | 'POST', url: path, headers });
    expect([response.statusCode, response.json()]).toEqual([403, refused]);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(((await server.admin.inject({ url: '/api/v1/status' })).json() as typeof before).lastAttempt).toEqual(before.lastAttempt);
  });

  it('answers tools as before: curl, Prometheus, `mergekey status` (Node\'s fetch), and the operator typing the URL', async () => {
    // Node's fetch sends `sec-fetch-mode: cors` and no Origin or Sec-Fetch-Site.
    expect((await fetch(`${server.adminUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.adminUrl}/api/v1/sync?wait=true`, { method: 'POST' })).status).toBe(200);
    expect((await server.admin.inject({ url: '/metrics', headers: { 'user-agent': 'Prometheus/2.53.0' } })).statusCode).toBe(200);
    expect((await server.admin.inject({ url: '/api/v1/status', headers: { 'sec-fetch-site': 'none', 'sec-fetch-mode': 'navigate' } })).statusCode).toBe(200);
  });
});
