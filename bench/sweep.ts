// `npm run bench:sweep [-- --seconds 180 --ttl 10s --every 10 --connections 32 --workers N]`: does
// the store stop growing when tokens are issued as fast as the server can for a long time? Issue 11
// asks that expired records be swept as fast as the fastest sustained issuance creates them.
//
// `mergekey serve` as an operator starts it (a child process, its default workers) over a
// generated repository whose one application's plan issues short-lived access tokens (`--ttl`).
// autocannon (bench/load.ts, a process of its own) asks for client_credentials tokens for
// `--seconds`; every `--every` seconds this prints the data file's size and how many access token
// records the store holds, live and expired-but-not-yet-swept. After the load it keeps watching
// for two token lifetimes more: by then every expired record must be gone. The store is opened
// read-only for each sample and closed again, so no read transaction of ours holds pages the
// server could reuse.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { FixtureRepo } from '../test/support/git.ts';
import { tempDir } from '../test/support/reconcile.ts';
import { loadOrCreateKeys } from '../controller/sealing/keys.ts';
import { seal } from '../controller/sealing/seal.ts';
import { openHandles } from '../controller/store/handles.ts';
import type { LoadInput, LoadResult } from './load.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '180' },
    ttl: { type: 'string', default: '10s' },
    every: { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
    workers: { type: 'string' },
  },
});
const SECONDS = Number(values.seconds);
const TTL = values.ttl;
const TTL_SECONDS = Number(TTL.slice(0, -1)) * { s: 1, m: 60, h: 3600, d: 86400 }[TTL.slice(-1) as 's']!;
const EVERY = Number(values.every);
const CONNECTIONS = Number(values.connections);
const WORKERS = values.workers === undefined ? availableParallelism() : Number(values.workers);
if (![SECONDS, TTL_SECONDS, EVERY, CONNECTIONS, WORKERS].every((n) => Number.isFinite(n) && n > 0)) throw new Error('bad arguments');

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'cli/bin/mergekey.js');
// http: the benchmark measures the server over plain HTTP on loopback, which an https issuer refuses.
const ISSUER = 'http://auth.bench.mergekey.test';
const dir = tempDir('mergekey-bench-sweep-');
const children = new Set<ChildProcess>();
const cleanup = () => {
  for (const child of children) child.kill('SIGKILL');
  dir.remove();
};
process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});

interface Sample {
  at: number;
  bytes: number;
  live: number;
  expired: number;
}

try {
  console.log(`bench:sweep — ${SECONDS} s of load at ${CONNECTIONS} connections, tokens live ${TTL}, ${WORKERS} workers, ${availableParallelism()} cores`);
  const data = join(dir.path, 'data');
  const { url, clientId, clientSecret, server } = await startServer(data);
  const started = Date.now();
  const input: LoadInput = {
    url: `${url}/oauth2/token`,
    headers: {
      authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'orders:read' }).toString(),
    connections: CONNECTIONS,
    warmupSeconds: 1,
    seconds: SECONDS,
  };
  const load = spawn(process.execPath, ['--import', 'tsx', join(root, 'bench/load.ts'), JSON.stringify(input)], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(load);
  let output = '';
  load.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const loaded = new Promise<LoadResult>((resolve, reject) =>
    load.on('exit', () => {
      children.delete(load);
      const line = output.split('\n').find((l) => l.startsWith('{'));
      if (line === undefined) reject(new Error(`the load generator printed no result:\n${output}`));
      else resolve(JSON.parse(line) as LoadResult);
    }),
  );
  let done: LoadResult | undefined;
  void loaded.then((result) => (done = result));

  console.log('     t s   data.mdb MB   access token records   of which expired');
  const samples: Sample[] = [];
  const print = (sample: Sample, note = '') =>
    console.log(`${String(sample.at).padStart(8)}  ${(sample.bytes / 1e6).toFixed(1).padStart(12)}  ${String(sample.live + sample.expired).padStart(22)}  ${String(sample.expired).padStart(17)}${note}`);
  while (done === undefined) {
    await Promise.race([loaded, new Promise((resolve) => setTimeout(resolve, EVERY * 1000))]);
    const sample = measure(data, started);
    samples.push(sample);
    print(sample, done === undefined ? '' : '  (load ended)');
  }
  const result = await loaded;
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${result.non2xx} non-2xx answers and ${result.errors} errors`);
  console.log(`issued ${result.ok + result.warmupOk} tokens, ${result.tokensPerSecond.toFixed(0)} tokens/s, p99 ${result.p99} ms`);
  // Two token lifetimes after the last token was issued, nothing issued so far may be left.
  const endedAt = Date.now();
  let after = measure(data, started);
  while (after.live + after.expired > 0 && Date.now() - endedAt < 2 * TTL_SECONDS * 1000) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    after = measure(data, started);
  }
  print(after, `  (${((Date.now() - endedAt) / 1000).toFixed(0)} s after the load)`);
  await server.stop();

  // LMDB reuses freed pages, so the file grows to hold the most records the store ever held at
  // once (a burst of load or a moment the sweeper fell behind), and then no further. Unbounded
  // growth would go on through the second half of the run as in the first: the verdict asks that
  // the second half add almost nothing (2%).
  const half = samples[Math.floor(samples.length / 2)] ?? samples[0]!;
  const last = samples[samples.length - 1]!;
  const peakExpired = Math.max(...samples.map((s) => s.expired));
  const peakHeld = Math.max(...samples.map((s) => s.live + s.expired));
  console.log('');
  console.log(`most access token records held at once: ${peakHeld} (${(last.bytes / peakHeld).toFixed(0)} bytes of data file each)`);
  console.log(`data file: ${(half.bytes / 1e6).toFixed(1)} MB at ${half.at} s, ${(last.bytes / 1e6).toFixed(1)} MB at ${last.at} s, ${(after.bytes / 1e6).toFixed(1)} MB after  [stops growing: ${last.bytes <= half.bytes * 1.02 ? 'yes' : 'NO'}]`);
  console.log(`expired records not yet swept: at most ${peakExpired} during the load  [all gone within two lifetimes: ${after.live + after.expired === 0 ? 'yes' : `NO, ${after.live + after.expired} left`}]`);
} finally {
  cleanup();
}

/** The data file's size and the access token records, read from a fresh read-only view of the store. */
function measure(data: string, started: number): Sample {
  const bytes = statSync(join(data, 'store', 'data.mdb')).size;
  const store = openHandles(data, { checkDataFile: false });
  try {
    const now = Date.now() / 1000;
    let live = 0;
    let expired = 0;
    for (const { value } of store.tokens.getRange()) {
      if ((value as { exp: number }).exp <= now) expired++;
      else live++;
    }
    return { at: Math.round((Date.now() - started) / 1000), bytes, live, expired };
  } finally {
    void store.close();
  }
}

async function startServer(data: string) {
  const keys = await loadOrCreateKeys(data, { create: true });
  const clientId = 'mk_benchclient0001';
  const clientSecret = randomBytes(32).toString('base64url');
  const repo = await FixtureRepo.create(join(dir.path, 'manifests.git'));
  await repo.commit({
    'mergekey.yaml': `apiVersion: mergekey/v1\nkind: Settings\nmetadata:\n  name: mergekey\nspec:\n  issuer: ${ISSUER}\n  defaultPlan: bench\n`,
    'plans/bench.yaml': `apiVersion: mergekey/v1\nkind: Plan\nmetadata:\n  name: bench\nspec:\n  description: Short-lived tokens, no practical rate limit.\n  accessTokenTtl: ${TTL}\n  tokenRequestsPerMinute: 1000000\n`,
    'users/alice.yaml': 'apiVersion: mergekey/v1\nkind: User\nmetadata:\n  name: alice\nspec:\n  roles: [developer]\n',
    'apis/orders.yaml':
      'apiVersion: mergekey/v1\nkind: Api\nmetadata:\n  name: orders\nspec:\n  description: Orders.\n  audience: https://api.example.com/orders\n' +
      '  scopes:\n    - name: orders:read\n      description: Read.\n',
    'apps/bench.yaml':
      `apiVersion: mergekey/v1\nkind: Application\nmetadata:\n  name: bench\nspec:\n  description: The benchmark's client.\n  owners: [alice]\n` +
      `  clientId: ${clientId}\n  scopes: [orders:read]\n  grantTypes: [client_credentials]\n  credentials:\n    secrets:\n` +
      `      - sealed: ${await seal(keys.sealingPublicJwk, { kind: 'Application', name: 'bench' }, clientSecret)}\n`,
  });
  const child = spawn(process.execPath, [bin, 'serve', '--repo', repo.path, '--data', data, '--port', '0', '--poll', '0', '--issuer', ISSUER, '--workers', String(WORKERS)], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const exited = new Promise<void>((resolve) => child.on('exit', () => (children.delete(child), resolve())));
  let log = '';
  const [url, adminUrl] = await new Promise<[string, string]>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      const found = /serving on (https?:\/\/[^\s"]+) \(operator endpoints on (http:\/\/[^\s")]+)\)/.exec(log);
      if (found !== null) resolve([found[1]!, found[2]!]);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then(() => reject(new Error(`mergekey serve exited:\n${log}`)));
  });
  for (let tries = 0; (await fetch(`${adminUrl}/readyz`)).status !== 200; tries++) {
    if (tries > 500) throw new Error('mergekey did not apply the repository');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {
    url,
    clientId,
    clientSecret,
    server: {
      async stop() {
        if (children.has(child)) child.kill('SIGTERM');
        await exited;
      },
    },
  };
}
