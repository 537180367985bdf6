// The operational surface of `mergekey serve`: health, readiness, metrics, status, manual sync (on
// the operator listener), the published sealing key, the single-server lock, logs without secrets, and a clean shutdown.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveServeConfig } from '../config/defaults.ts';
import { BASE_FILES } from '../../test/support/reconcile.ts';
import { openStore } from '../store/open.ts';
import { startServer } from './start.ts';
import { serverDeps as deps, startTestServer, type TestServer } from '../../test/support/server.ts';

const running: TestServer[] = [];
afterEach(async () => {
  for (const t of running.splice(0)) await t.stop();
});

async function serve(options: Parameters<typeof startTestServer>[0] extends infer O ? Omit<O & object, 'deps'> : never = {}): Promise<TestServer> {
  const t = await startTestServer(options);
  running.push(t);
  return t;
}

describe('mergekey serve', () => {
  it('is healthy at once and ready only after the first successful sync', async () => {
    const t = await serve({ flags: { branch: 'release' } });
    expect((await t.server.admin.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    const notReady = await t.server.admin.inject({ url: '/readyz' });
    expect([notReady.statusCode, notReady.json()]).toEqual([503, { ready: false, message: 'no commit has been applied yet' }]);
    const status = (await t.server.admin.inject({ url: '/api/v1/status' })).json();
    expect(status.lastAttempt).toMatchObject({ result: 'failed', error: { reason: 'BranchNotFound', failure: 'retry' } });

    const commit = await t.repo.commit({ ...BASE_FILES, 'apps/billing.yaml': await t.app('billing') }, { branch: 'release' });
    const sync = await t.server.admin.inject({ method: 'POST', url: '/api/v1/sync?wait=true' });
    expect(sync.json()).toMatchObject({ result: 'finished', run: { result: 'applied', commit, trigger: 'manual' } });
    const ready = await t.server.admin.inject({ url: '/readyz' });
    expect([ready.statusCode, ready.json()]).toEqual([200, { ready: true, commit }]);
  });

  it('reports every object with its conditions, file, line and column', async () => {
    const t = await serve();
    const broken = await t.commit({ 'apps/reports.yaml': (await t.app('reports')).replace('owners: [alice]', 'owners: [alice, nobody]') });
    await t.server.admin.inject({ method: 'POST', url: '/api/v1/sync?wait=true' });
    const status = (await t.server.admin.inject({ url: '/api/v1/status' })).json();
    expect(status).toMatchObject({
      repository: t.repo.path,
      branch: 'main',
      lastApplied: { commit: broken },
      lastAttempt: { commit: broken, result: 'applied' },
      lastSuccessfulFetch: { commit: broken },
      objects: { total: 5, ready: 4, notReady: 1 },
    });
    // The last-good rule at the repository level: applied, except the object that is not, named.
    const except = `commit ${broken.slice(0, 12)} is applied except apps/reports.yaml (NotApplied): each keeps its last good version, or is not served if it never had one (see its problems)`;
    expect(status.conditions.map(({ type, status, reason, message }: Record<string, string>) => ({ type, status, reason, message }))).toEqual([
      { type: 'Fetched', status: 'True', reason: 'Fetched', message: `fetched ${broken.slice(0, 12)} from main` },
      { type: 'Synced', status: 'True', reason: 'Synced', message: `commit ${broken.slice(0, 12)} is applied` },
      { type: 'Valid', status: 'False', reason: 'AppliedWithErrors', message: except },
      { type: 'Ready', status: 'False', reason: 'AppliedWithErrors', message: except },
    ]);
    const reports = status.objectStatuses.find((o: { path: string }) => o.path === 'apps/reports.yaml');
    expect(reports.conditions.find((c: { type: string }) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'Invalid' });
    expect(reports.problems[0]).toMatchObject({ path: 'apps/reports.yaml', line: 7 });
    expect(typeof reports.problems[0].column).toBe('number');
    for (const c of reports.conditions) expect(Date.parse(c.lastTransitionTime)).not.toBeNaN();
  });

  it('publishes metrics on its own registry', async () => {
    const t = await serve();
    const response = await t.server.admin.inject({ url: '/metrics' });
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(response.body).toMatch(/^mergekey_reconcile_duration_seconds_bucket\{le="\+Inf",result="applied"\} 1$/m);
    expect(response.body).toMatch(/^mergekey_reconcile_last_success_timestamp_seconds \d+(\.\d+)?$/m);
    expect(response.body).toMatch(/^mergekey_objects\{condition="Ready",status="True",reason="Ready"\} 4$/m);
    expect(response.body).toMatch(/^# TYPE mergekey_webhook_deliveries_total counter$/m);
  });

  it('sends X-Content-Type-Options: nosniff on every answer: operational, OAuth, errors and unknown paths', async () => {
    const t = await serve();
    const answers = await Promise.all([
      ['admin', 'GET', '/healthz'], ['admin', 'GET', '/api/v1/status'], ['public', 'GET', '/.well-known/oauth-authorization-server'],
      ['public', 'GET', '/oauth2/jwks'], ['public', 'POST', '/oauth2/token'], ['public', 'GET', '/oauth2/token'],
      ['public', 'GET', '/api/v1/apps/billing/tokens'], ['public', 'GET', '/no/such/path'], ['admin', 'GET', '/no/such/path'],
      ['admin', 'POST', '/api/v1/sync?wait=nope'],
    ].map(async ([listener, method, path]) => {
      const base = listener === 'admin' ? t.server.adminUrl : t.server.url;
      const response = await fetch(`${base}${path}`, { method, redirect: 'manual' });
      await response.arrayBuffer();
      return `${method} ${path} ${response.status} ${response.headers.get('x-content-type-options')}`;
    }));
    expect(answers).toEqual([
      'GET /healthz 200 nosniff', 'GET /api/v1/status 200 nosniff', 'GET /.well-known/oauth-authorization-server 200 nosniff',
      'GET /oauth2/jwks 200 nosniff', 'POST /oauth2/token 400 nosniff', 'GET /oauth2/token 405 nosniff',
      'GET /api/v1/apps/billing/tokens 401 nosniff', 'GET /no/such/path 404 nosniff', 'GET /no/such/path 404 nosniff',
      'POST /api/v1/sync?wait=nope 400 nosniff',
    ]);
  });

  it('answers an unknown route or a path that does not decode without echoing either, on both listeners', async () => {
    const t = await serve();
    const answers = await Promise.all([
      [t.server.url, '/no/<script>alert(1)</script>'], [t.server.adminUrl, '/no/<script>alert(1)</script>'],
      [t.server.url, '/oauth2/%'], [t.server.url, '/portal/%zz<b>'], [t.server.adminUrl, '/api/v1/%'],
    ].map(async ([base, path]) => {
      const response = await fetch(`${base}${path}`);
      return [response.status, response.headers.get('x-content-type-options'), await response.text()];
    }));
    const notFound = JSON.stringify({ error: 'not_found', error_description: 'No route answers this method and path.' });
    const badUrl = JSON.stringify({ error: 'invalid_request', error_description: 'The request path is not a valid URL path.' });
    expect(answers).toEqual([
      [404, 'nosniff', notFound], [404, 'nosniff', notFound],
      [400, 'nosniff', badUrl], [400, 'nosniff', badUrl], [400, 'nosniff', badUrl],
    ]);
  });

  it('publishes the public sealing key', async () => {
    const t = await serve();
    const jwk = (await t.server.app.inject({ url: '/.well-known/mergekey-sealing-key' })).json();
    expect(jwk).toMatchObject({ kty: 'OKP', crv: 'X25519', use: 'enc', alg: 'ECDH-ES+A256KW' });
    expect(jwk).not.toHaveProperty('d');
  });

  it('refuses a second server on the same data directory', async () => {
    const t = await serve();
    const config = resolveServeConfig({ repo: t.repo.path, data: t.dataDir, port: '0', poll: '0', 'log-level': 'silent' }, {});
    await expect(startServer(config, deps)).rejects.toThrow();
    expect((await t.server.admin.inject({ url: '/healthz' })).statusCode).toBe(200);
  });

  it('refuses an ext:: repository before anything starts', async () => {
    const config = resolveServeConfig({ repo: 'ext::sh -c touch% /tmp/pwned', data: '/nonexistent/mergekey', port: '0', 'log-level': 'silent' }, {});
    await expect(startServer(config, deps)).rejects.toThrow(/--repo\/--branch: the repository 'ext::sh -c touch% \/tmp\/pwned' uses a git remote helper \(ext::\)/);
  });

  it('shuts down cleanly and leaves no secret in its logs or its store', async () => {
    const t = await serve({ webhook: true });
    await t.commit({ 'apps/reports.yaml': await t.app('reports') });
    await t.server.admin.inject({
      method: 'POST',
      url: '/api/v1/sync?wait=true&access_token=query-secret-value',
      headers: { authorization: 'Bearer header-secret-value', cookie: 'session=cookie-secret-value' },
    });
    await t.server.close();
    expect((await t.server.admin.inject({ url: '/healthz' }).catch(() => ({ statusCode: 0 }))).statusCode).not.toBe(200);

    const logs = t.logs.join('\n');
    expect(logs).toContain('mergekey serving on');
    expect(logs).toContain('mergekey stopped');
    for (const secret of [...t.plaintexts, 'query-secret-value', 'header-secret-value', 'cookie-secret-value']) {
      expect(logs).not.toContain(secret);
    }
    const storeDir = join(t.dataDir, 'store');
    for (const file of readdirSync(storeDir)) {
      const bytes = readFileSync(join(storeDir, file));
      for (const secret of t.plaintexts) expect(bytes.includes(Buffer.from(secret)), `${secret} in ${file}`).toBe(false);
    }
    // The store was closed properly: it opens again and holds the last applied commit.
    const store = openStore(t.dataDir);
    expect(store.config.application('reports')?.spec.state).toBe('active');
    await store.close();
  });
});
