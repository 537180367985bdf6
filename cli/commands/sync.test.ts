// `mergekey sync` and `POST /api/v1/sync` against a real controller over loopback: a rewritten
// history held until the operator accepts the head the status names (RFC 6749 client
// authentication shows which secret works), a hung git fetch answered before the request timeout
// with the CLI still waiting for the run to the end, and triggers arriving together served by one
// fetch. Git runs for real: a fake `ssh` on PATH hands the fetch to git-upload-pack on a local
// bare repository, and holds it while a file exists — a hung network, without a network.
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import * as oauth from 'oauth4webapi';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { resolveServeConfig } from '../../controller/config/defaults.ts';
import { FixtureRepo } from '../../test/support/git.ts';
import { appYaml, BASE_FILES, tempDir } from '../../test/support/reconcile.ts';
import { startServer, type RunningServer } from '../../controller/server/start.ts';
import { authorizationServer, insecure } from '../../test/support/serve-child.ts';
import { pushPayload, serverDeps, sign, startTestServer, TEST_ISSUER, waitFor, type TestServer } from '../../test/support/server.ts';
import { main, type Io } from '../main.ts';
import { sync } from './sync.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function capture(): Io & { out: string; err: string } {
  const io = { out: '', err: '', stdout: (t: string) => void (io.out += t), stderr: (t: string) => void (io.err += t) };
  return io;
}

async function serve(options: Parameters<typeof startTestServer>[0] = {}): Promise<TestServer> {
  const t = await startTestServer(options);
  cleanups.push(() => t.stop());
  return t;
}

/** Whether the token endpoint takes `secret` for billing (client_secret_basic, client_credentials). */
async function secretWorks(url: string, secret: string): Promise<boolean> {
  const as = await authorizationServer(url, TEST_ISSUER);
  const client: oauth.Client = { client_id: 'billing-client-0001' };
  const response = await oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretBasic(secret), {}, insecure);
  return response.status === 200;
}

describe('mergekey sync: a rewritten history is held until the operator accepts its head', () => {
  it('keeps the rotated secret working after a force push back, says so in status and metrics, and applies the head only when named', { timeout: 60_000 }, async () => {
    const t = await serve();
    const url = t.server.url;
    const admin = t.server.adminUrl;
    const oldSecret = t.plaintexts[0]!;
    const beforeRotation = (await t.repo.head())!;
    const rotation = await t.commit({ 'apps/billing.yaml': await t.app('billing', { description: 'Rotated.' }) });
    const newSecret = t.plaintexts.at(-1)!;
    expect(await main(['sync', '--admin', admin], capture())).toBe(0);
    expect([await secretWorks(url, oldSecret), await secretWorks(url, newSecret)]).toEqual([false, true]);

    // git push --force of the commit before the rotation.
    await t.repo.forcePush(beforeRotation);
    const held = capture();
    expect(await main(['sync', '--admin', admin], held)).toBe(1);
    const message =
      `the history of main was rewritten: its head ${beforeRotation} does not contain the applied commit ${rotation.slice(0, 12)}. ` +
      `A rollback can bring back a rotated-out secret, so ${rotation.slice(0, 12)} is still served. ` +
      `To apply the new head: mergekey sync --accept-history-rewrite ${beforeRotation} (or restart with --accept-history-rewrite ${beforeRotation})`;
    expect(held.out).toMatch(new RegExp(`^failed ${beforeRotation.slice(0, 12)} after \\d+ ms: HistoryRewritten: `));
    expect(held.out).toContain(message);
    expect([await secretWorks(url, oldSecret), await secretWorks(url, newSecret)]).toEqual([false, true]);

    const status = capture();
    expect(await main(['status', '--admin', admin], status)).toBe(1);
    expect(status.out).toContain(`Ready       False: ${message}\n`);
    expect(status.out).toContain(`Applied     ${rotation.slice(0, 12)} at `);
    expect(await (await fetch(`${admin}/metrics`)).text()).toMatch(/^mergekey_history_rewrite_held 1$/m);
    expect(t.logs.some((line) => JSON.parse(line).level === 50 && JSON.parse(line).msg === message)).toBe(true);

    // An acceptance that is not a commit id is refused with an RFC 6749 error, before anything runs.
    const bad = await fetch(`${admin}/api/v1/sync?wait=true&acceptHistoryRewrite=HEAD~1`, { method: 'POST' });
    expect([bad.status, await bad.json()]).toEqual([400, { error: 'invalid_request', error_description: 'acceptHistoryRewrite must be a commit id (12 to 64 hex digits)' }]);
    const usage = capture();
    expect(await main(['sync', '--admin', admin, '--accept-history-rewrite', 'main'], usage)).toBe(2);

    // Accepting another commit does not let this head through.
    const other = capture();
    expect(await main(['sync', '--admin', admin, '--accept-history-rewrite', rotation], other)).toBe(1);
    expect(other.out).toContain(`(the accepted rewrite is ${rotation}, not this head)`);

    const accepted = capture();
    expect(await main(['sync', '--admin', admin, '--accept-history-rewrite', beforeRotation.slice(0, 12)], accepted)).toBe(0);
    expect(accepted.out).toMatch(new RegExp(`^applied ${beforeRotation.slice(0, 12)} in \\d+ ms\\n$`));
    expect([await secretWorks(url, oldSecret), await secretWorks(url, newSecret)]).toEqual([true, false]);
    const after = (await (await fetch(`${admin}/api/v1/status`)).json()) as { conditions: { type: string; message: string }[] };
    expect(after.conditions.find((c) => c.type === 'Synced')!.message).toBe(
      `commit ${beforeRotation.slice(0, 12)} is applied; it rewrote the history from ${rotation.slice(0, 12)}, as an operator accepted: anything that rewrite brought back (a rotated-out secret) is in force`,
    );
    expect(await (await fetch(`${admin}/metrics`)).text()).toMatch(/^mergekey_history_rewrite_held 0$/m);
  });
});

/**
 * A controller following `ssh://fakehost/<bare repo>` through a fake ssh on PATH: each fetch is
 * counted, and waits while `hold()` is on.
 */
async function slowGitServer(options: { webhook?: boolean; minIntervalMs?: number } = {}) {
  const dir = tempDir('mergekey-slow-git-');
  cleanups.push(() => dir.remove());
  const bin = join(dir.path, 'bin');
  mkdirSync(bin);
  const holdFile = join(dir.path, 'hold');
  const fetchLog = join(dir.path, 'fetches');
  writeFileSync(fetchLog, '');
  // git runs `ssh [options] fakehost "git-upload-pack '/path'"`: the last argument is the command.
  writeFileSync(
    join(bin, 'ssh'),
    `#!/bin/sh\nfor last; do :; done\necho fetch >> '${fetchLog}'\nwhile [ -e '${holdFile}' ]; do sleep 0.02; done\nexec sh -c "$last"\n`,
  );
  chmodSync(join(bin, 'ssh'), 0o755);
  const repo = await FixtureRepo.create(join(dir.path, 'manifests.git'));
  const dataDir = join(dir.path, 'data');
  const keys = await serverDeps.openKeys(dataDir, { create: true });
  const app = async (name: string, description?: string) =>
    appYaml(name, await serverDeps.seal(keys.sealingPublicJwk, { kind: 'Application', name }, `plaintext-${name}-${randomUUID()}`), description === undefined ? {} : { description });
  await repo.commit({ ...BASE_FILES, 'apps/billing.yaml': await app('billing') });
  const flags: Record<string, string> = { repo: `ssh://fakehost${repo.path}`, data: dataDir, port: '0', poll: '0', issuer: TEST_ISSUER, workers: '1', 'log-level': 'silent' };
  let webhookSecret: string | undefined;
  if (options.webhook === true) {
    webhookSecret = randomUUID();
    writeFileSync(join(dir.path, 'webhook-secret'), webhookSecret, { mode: 0o600 });
    flags['webhook-secret-file'] = join(dir.path, 'webhook-secret');
  }
  // git's environment is taken when the controller starts: only this server sees the fake ssh.
  const path = process.env.PATH;
  process.env.PATH = `${bin}:${path}`;
  let server: RunningServer;
  try {
    server = await startServer(resolveServeConfig(flags, {}), {
      ...serverDeps,
      syncAnswerMs: 200,
      ...(options.minIntervalMs === undefined ? {} : { syncMinIntervalMs: options.minIntervalMs }),
    });
  } finally {
    process.env.PATH = path;
  }
  const release = () => rmSync(holdFile, { force: true });
  cleanups.push(async () => {
    release();
    await server.close();
  });
  await server.initialSync;
  return {
    server,
    repo,
    app,
    webhookSecret,
    hold: () => writeFileSync(holdFile, ''),
    release,
    fetches: () => readFileSync(fetchLog, 'utf8').split('\n').filter((l) => l !== '').length,
    held: () => existsSync(holdFile),
  };
}

describe('POST /api/v1/sync while git hangs', () => {
  it('answers 202 running before the request timeout, and mergekey sync waits for its run through the status', { timeout: 60_000 }, async () => {
    const g = await slowGitServer();
    const admin = g.server.adminUrl;
    expect(g.server.loop.last).toMatchObject({ result: 'applied' });
    const next = await g.repo.commit({ 'apps/reports.yaml': await g.app('reports') });
    g.hold();

    const response = await fetch(`${admin}/api/v1/sync?wait=true`, { method: 'POST' });
    const body = (await response.json()) as { requestedAt: string };
    expect([response.status, response.headers.get('cache-control'), body]).toEqual([
      202,
      'no-store',
      {
        result: 'running',
        requestedAt: body.requestedAt,
        message: 'the reconcile has not finished yet (git is slow); GET /api/v1/status shows it once lastAttempt.startedAt is at or after requestedAt',
      },
    ]);
    expect(Date.parse(body.requestedAt)).not.toBeNaN();

    // The CLI gets the same 202, then follows the status; the run it waits for is the one queued
    // behind the hung one, which starts after its request.
    const asked: string[] = [];
    const realFetch = globalThis.fetch;
    vi.spyOn(globalThis, 'fetch').mockImplementation((input, init) => {
      asked.push(`${init?.method ?? 'GET'} ${new URL(String(input)).pathname}`);
      return realFetch(input, init);
    });
    cleanups.push(() => vi.restoreAllMocks());
    let settled = false;
    const waiting = sync({ admin, pollMs: 20 }).finally(() => (settled = true));
    await waitFor(() => asked.includes('GET /api/v1/status'), 'the CLI to follow the status');
    expect(settled).toBe(false);
    expect(asked[0]).toBe('POST /api/v1/sync');
    g.release();
    const result = await waiting;
    expect(result).toMatchObject({ result: 'finished', run: { result: 'unchanged', commit: next, trigger: 'manual' } });
    expect(Date.parse((result as { run: { startedAt: string } }).run.startedAt)).toBeGreaterThanOrEqual(Date.parse(body.requestedAt));
    expect(g.server.reconciler.status().lastApplied?.commit).toBe(next);
  });

  it('serves 200 sync requests and 20 webhook deliveries that arrive together with one fetch, never two reconciles at once', { timeout: 60_000 }, async () => {
    const g = await slowGitServer({ webhook: true });
    const url = g.server.url;
    const admin = g.server.adminUrl;
    const initialFetches = g.fetches();
    g.hold();
    // The first request starts a run, which hangs in its fetch; everything after it joins one queued run.
    const first = await fetch(`${admin}/api/v1/sync`, { method: 'POST' });
    expect(first.status).toBe(202);
    await waitFor(() => g.fetches() === initialFetches + 1, 'the first fetch');
    const answers = await Promise.all([
      ...Array.from({ length: 200 }, () => fetch(`${admin}/api/v1/sync`, { method: 'POST' }).then((r) => r.status)),
      ...Array.from({ length: 20 }, async () => {
        const body = pushPayload(g.repo.path, { cloneUrl: `ssh://fakehost${g.repo.path}` });
        const response = await fetch(`${url}/webhooks/github`, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': randomUUID(), 'x-hub-signature-256': sign(g.webhookSecret!, body) },
        });
        return response.status;
      }),
    ]);
    expect(new Set(answers)).toEqual(new Set([202]));
    const next = await g.repo.commit({ 'apps/reports.yaml': await g.app('reports') });
    g.release();
    await waitFor(() => g.server.reconciler.status().lastApplied?.commit === next, 'the hung run to apply the new commit');
    // The one run all 220 triggers joined, which waits out the interval after the hung one.
    await waitFor(() => g.server.loop.last?.trigger.split(',').sort().join(',') === 'manual,webhook', 'the queued run to finish');
    expect(g.server.loop.last).toMatchObject({ result: 'unchanged', commit: next });
    expect(g.fetches()).toBe(initialFetches + 2);
  });

  it('makes a flood of sync requests and webhook deliveries after a run wait for one queued run, at most one per interval', { timeout: 60_000 }, async () => {
    // An interval no test outlives: the queued run must not start while the flood goes on.
    const g = await slowGitServer({ webhook: true, minIntervalMs: 3_600_000 });
    const url = g.server.url;
    const admin = g.server.adminUrl;
    const initialFetches = g.fetches();
    g.hold();
    expect((await fetch(`${admin}/api/v1/sync`, { method: 'POST' })).status).toBe(202);
    await waitFor(() => g.fetches() === initialFetches + 1, 'the first fetch');
    expect((await fetch(`${admin}/api/v1/sync`, { method: 'POST' })).status).toBe(202);
    g.release();
    await waitFor(() => g.server.loop.last?.trigger === 'manual', 'the first run to finish');

    // One after another, as fast as the server answers: each joins the queued run.
    const statuses: number[] = [];
    for (let i = 0; i < 200; i++) statuses.push((await fetch(`${admin}/api/v1/sync`, { method: 'POST' })).status);
    for (let i = 0; i < 20; i++) {
      const body = pushPayload(g.repo.path, { cloneUrl: `ssh://fakehost${g.repo.path}` });
      const response = await fetch(`${url}/webhooks/github`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': randomUUID(), 'x-hub-signature-256': sign(g.webhookSecret!, body) },
      });
      statuses.push(response.status);
    }
    expect(new Set(statuses)).toEqual(new Set([202]));
    expect(g.fetches()).toBe(initialFetches + 1);
  });
});
