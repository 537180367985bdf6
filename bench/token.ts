// `npm run bench:token [-- --seconds 10 --warmup 2 --connections 32]`: tokens per second and p99
// latency of the client_credentials grant, mergekey side by side with node-oidc-provider issuing
// JWT access tokens, on this machine, in this run. Targets (issue 4): at least 2.2 times
// oidc-provider's tokens/s, and p99 at or under 5 ms at 32 connections.
//
// Everything is real: `mergekey serve` as an operator starts it (a child process, its default
// workers, default log level) against a generated git repository with one client_credentials
// application; oidc-provider as bench/oidc-provider-peer.ts configures it, once as one process
// (its default) and once with as many cluster workers as mergekey runs. The load comes from
// autocannon in a third process (bench/load.ts) over loopback: a warm-up, then the measured run.
// Before timing, one token from each server is checked as a JWT signed by a key in its JWKS.
// After the run, mergekey's token listing must hold every token it issued: that is what it does
// beyond oidc-provider's JWT tokens, and the comparison is only fair if it was done.
//
// Then, on the same server, the authorization code exchange (issue 14): a person signs in to the
// portal once, and `--codes` authorizations of a first-party app (`consent: skip`) are driven
// through GET /oauth2/authorize and /portal/authorize before anything is timed, each with its own
// PKCE verifier; the measured step is POST /oauth2/token grant_type=authorization_code (with the
// verifier, scope openid profile: an ID token and a refresh token too), each code spent once. Codes
// live at most 60 s, so the count is kept small enough to be exchanged within that. No peer runs
// this step: its figures are reported, beside the others, with no target.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { FixtureRepo } from '../test/support/git.ts';
import { tempDir } from '../test/support/reconcile.ts';
import { Visitor } from '../test/support/portal.ts';
import { loadOrCreateKeys } from '../controller/sealing/keys.ts';
import { seal } from '../controller/sealing/seal.ts';
import type { LoadInput, LoadResult } from './load.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '32' },
    workers: { type: 'string' },
    // Writes a V8 CPU profile of every mergekey process into DIR (node --cpu-prof), and skips the
    // peers: for finding where the time goes, not for the comparison.
    profile: { type: 'string' },
    // Measures mergekey alone (to compare two versions of it).
    'skip-peers': { type: 'boolean', default: false },
    // Authorization codes prepared for the code exchange step (a fifth of them warm up).
    codes: { type: 'string', default: '3000' },
  },
});
const PROFILE = values.profile;
const ALONE = PROFILE !== undefined || values['skip-peers'];
const SECONDS = Number(values.seconds);
const WARMUP = Number(values.warmup);
const CONNECTIONS = Number(values.connections);
const CODES = Number(values.codes);
// mergekey's default (`--workers auto`): one per core. `--workers` here overrides both sides.
const WORKERS = values.workers === undefined ? availableParallelism() : Number(values.workers);

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'cli/bin/mergekey.js');
// http: the benchmark measures the server over plain HTTP on loopback, which an https issuer refuses.
const ISSUER = 'http://auth.bench.mergekey.test';
const AUDIENCE = 'https://api.example.com/orders';
const SCOPE = 'orders:read orders:write';
// The code exchange step's first-party app, and the person who signs in. Nothing listens at the
// redirect URI: the benchmark reads the code from the portal's redirect.
const SIGN_IN = { app: 'signin', clientId: 'mk_benchsignin0001', redirectUri: 'http://127.0.0.1:9/callback', user: 'carol', scope: 'openid profile' } as const;

interface Measured {
  name: string;
  result: LoadResult;
  /** CPU time the server's processes spent per token issued in the measured run (µs); undefined off Linux. */
  cpuPerToken: number | undefined;
}

const dir = tempDir('mergekey-bench-token-');
const children = new Set<ChildProcess>();
const cleanup = () => {
  for (const child of children) child.kill('SIGKILL');
  dir.remove();
};
process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});

try {
  console.log(`bench:token — ${CONNECTIONS} connections, ${WARMUP} s warm-up, ${SECONDS} s measured, ${WORKERS} workers, ${availableParallelism()} cores`);
  const results: Measured[] = [];
  const { clientCredentials, codeExchange } = await benchMergekey();
  results.push(clientCredentials);
  if (ALONE) {
    for (const { name, result, cpuPerToken } of [clientCredentials, codeExchange]) {
      const cpu = cpuPerToken === undefined ? '' : `, ${cpuPerToken.toFixed(0)} µs CPU/token`;
      console.log(`${name}: ${result.tokensPerSecond.toFixed(0)} tokens/s, p50 ${result.p50} ms, p99 ${result.p99} ms${cpu}`);
    }
    console.log(`(the authorization_code row: reported, no peer)${PROFILE === undefined ? '' : `; CPU profiles in ${PROFILE}`}`);
    process.exit(0);
  }
  const clientId = 'bench-client';
  const clientSecret = randomBytes(32).toString('base64url');
  results.push(await benchPeer('oidc-provider, 1 process', 1, clientId, clientSecret));
  results.push(await benchPeer(`oidc-provider, ${WORKERS} workers`, WORKERS, clientId, clientSecret));
  report(results, codeExchange);
} finally {
  cleanup();
}

async function benchMergekey(): Promise<{ clientCredentials: Measured; codeExchange: Measured }> {
  const data = join(dir.path, 'data');
  const keys = await loadOrCreateKeys(data, { create: true });
  const clientId = 'mk_benchclient0001';
  const clientSecret = randomBytes(32).toString('base64url');
  const signIn = { secret: randomBytes(32).toString('base64url'), password: randomBytes(16).toString('base64url') };
  const repo = await FixtureRepo.create(join(dir.path, 'manifests.git'));
  await repo.commit({
    'mergekey.yaml': `apiVersion: mergekey/v1\nkind: Settings\nmetadata:\n  name: mergekey\nspec:\n  issuer: ${ISSUER}\n  defaultPlan: bench\n  firstPartyApps: [${SIGN_IN.app}]\n`,
    'plans/bench.yaml': 'apiVersion: mergekey/v1\nkind: Plan\nmetadata:\n  name: bench\nspec:\n  description: No practical rate limit.\n  tokenRequestsPerMinute: 1000000\n',
    'users/alice.yaml': 'apiVersion: mergekey/v1\nkind: User\nmetadata:\n  name: alice\nspec:\n  roles: [developer]\n',
    'apis/orders.yaml':
      `apiVersion: mergekey/v1\nkind: Api\nmetadata:\n  name: orders\nspec:\n  description: Orders.\n  audience: ${AUDIENCE}\n` +
      '  scopes:\n    - name: orders:read\n      description: Read.\n    - name: orders:write\n      description: Write.\n',
    'apps/bench.yaml':
      `apiVersion: mergekey/v1\nkind: Application\nmetadata:\n  name: bench\nspec:\n  description: The benchmark's client.\n  owners: [alice]\n` +
      `  clientId: ${clientId}\n  scopes: [orders:read, orders:write]\n  grantTypes: [client_credentials]\n  credentials:\n    secrets:\n` +
      `      - sealed: ${await seal(keys.sealingPublicJwk, { kind: 'Application', name: 'bench' }, clientSecret)}\n`,
    [`users/${SIGN_IN.user}.yaml`]:
      `apiVersion: mergekey/v1\nkind: User\nmetadata:\n  name: ${SIGN_IN.user}\nspec:\n  displayName: Carol\n  roles: [developer]\n  password:\n` +
      `    sealed: ${await seal(keys.sealingPublicJwk, { kind: 'User', name: SIGN_IN.user }, signIn.password)}\n`,
    [`apps/${SIGN_IN.app}.yaml`]:
      `apiVersion: mergekey/v1\nkind: Application\nmetadata:\n  name: ${SIGN_IN.app}\nspec:\n  description: A first-party web app people sign in to.\n  owners: [alice]\n` +
      `  clientId: ${SIGN_IN.clientId}\n  scopes: [openid, profile]\n  grantTypes: [authorization_code, refresh_token]\n  redirectUris: [${SIGN_IN.redirectUri}]\n  consent: skip\n` +
      `  credentials:\n    secrets:\n      - sealed: ${await seal(keys.sealingPublicJwk, { kind: 'Application', name: SIGN_IN.app }, signIn.secret)}\n`,
  });

  const profiling = PROFILE === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${PROFILE}`];
  const server = start(process.execPath, [...profiling, bin, 'serve', '--repo', repo.path, '--data', data, '--port', '0', '--poll', '0', '--issuer', ISSUER, '--workers', String(WORKERS)]);
  try {
    const listening = await server.line(/mergekey serving on/);
    const url = /serving on (https?:\/\/[^\s"]+)/.exec(listening)![1]!;
    const adminUrl = /operator endpoints on (http:\/\/[^\s")]+)/.exec(listening)![1]!;
    await until(async () => (await fetch(`${adminUrl}/readyz`)).status === 200, 'mergekey to apply the repository');
    const request = tokenRequest(`${url}/oauth2/token`, clientId, clientSecret);
    await verify('mergekey', request, `${url}/oauth2/jwks`, ISSUER);
    const { result, cpuPerToken } = await load(request, server.pid);

    // Every token issued (the check's, the warm-up's and the run's) must be listable. autocannon
    // does not count the answers still in flight when a run ends: up to one per connection.
    const listed = await countListed(url, clientId, clientSecret);
    const counted = 1 + result.warmupOk + result.ok;
    console.log(`  mergekey: ${listed} tokens listed by GET /api/v1/apps/bench/tokens; ${counted} counted by autocannon (+ up to ${2 * CONNECTIONS} in flight at the ends of runs)`);
    if (listed < counted || listed > counted + 2 * CONNECTIONS) throw new Error(`mergekey listed ${listed} tokens but issued ${counted}`);
    const codeExchange = await benchCodeExchange(url, server.pid, signIn);
    return { clientCredentials: { name: `mergekey, ${WORKERS} workers`, result, cpuPerToken }, codeExchange };
  } finally {
    await server.stop();
  }
}

/**
 * The code exchange step: authorizations first (untimed), then one POST /oauth2/token per code.
 * Every exchange must answer 200: a code that had expired or was refused fails the benchmark.
 */
async function benchCodeExchange(url: string, serverPid: number, signIn: { secret: string; password: string }): Promise<Measured> {
  const visitor = new Visitor(url);
  const signedIn = await visitor.post('/portal/sign-in', { _csrf: await visitor.csrf('/portal/sign-in'), name: SIGN_IN.user, password: signIn.password });
  if (signedIn.status !== 303) throw new Error(`${SIGN_IN.user} could not sign in to the portal: ${signedIn.status}`);
  const request = {
    url: `${url}/oauth2/token`,
    headers: {
      authorization: `Basic ${Buffer.from(`${SIGN_IN.clientId}:${signIn.secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: '',
  };
  // One exchange checked in full before timing: the grant answers with an ID token and a refresh token.
  const check = await fetch(request.url, { method: 'POST', headers: request.headers, body: await authorizeOnce(visitor, url) });
  const checked = (await check.json()) as Record<string, unknown>;
  if (check.status !== 200 || typeof checked.access_token !== 'string' || typeof checked.id_token !== 'string' || typeof checked.refresh_token !== 'string') {
    throw new Error(`the code exchange did not give access, ID and refresh tokens: ${check.status} ${JSON.stringify(checked)}`);
  }

  const started = Date.now();
  const bodies: string[] = [];
  let asked = 0;
  // A few authorizations at a time, as people signing in would arrive; none of it is measured.
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (asked < CODES) {
      asked += 1;
      bodies.push(await authorizeOnce(visitor, url));
    }
  }));
  const warmup = Math.floor(CODES / 5);
  console.log(`  mergekey: ${CODES} authorizations (sign-in once, consent: skip) prepared in ${((Date.now() - started) / 1000).toFixed(1)} s, before the timed exchanges`);
  const measured = await load({ ...request, bodies: { warmup: bodies.slice(0, warmup), measured: bodies.slice(warmup) } }, serverPid);
  // load.ts keeps one code per connection spare.
  const expected = CODES - warmup - Math.min(CONNECTIONS, Math.floor((CODES - warmup) / 2));
  if (measured.result.ok !== expected) throw new Error(`${measured.result.ok} of ${expected} measured exchanges answered 200`);
  return { name: `mergekey, ${WORKERS} workers, authorization_code + PKCE`, ...measured };
}

/** One authorization by the signed-in visitor, followed through both redirects: the token request body that spends its code. */
async function authorizeOnce(visitor: Visitor, url: string): Promise<string> {
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(16).toString('base64url');
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: SIGN_IN.clientId,
    redirect_uri: SIGN_IN.redirectUri,
    scope: SIGN_IN.scope,
    state,
    nonce: randomBytes(16).toString('base64url'),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  });
  const toPortal = await visitor.get(`/oauth2/authorize?${query}`);
  if (toPortal.status !== 303 || toPortal.location === null) throw new Error(`GET /oauth2/authorize answered ${toPortal.status}: ${toPortal.html.slice(0, 300)}`);
  // The Location is under the issuer, a public name: the same path on the server's own URL.
  const portal = new URL(toPortal.location, url);
  const toClient = await visitor.get(`${portal.pathname}${portal.search}`);
  const back = toClient.location === null ? undefined : new URL(toClient.location);
  const code = back?.searchParams.get('code');
  if (toClient.status !== 303 || back === undefined || !back.href.startsWith(SIGN_IN.redirectUri) || back.searchParams.get('state') !== state || code == null) {
    throw new Error(`GET /portal/authorize did not redirect back with a code: ${toClient.status} ${toClient.location ?? toClient.html.slice(0, 300)}`);
  }
  return new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: SIGN_IN.redirectUri, code_verifier: verifier }).toString();
}

async function benchPeer(name: string, workers: number, clientId: string, clientSecret: string): Promise<Measured> {
  const port = await freePort();
  const peer = start(process.execPath, ['--import', 'tsx', join(root, 'bench/oidc-provider-peer.ts'), String(port), String(workers), clientId, clientSecret]);
  try {
    const url = /listening (\S+)/.exec(await peer.line(/^listening /))![1]!;
    const request = tokenRequest(`${url}/token`, clientId, clientSecret);
    await verify(name, request, `${url}/jwks`, url);
    return { name, ...(await load(request, peer.pid)) };
  } finally {
    await peer.stop();
  }
}

function tokenRequest(url: string, clientId: string, clientSecret: string): Omit<LoadInput, 'connections' | 'warmupSeconds' | 'seconds'> {
  return {
    url,
    headers: {
      authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: SCOPE }).toString(),
  };
}

/** One token, checked as an RFC 9068 access token signed by a key the server publishes. */
async function verify(name: string, request: ReturnType<typeof tokenRequest>, jwksUrl: string, issuer: string): Promise<void> {
  const response = await fetch(request.url, { method: 'POST', headers: request.headers, body: request.body });
  const body = (await response.json()) as { access_token?: string };
  if (response.status !== 200 || body.access_token === undefined) throw new Error(`${name}: no token: ${response.status} ${JSON.stringify(body)}`);
  const jwks = (await (await fetch(jwksUrl)).json()) as JSONWebKeySet;
  const { payload, protectedHeader } = await jwtVerify(body.access_token, createLocalJWKSet(jwks), { issuer, audience: AUDIENCE, typ: 'at+jwt' });
  if (protectedHeader.alg !== 'ES256') throw new Error(`${name}: signed with ${protectedHeader.alg}, not ES256`);
  console.log(`  ${name}: a valid JWT (${decodeProtectedHeader(body.access_token).alg}, typ ${protectedHeader.typ}, aud ${String(payload.aud)}, ${body.access_token.length} bytes)`);
}

/** Drives the server whose process tree starts at `serverPid`; its CPU time is sampled around the measured run. */
async function load(request: ReturnType<typeof tokenRequest> & Pick<LoadInput, 'bodies'>, serverPid: number): Promise<{ result: LoadResult; cpuPerToken: number | undefined }> {
  const input: LoadInput = { ...request, connections: CONNECTIONS, warmupSeconds: WARMUP, seconds: SECONDS };
  let argument = JSON.stringify(input);
  if (input.bodies !== undefined) {
    // Thousands of bodies exceed what one argument may hold: load.ts reads them from a file.
    const file = join(dir.path, 'load-input.json');
    writeFileSync(file, argument);
    argument = `@${file}`;
  }
  const child = start(process.execPath, ['--import', 'tsx', join(root, 'bench/load.ts'), argument]);
  await child.line(/^measuring$/);
  const before = treeCpuSeconds(serverPid);
  const result = JSON.parse(await child.line(/^\{/)) as LoadResult;
  const after = treeCpuSeconds(serverPid);
  await child.stop();
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${request.url}: ${result.non2xx} non-2xx answers and ${result.errors} errors`);
  const cpuPerToken = before === undefined || after === undefined ? undefined : ((after - before) * 1e6) / result.ok;
  return { result, cpuPerToken };
}

/**
 * CPU time (user + system, seconds) of a process and all its descendants, from /proc: on a shared
 * machine, CPU per token varies far less than tokens per second. Undefined where there is no /proc.
 */
function treeCpuSeconds(pid: number): number | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return undefined;
  }
  const stats = new Map<number, { ppid: number; ticks: number }>();
  for (const entry of entries) {
    try {
      const text = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name, which is in parentheses and may hold spaces.
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
      stats.set(Number(entry), { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // The process ended while we looked.
    }
  }
  let ticks = 0;
  const tree = new Set([pid]);
  for (let size = 0; size !== tree.size; ) {
    size = tree.size;
    for (const [child, { ppid }] of stats) if (tree.has(ppid)) tree.add(child);
  }
  for (const member of tree) ticks += stats.get(member)?.ticks ?? 0;
  // Linux reports these in USER_HZ, 100 per second on every architecture it supports.
  return ticks / 100;
}

async function countListed(url: string, clientId: string, clientSecret: string): Promise<number> {
  const authorization = `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`;
  let count = 0;
  let after: string | undefined;
  do {
    const query = new URLSearchParams({ limit: '1000', ...(after === undefined ? {} : { after }) });
    const page = (await (await fetch(`${url}/api/v1/apps/bench/tokens?${query}`, { headers: { authorization } })).json()) as { tokens: unknown[]; next?: string };
    count += page.tokens.length;
    after = page.next;
  } while (after !== undefined);
  return count;
}

function report(results: Measured[], codeExchange: Measured): void {
  const [ours, single, clustered] = results as [Measured, Measured, Measured];
  console.log('');
  const rows = [...results, codeExchange].map(({ name, result, cpuPerToken }) => [
    name,
    result.tokensPerSecond.toFixed(0),
    `${result.p50}`,
    `${result.p99}`,
    `${result.max}`,
    cpuPerToken === undefined ? 'n/a' : cpuPerToken.toFixed(0),
  ]);
  const header = ['server', 'tokens/s', 'p50 ms', 'p99 ms', 'max ms', 'CPU µs/token'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const row of [header, ...rows]) console.log(row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
  console.log('');
  const ratio = (peer: Measured) => ours.result.tokensPerSecond / peer.result.tokensPerSecond;
  const verdict = (met: boolean) => (met ? 'met' : 'MISSED');
  console.log(`tokens/s vs ${single.name}: ${ratio(single).toFixed(2)}×  [target ≥ 2.2×: ${verdict(ratio(single) >= 2.2)}]`);
  console.log(`tokens/s vs ${clustered.name}: ${ratio(clustered).toFixed(2)}×  [target ≥ 2.2×: ${verdict(ratio(clustered) >= 2.2)}]`);
  if (ours.cpuPerToken !== undefined && single.cpuPerToken !== undefined) {
    console.log(`CPU per token, ${single.name} / mergekey: ${(single.cpuPerToken / ours.cpuPerToken).toFixed(2)}×`);
  }
  console.log(`mergekey p99 at ${CONNECTIONS} connections: ${ours.result.p99} ms  [target ≤ 5 ms: ${verdict(ours.result.p99 <= 5)}]`);
  console.log(`${codeExchange.name}: ${codeExchange.result.tokensPerSecond.toFixed(0)} tokens/s, p99 ${codeExchange.result.p99} ms  [reported, no peer]`);
}

interface Child {
  pid: number;
  /** The first output line matching `pattern`. */
  line(pattern: RegExp): Promise<string>;
  /** SIGTERM, and the exit. */
  stop(): Promise<void>;
}

function start(command: string, args: string[]): Child {
  const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const lines: string[] = [];
  const waiters: { pattern: RegExp; resolve(line: string): void; reject(error: Error): void }[] = [];
  const exited = new Promise<void>((resolve) =>
    child.on('exit', (code, signal) => {
      children.delete(child);
      for (const waiter of waiters.splice(0)) waiter.reject(new Error(`${args[1] ?? command} exited (${signal ?? code}) before printing ${waiter.pattern}:\n${lines.slice(-20).join('\n')}`));
      resolve();
    }),
  );
  let buffer = '';
  const onData = (chunk: Buffer) => {
    buffer += chunk.toString();
    let newline;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      lines.push(line);
      for (const waiter of waiters.filter((w) => w.pattern.test(line))) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  return {
    pid: child.pid!,
    line: (pattern) => {
      const seen = lines.find((l) => pattern.test(l));
      return seen !== undefined ? Promise.resolve(seen) : new Promise((resolve, reject) => waiters.push({ pattern, resolve, reject }));
    },
    async stop() {
      if (children.has(child)) child.kill('SIGTERM');
      await exited;
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}
