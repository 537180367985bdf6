// The operator listener (SPEC: "health, readiness and Prometheus metrics on an operator listener
// apart from the public one"): /healthz, /readyz, /metrics, GET /api/v1/status and POST
// /api/v1/sync answer on --admin-host/--admin-port (loopback by default) and 404 on the public
// port, whoever reaches it; the public routes stay public. With workers, the primary owns it and
// its metrics still count every worker.
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ConfigError, resolveServeConfig } from '../config/defaults.ts';
import { tempDir } from '../../test/support/reconcile.ts';
import { createLogger } from './logging.ts';
import { warnIfExposed } from './start.ts';
import { startTestServer, type TestServer } from '../../test/support/server.ts';
import { sealedRepo, serveChild } from '../../test/support/serve-child.ts';

const OPERATOR_ROUTES = [
  ['GET', '/healthz'],
  ['GET', '/readyz'],
  ['GET', '/metrics'],
  ['GET', '/api/v1/status'],
  ['POST', '/api/v1/sync'],
  ['POST', '/api/v1/sync?wait=true'],
] as const;

/** The answer for a route a listener does not have: it describes the request, never echoes it. */
const notFound = (_method: string, _url: string) => ({ error: 'not_found', error_description: 'No route answers this method and path.' });

const running: TestServer[] = [];
afterEach(async () => {
  for (const t of running.splice(0)) await t.stop();
});

describe('the operator listener', () => {
  it('is where health, readiness, metrics, status and sync are; the public port answers 404 for them', { timeout: 30_000 }, async () => {
    const t = await startTestServer();
    running.push(t);
    const { url, adminUrl } = t.server;
    for (const [method, path] of OPERATOR_ROUTES) {
      const response = await fetch(`${url}${path}`, { method });
      expect([path, response.status, await response.json()]).toEqual([path, 404, notFound(method, path)]);
    }
    expect(adminUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(adminUrl).not.toBe(url);

    expect(await (await fetch(`${adminUrl}/healthz`)).json()).toEqual({ status: 'ok' });
    const commit = t.server.reconciler.status().lastApplied!.commit;
    const ready = await fetch(`${adminUrl}/readyz`);
    expect([ready.status, await ready.json()]).toEqual([200, { ready: true, commit }]);
    expect(await (await fetch(`${adminUrl}/metrics`)).text()).toMatch(/^mergekey_objects\{condition="Ready",status="True",reason="Ready"\} 4$/m);
    expect(await (await fetch(`${adminUrl}/api/v1/status`)).json()).toMatchObject({ repository: t.repo.path, lastApplied: { commit } });
    const sync = await fetch(`${adminUrl}/api/v1/sync?wait=true`, { method: 'POST' });
    expect([sync.status, await sync.json()]).toMatchObject([200, { result: 'finished', run: { result: 'unchanged', trigger: 'manual' } }]);

    // The public routes stay on the public listener, and only there.
    expect((await fetch(`${url}/.well-known/oauth-authorization-server`)).status).toBe(200);
    expect((await fetch(`${url}/.well-known/mergekey-sealing-key`)).status).toBe(200);
    expect((await fetch(`${url}/api/v1/apps/billing/tokens`)).status).toBe(401);
    for (const [method, path] of [['POST', '/oauth2/token'], ['GET', '/.well-known/oauth-authorization-server'], ['GET', '/api/v1/apps/billing/tokens']] as const) {
      const response = await fetch(`${adminUrl}${path}`, { method });
      expect([path, response.status, await response.json()]).toEqual([path, 404, notFound(method, path)]);
    }
  });

  it('defaults to 127.0.0.1:9000, and needs a port of its own', () => {
    expect(resolveServeConfig({ repo: 'r' }, {})).toMatchObject({ host: '127.0.0.1', port: 8080, adminHost: '127.0.0.1', adminPort: 9000 });
    // --port 0 (tests, several servers on one machine): the operator port is picked too, unless given.
    expect(resolveServeConfig({ repo: 'r', port: '0' }, {})).toMatchObject({ port: 0, adminPort: 0 });
    expect(resolveServeConfig({ repo: 'r', port: '0' }, { MERGEKEY_ADMIN_PORT: '9100' })).toMatchObject({ port: 0, adminPort: 9100 });
    expect(resolveServeConfig({ repo: 'r', 'admin-host': '10.0.0.5', 'admin-port': '9100' }, {})).toMatchObject({ adminHost: '10.0.0.5', adminPort: 9100 });
    expect(() => resolveServeConfig({ repo: 'r', port: '9000' }, {})).toThrow(
      new ConfigError('--admin-port 9000 is also --port: the operator listener needs a port of its own'),
    );
  });
});

describe('an operator listener off loopback', () => {
  it('is allowed, with a warning that it has no authentication', () => {
    const warnings = (adminHost: string) => {
      const lines: string[] = [];
      warnIfExposed(resolveServeConfig({ repo: 'r', 'admin-host': adminHost }, {}), createLogger('warn', { write: (line: string) => void lines.push(line) }));
      return lines.map((line) => (JSON.parse(line) as { msg: string }).msg);
    };
    for (const loopback of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost']) expect([loopback, warnings(loopback)]).toEqual([loopback, []]);
    expect(warnings('0.0.0.0')).toEqual([
      'the operator listener (--admin-host 0.0.0.0) has no authentication: anyone who reaches it can read the status and trigger syncs. Keep it on loopback or a network only operators reach',
    ]);
    expect(warnings('10.0.0.5')).toHaveLength(1);
  });
});

describe('the operator listener with --workers 2', () => {
  const dir = tempDir('mergekey-operator-');
  afterAll(() => dir.remove());

  it('is the primary\'s: the workers answer 404, and its metrics count what every worker counted', { timeout: 60_000 }, async () => {
    const fixture = await sealedRepo();
    const secretFile = join(dir.path, 'webhook-secret');
    writeFileSync(secretFile, 'a-webhook-secret-of-some-length\n', { mode: 0o600 });
    const child = serveChild(['--repo', fixture.repo.path, '--data', fixture.data, '--port', '0', '--poll', '0', '--workers', '2',
      '--webhook-secret-file', secretFile, '--log-level', 'debug']);
    try {
      const url = await child.url();
      const adminUrl = await child.adminUrl();
      await child.waitFor(/applied commit/);

      // New connections go to the workers in turn: every operator route is refused by both.
      for (const [method, path] of [...OPERATOR_ROUTES, ...OPERATOR_ROUTES]) {
        const answer = await onNewConnection(`${url}${path}`, method);
        expect([path, answer.status, JSON.parse(answer.body)]).toEqual([path, 404, notFound(method, path)]);
      }

      const ready = await fetch(`${adminUrl}/readyz`);
      expect([ready.status, await ready.json()]).toEqual([200, { ready: true, commit: await fixture.repo.head() }]);
      const sync = await fetch(`${adminUrl}/api/v1/sync?wait=true`, { method: 'POST' });
      expect([sync.status, await sync.json()]).toMatchObject([200, { result: 'finished', run: { result: 'unchanged' } }]);

      // Each worker counts a delivery with a bad signature; the primary's /metrics sums them.
      const mark = child.lines.length;
      for (let i = 0; i < 2; i++) {
        const answer = await onNewConnection(`${url}/webhooks/github`, 'POST', {
          'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': crypto.randomUUID(), 'x-hub-signature-256': `sha256=${'0'.repeat(64)}`,
        }, '{}');
        expect(answer.status).toBe(401);
      }
      const served = async () => {
        const pattern = /"url":"\/webhooks\/github".*"msg":"incoming request"/;
        const before = child.lines.slice(0, mark).filter((line) => pattern.test(line)).length;
        await child.waitFor(pattern, before + 1);
        return new Set(child.lines.slice(mark).filter((line) => pattern.test(line)).map((line) => (JSON.parse(line) as { pid: number }).pid));
      };
      expect((await served()).size).toBe(2);
      const metrics = await (await fetch(`${adminUrl}/metrics`)).text();
      expect(metrics).toMatch(/^mergekey_webhook_deliveries_total\{result="bad_signature"\} 2$/m);
      expect(metrics).toMatch(/^mergekey_objects\{condition="Ready",status="True",reason="Ready"\} \d+$/m);
    } finally {
      expect(await child.stop()).toBe(0);
      fixture.remove();
    }
  });
});

/** A request on a connection of its own, so that node:cluster hands it to the next worker. */
function onNewConnection(url: string, method: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent: false, headers: { connection: 'close', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
