// `npm run bench:reconcile [-- --apps N --commits N --deliveries N]`: how fast the controller
// follows a large manifests repository. Targets on a 2-core machine, for 10,000 applications:
//   - initial sync (fetch, parse, validate, open every sealed secret, one transaction): < 10 s
//   - a one-file commit, from fetched to applied: < 100 ms (proportional to the change)
//   - a signed webhook delivery until the change is served from the store: p99 < 1 s
//
// Everything is real: a bare git repository on disk as the remote, the server in process
// (`startServer`, the same as `mergekey serve`), LMDB in a temp dir, webhooks over loopback HTTP.
import { createHmac, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { resolveServeConfig } from '../controller/config/defaults.ts';
import { FixtureRepo, type Fixture } from '../test/support/git.ts';
import { appYaml, BASE_FILES, tempDir } from '../test/support/reconcile.ts';
import { startServer } from '../controller/server/start.ts';
import { serverDeps as deps } from '../test/support/server.ts';

const { values } = parseArgs({
  options: {
    apps: { type: 'string', default: '10000' },
    commits: { type: 'string', default: '20' },
    deliveries: { type: 'string', default: '50' },
  },
});
const APPS = Number(values.apps);
const COMMITS = Number(values.commits);
const DELIVERIES = Number(values.deliveries);

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const ms = (n: number) => `${n.toFixed(1)} ms`;
const name = (i: number) => `app-${String(i).padStart(5, '0')}`;

const dir = tempDir('mergekey-bench-');
try {
  const dataDir = join(dir.path, 'data');
  const publicJwk = (await deps.openKeys(dataDir, { create: true })).sealingPublicJwk;
  const repo = await FixtureRepo.create(join(dir.path, 'manifests.git'));

  let started = performance.now();
  const files: Fixture = { ...BASE_FILES };
  const sealed = new Map<number, string>();
  for (let i = 0; i < APPS; i++) {
    sealed.set(i, await deps.seal(publicJwk, { kind: 'Application', name: name(i) }, randomBytes(32).toString('base64url')));
    files[`apps/${name(i)}.yaml`] = appYaml(name(i), sealed.get(i)!);
  }
  await repo.commit(files);
  console.log(`setup: ${APPS} applications with sealed secrets committed in ${ms(performance.now() - started)}`);

  const secretFile = join(dir.path, 'webhook-secret');
  const webhookSecret = randomBytes(24).toString('hex');
  writeFileSync(secretFile, webhookSecret, { mode: 0o600 });
  const config = resolveServeConfig(
    // An http issuer: the webhooks go over plain HTTP on loopback, which an https issuer refuses.
    { repo: repo.path, data: dataDir, port: '0', poll: '0', issuer: 'http://auth.example.com', 'webhook-secret-file': secretFile, 'log-level': 'warn' },
    {},
  );

  started = performance.now();
  const server = await startServer(config, deps);
  await server.initialSync;
  const initialMs = performance.now() - started;
  const initialRun = server.loop.last!;
  if (initialRun.result !== 'applied' || server.store.config.applications().length !== APPS) {
    throw new Error(`initial sync did not apply ${APPS} applications: ${JSON.stringify(initialRun)}`);
  }
  const objects = server.reconciler.status().objects;
  console.log(
    `initial sync: ${ms(initialMs)} (fetch ${ms(initialRun.fetchMs ?? 0)}), ${objects.ready}/${objects.total} objects ready` +
      `  [target < 10 s: ${initialMs < 10_000 ? 'met' : 'MISSED'}]`,
  );

  const change = async (i: number, label: string) => {
    const index = i % APPS;
    return repo.commit({ [`apps/${name(index)}.yaml`]: appYaml(name(index), sealed.get(index)!, { description: label }) });
  };

  const afterFetch: number[] = [];
  const total: number[] = [];
  for (let i = 0; i < COMMITS; i++) {
    const commit = await change(i * 7919, `Edit number ${i}.`);
    await server.loop.trigger('bench');
    const run = server.loop.last!;
    if (run.result !== 'applied' || run.commit !== commit) throw new Error(`commit ${i} not applied: ${JSON.stringify(run)}`);
    afterFetch.push(run.durationMs - (run.fetchMs ?? 0));
    total.push(run.durationMs);
  }
  afterFetch.sort((a, b) => a - b);
  total.sort((a, b) => a - b);
  console.log(
    `one-file commit, fetched → applied (${COMMITS} commits): median ${ms(percentile(afterFetch, 50))}, p99 ${ms(percentile(afterFetch, 99))}` +
      `; with the fetch: median ${ms(percentile(total, 50))}  [target < 100 ms: ${percentile(afterFetch, 50) < 100 ? 'met' : 'MISSED'}]`,
  );

  const delivered: number[] = [];
  for (let i = 0; i < DELIVERIES; i++) {
    const index = (i * 104_729) % APPS;
    const description = `Webhook delivery ${i}.`;
    const commit = await change(index, description);
    const body = JSON.stringify({ ref: 'refs/heads/main', after: commit, repository: { full_name: 'bench/manifests', clone_url: repo.path } });
    const start = performance.now();
    const response = await fetch(`${server.url}/webhooks/github`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-github-delivery': crypto.randomUUID(),
        'x-hub-signature-256': `sha256=${createHmac('sha256', webhookSecret).update(body).digest('hex')}`,
      },
      body,
    });
    if (response.status !== 202) throw new Error(`webhook answered ${response.status}: ${await response.text()}`);
    // Served = what the token endpoints read: the record in the store.
    while (server.store.config.application(name(index))?.spec.description !== description) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    delivered.push(performance.now() - start);
  }
  delivered.sort((a, b) => a - b);
  console.log(
    `webhook delivery → change served (${DELIVERIES} deliveries): median ${ms(percentile(delivered, 50))}, p99 ${ms(percentile(delivered, 99))}, max ${ms(delivered.at(-1)!)}` +
      `  [target p99 < 1 s: ${percentile(delivered, 99) < 1000 ? 'met' : 'MISSED'}]`,
  );
  console.log(`peak RSS: ${Math.round(process.resourceUsage().maxRSS / 1024)} MB`);
  await server.close();
} finally {
  dir.remove();
}
