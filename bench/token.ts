// `npm run bench:token [-- --seconds 10 --warmup 2 --connections 32 --state lmdb|postgres|both]`:
// mergekey side by side with node-oidc-provider (bench/oidc-provider-peer.ts), on this machine, in
// this run, at 32 connections, on three workloads (issue 13), each with mergekey on
// `--state lmdb` and on `--state postgres://…` (a throwaway cluster, test/support/postgres.ts,
// fsync on, migrated by `mergekey db migrate`):
// - client_credentials: tokens per second and p99. oidc-provider issues JWT access tokens, which it
//   neither stores nor can revoke; every token mergekey issues is recorded and revocable: after
//   the run, its token listing must hold every token it issued, or the comparison is not fair.
//   oidc-provider runs once as one process (its default) and once with as many cluster workers as
//   mergekey runs.
// - refresh_token, durable rotation: each connection keeps a grant alive, sending each time the
//   refresh token of its last answer; every token is sent once (load.ts). mergekey's starting tokens
//   come from authorization code exchanges through the portal; oidc-provider's from its in-memory
//   adapter (one process: the adapter is one process's), with `rotateRefreshToken: true`.
// - introspection (RFC 7662) by a resource server (an Application an Api lists under
//   `spec.introspection`) of live access tokens (a set of them, in turn), every answer checked to be
//   active; oidc-provider introspects its opaque in-memory tokens (one process).
// Columns: answers per second (tokens/s for the grants), latency percentiles, CPU per answer of the
// server's processes (for PostgreSQL, with the database server's), and PostgreSQL round trips per
// answer, read from the operator listener's /metrics (`mergekey_postgres_round_trips_total`)
// around the measured run. Targets (issues 4 and 13) are printed with their verdicts.
//
// Everything is real: `mergekey serve` as an operator starts it (a child process, its default
// workers, default log level) against a generated git repository; the load comes from autocannon
// in a third process (bench/load.ts) over loopback: a warm-up, then the measured run. Before
// timing, one answer of each server is checked in full.
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
import { startPostgres, type PostgresCluster } from '../test/support/postgres.ts';
import { tempDir } from '../test/support/reconcile.ts';
import { Visitor } from '../test/support/portal.ts';
import { loadOrCreateKeys } from '../controller/sealing/keys.ts';
import { seal } from '../controller/sealing/seal.ts';
import type { LoadInput, LoadResult } from './load.ts';

const WORKLOADS = ['client_credentials', 'refresh_token', 'introspection'] as const;
type Workload = (typeof WORKLOADS)[number];
type Backend = 'lmdb' | 'postgres';

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
    // Authorization codes prepared for the code exchange step (a fifth of them warm up); 0 skips the step.
    codes: { type: 'string', default: '3000' },
    // Where mergekey keeps token state: lmdb, postgres, or both, one after the other.
    state: { type: 'string', default: 'both' },
    // Only these workloads (repeatable); all three by default.
    workload: { type: 'string', multiple: true },
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
const BACKENDS: Backend[] = values.state === 'both' ? ['lmdb', 'postgres'] : values.state === 'lmdb' || values.state === 'postgres' ? [values.state] : [];
if (BACKENDS.length === 0) throw new Error(`--state ${values.state}: lmdb, postgres or both`);
const SELECTED: Workload[] = (values.workload ?? [...WORKLOADS]).map((name) => {
  if (!(WORKLOADS as readonly string[]).includes(name)) throw new Error(`--workload ${name}: one of ${WORKLOADS.join(', ')}`);
  return name as Workload;
});
/** The shared database's name on the throwaway cluster. */
const DATABASE = 'mergekey_bench';
/** How many live access tokens a resource server introspects, in turn. */
const INTROSPECTED = 256;

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'cli/bin/mergekey.js');
// http: the benchmark measures the server over plain HTTP on loopback, which an https issuer refuses.
const ISSUER = 'http://auth.bench.mergekey.test';
const AUDIENCE = 'https://api.example.com/orders';
const SCOPE = 'orders:read orders:write';
// The first-party app whose refresh tokens the refresh workload rotates and whose codes the code
// exchange step spends, and the person who signs in. Nothing listens at the redirect URI: the
// benchmark reads the code from the portal's redirect.
const SIGN_IN = { app: 'signin', clientId: 'mk_benchsignin0001', redirectUri: 'http://127.0.0.1:9/callback', user: 'carol', scope: 'openid profile' } as const;
// The resource server that introspects the Api's tokens.
const RESOURCE_SERVER = { app: 'orders-rs', clientId: 'mk_benchordersrs01' } as const;

interface Measured {
  name: string;
  workload: Workload | 'authorization_code';
  result: LoadResult;
  /** CPU time the server's processes spent per answer in the measured run (µs); undefined off Linux. */
  cpuPerAnswer: number | undefined;
  /** PostgreSQL round trips per answer in the measured run; undefined when not on PostgreSQL. */
  roundTrips?: number | undefined;
}

/** What the load of one workload needs besides the shared settings. */
type Request = Omit<LoadInput, 'connections' | 'warmupSeconds' | 'seconds'>;

/** What is sampled around a measured run: the server's processes, and its round-trip counter if any. */
interface Server {
  pids: () => number[];
  roundTrips?: () => Promise<number | undefined>;
  /** Runs between the warm-up and the measured run. */
  afterWarmup?: () => Promise<void>;
}

const dir = tempDir('mergekey-bench-token-');
const children = new Set<ChildProcess>();
let postgres: PostgresCluster | undefined;
const cleanup = async () => {
  for (const child of children) child.kill('SIGKILL');
  await postgres?.stop();
  dir.remove();
};
process.on('SIGINT', () => {
  void cleanup().finally(() => process.exit(130));
});

try {
  console.log(`bench:token — ${CONNECTIONS} connections, ${WARMUP} s warm-up, ${SECONDS} s measured, ${WORKERS} workers, ${availableParallelism()} cores; workloads ${SELECTED.join(', ')}; state ${BACKENDS.join(', ')}`);
  const results: Measured[] = [];
  for (const backend of BACKENDS) results.push(...(await benchMergekey(backend)));
  if (!ALONE) results.push(...(await benchPeers()));
  report(results);
  if (PROFILE !== undefined) console.log(`CPU profiles in ${PROFILE}`);
} finally {
  await cleanup();
}

async function benchMergekey(backend: Backend): Promise<Measured[]> {
  const data = join(dir.path, `data-${backend}`);
  const keys = await loadOrCreateKeys(data, { create: true });
  const clientId = 'mk_benchclient0001';
  const clientSecret = randomBytes(32).toString('base64url');
  const resourceServerSecret = randomBytes(32).toString('base64url');
  const signIn = { secret: randomBytes(32).toString('base64url'), password: randomBytes(16).toString('base64url') };
  const repo = await FixtureRepo.create(join(dir.path, `manifests-${backend}.git`));
  const sealed = (kind: 'Application' | 'User', name: string, value: string) => seal(keys.sealingPublicJwk, { kind, name }, value);
  await repo.commit({
    'mergekey.yaml': `apiVersion: mergekey/v1\nkind: Settings\nmetadata:\n  name: mergekey\nspec:\n  issuer: ${ISSUER}\n  defaultPlan: bench\n  firstPartyApps: [${SIGN_IN.app}]\n`,
    'plans/bench.yaml': 'apiVersion: mergekey/v1\nkind: Plan\nmetadata:\n  name: bench\nspec:\n  description: No practical rate limit.\n  tokenRequestsPerMinute: 1000000\n',
    'users/alice.yaml': 'apiVersion: mergekey/v1\nkind: User\nmetadata:\n  name: alice\nspec:\n  roles: [developer]\n',
    'apis/orders.yaml':
      `apiVersion: mergekey/v1\nkind: Api\nmetadata:\n  name: orders\nspec:\n  description: Orders.\n  audience: ${AUDIENCE}\n` +
      '  scopes:\n    - name: orders:read\n      description: Read.\n    - name: orders:write\n      description: Write.\n' +
      `  introspection:\n    applications: [${RESOURCE_SERVER.app}]\n`,
    'apps/bench.yaml':
      `apiVersion: mergekey/v1\nkind: Application\nmetadata:\n  name: bench\nspec:\n  description: The benchmark's client.\n  owners: [alice]\n` +
      `  clientId: ${clientId}\n  scopes: [orders:read, orders:write]\n  grantTypes: [client_credentials]\n  credentials:\n    secrets:\n` +
      `      - sealed: ${await sealed('Application', 'bench', clientSecret)}\n`,
    [`apps/${RESOURCE_SERVER.app}.yaml`]:
      `apiVersion: mergekey/v1\nkind: Application\nmetadata:\n  name: ${RESOURCE_SERVER.app}\nspec:\n  description: The Orders API, introspecting the tokens it is shown.\n  owners: [alice]\n` +
      `  clientId: ${RESOURCE_SERVER.clientId}\n  scopes: [orders:read]\n  grantTypes: [client_credentials]\n  credentials:\n    secrets:\n` +
      `      - sealed: ${await sealed('Application', RESOURCE_SERVER.app, resourceServerSecret)}\n`,
    [`users/${SIGN_IN.user}.yaml`]:
      `apiVersion: mergekey/v1\nkind: User\nmetadata:\n  name: ${SIGN_IN.user}\nspec:\n  displayName: Carol\n  roles: [developer]\n  password:\n` +
      `    sealed: ${await sealed('User', SIGN_IN.user, signIn.password)}\n`,
    [`apps/${SIGN_IN.app}.yaml`]:
      `apiVersion: mergekey/v1\nkind: Application\nmetadata:\n  name: ${SIGN_IN.app}\nspec:\n  description: A first-party web app people sign in to.\n  owners: [alice]\n` +
      `  clientId: ${SIGN_IN.clientId}\n  scopes: [openid, profile, orders:read, orders:write]\n  grantTypes: [authorization_code, refresh_token]\n  redirectUris: [${SIGN_IN.redirectUri}]\n  consent: skip\n` +
      `  credentials:\n    secrets:\n      - sealed: ${await sealed('Application', SIGN_IN.app, signIn.secret)}\n`,
  });

  const state = backend === 'postgres' ? ['--state', await migratedDatabase()] : [];
  const profiling = PROFILE === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${PROFILE}`];
  const server = start(process.execPath, [...profiling, bin, 'serve', '--repo', repo.path, '--data', data, '--port', '0', '--poll', '0', '--issuer', ISSUER, '--workers', String(WORKERS), ...state]);
  const label = `mergekey ${backend}, ${WORKERS} workers`;
  try {
    const listening = await server.line(/mergekey serving on/);
    const url = /serving on (https?:\/\/[^\s"]+)/.exec(listening)![1]!;
    const adminUrl = /operator endpoints on (http:\/\/[^\s")]+)/.exec(listening)![1]!;
    await until(async () => (await fetch(`${adminUrl}/readyz`)).status === 200, 'mergekey to apply the repository');
    const sampled: Server = {
      pids: () => [server.pid, ...(postgres === undefined ? [] : [postmasterPid(postgres)])],
      ...(backend === 'postgres' ? { roundTrips: () => postgresRoundTrips(adminUrl), afterWarmup: analyze } : {}),
    };
    const results: Measured[] = [];
    const visitor = new Visitor(url);
    const signedIn = await visitor.post('/portal/sign-in', { _csrf: await visitor.csrf('/portal/sign-in'), name: SIGN_IN.user, password: signIn.password });
    if (signedIn.status !== 303) throw new Error(`${SIGN_IN.user} could not sign in to the portal: ${signedIn.status}`);

    if (SELECTED.includes('client_credentials')) {
      const request = tokenRequest(`${url}/oauth2/token`, clientId, clientSecret);
      await verify(label, request, `${url}/oauth2/jwks`, ISSUER);
      const measured = await load(request, sampled);
      // Every token issued (the check's, the warm-up's and the run's) must be listable. autocannon
      // does not count the answers still in flight when a run ends: up to one per connection.
      const listed = await countListed(url, clientId, clientSecret);
      const counted = 1 + measured.result.warmupOk + measured.result.ok;
      console.log(`  ${label}: ${listed} tokens listed by GET /api/v1/apps/bench/tokens; ${counted} counted by autocannon (+ up to ${2 * CONNECTIONS} in flight at the ends of runs)`);
      if (listed < counted || listed > counted + 2 * CONNECTIONS) throw new Error(`${label} listed ${listed} tokens but issued ${counted}`);
      results.push({ name: label, workload: 'client_credentials', ...measured });
    }

    if (SELECTED.includes('refresh_token')) {
      const request = { ...tokenRequest(`${url}/oauth2/token`, SIGN_IN.clientId, signIn.secret), body: '' };
      // Refresh tokens of grants made as a person makes them: an authorization, then its code exchanged.
      const seeds: string[] = [];
      for (let i = 0; i < 1 + 2 * CONNECTIONS; i++) {
        const exchanged = await fetch(request.url, { method: 'POST', headers: request.headers, body: await authorizeOnce(visitor, url, SCOPE) });
        const body = (await exchanged.json()) as { refresh_token?: string };
        if (exchanged.status !== 200 || body.refresh_token === undefined) throw new Error(`${label}: the code exchange gave no refresh token: ${exchanged.status} ${JSON.stringify(body)}`);
        seeds.push(body.refresh_token);
      }
      await verifyRotation(label, request, seeds.pop()!, `${url}/oauth2/jwks`, ISSUER);
      const measured = await load({ ...request, refreshChains: { warmup: seeds.slice(0, CONNECTIONS), measured: seeds.slice(CONNECTIONS) } }, sampled);
      results.push({ name: label, workload: 'refresh_token', ...measured });
    }

    if (SELECTED.includes('introspection')) {
      const issue = tokenRequest(`${url}/oauth2/token`, clientId, clientSecret);
      const tokens = await accessTokens(issue);
      const request = introspectionRequest(`${url}/oauth2/introspect`, RESOURCE_SERVER.clientId, resourceServerSecret, tokens);
      await verifyIntrospection(label, request, clientId);
      const measured = await load(request, sampled);
      results.push({ name: label, workload: 'introspection', ...measured });
    }

    if (CODES > 0) results.push(await benchCodeExchange(url, sampled, visitor, signIn.secret, `${label}, authorization_code + PKCE`));
    return results;
  } finally {
    await server.stop();
    await postgres?.stop();
    postgres = undefined;
  }
}

/** A throwaway PostgreSQL (fsync on), one database migrated by `mergekey db migrate`: its URL. */
async function migratedDatabase(): Promise<string> {
  postgres = await startPostgres();
  const url = await postgres.createDatabase(DATABASE);
  const migrate = start(process.execPath, [bin, 'db', 'migrate', '--state', url]);
  await migrate.exited;
  if (migrate.code() !== 0) throw new Error(`mergekey db migrate failed:\n${migrate.output()}`);
  return url;
}

/**
 * ANALYZE, between a warm-up and its measured run: the tables grew from nothing within seconds, and
 * the plans PostgreSQL cached for them empty (sequential scans) would slow every statement of the
 * run as they grow. In service, autovacuum analyzes a table within a minute of such growth and
 * the cached plans are made again; a fresh database in its first minute runs on those plans.
 */
async function analyze(): Promise<void> {
  await postgres!.psql('ANALYZE', DATABASE);
}

/** The PostgreSQL server's postmaster, the parent of every backend process: its CPU is the store's. */
function postmasterPid(cluster: PostgresCluster): number {
  return Number(readFileSync(join(cluster.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
}

/** `mergekey_postgres_round_trips_total` summed over the processes, from the operator listener's /metrics. */
async function postgresRoundTrips(adminUrl: string): Promise<number | undefined> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  const line = /^mergekey_postgres_round_trips_total(?:\{[^}]*\})? (\d+(?:\.\d+)?(?:e\+?\d+)?)$/m.exec(text);
  return line === null ? undefined : Number(line[1]);
}

/**
 * The code exchange step: authorizations first (untimed), then one POST /oauth2/token per code.
 * Every exchange must answer 200: a code that had expired or was refused fails the benchmark.
 */
async function benchCodeExchange(url: string, server: Server, visitor: Visitor, secret: string, name: string): Promise<Measured> {
  const request = { ...tokenRequest(`${url}/oauth2/token`, SIGN_IN.clientId, secret), body: '' };
  // One exchange checked in full before timing: the grant answers with an ID token and a refresh token.
  const check = await fetch(request.url, { method: 'POST', headers: request.headers, body: await authorizeOnce(visitor, url, SIGN_IN.scope) });
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
      bodies.push(await authorizeOnce(visitor, url, SIGN_IN.scope));
    }
  }));
  const warmup = Math.floor(CODES / 5);
  console.log(`  ${name}: ${CODES} authorizations (sign-in once, consent: skip) prepared in ${((Date.now() - started) / 1000).toFixed(1)} s, before the timed exchanges`);
  const measured = await load({ ...request, bodies: { warmup: bodies.slice(0, warmup), measured: bodies.slice(warmup) } }, server);
  // load.ts keeps one code per connection spare.
  const expected = CODES - warmup - Math.min(CONNECTIONS, Math.floor((CODES - warmup) / 2));
  if (measured.result.ok !== expected) throw new Error(`${measured.result.ok} of ${expected} measured exchanges answered 200`);
  return { name, workload: 'authorization_code', ...measured };
}

/** One authorization by the signed-in visitor, followed through both redirects: the token request body that spends its code. */
async function authorizeOnce(visitor: Visitor, url: string, scope: string): Promise<string> {
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(16).toString('base64url');
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: SIGN_IN.clientId,
    redirect_uri: SIGN_IN.redirectUri,
    scope,
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

/** oidc-provider on each workload: one process for all three, then as many workers as mergekey's for client_credentials. */
async function benchPeers(): Promise<Measured[]> {
  const clientId = 'bench-client';
  const clientSecret = randomBytes(32).toString('base64url');
  const results: Measured[] = [];
  const single = 'oidc-provider, 1 process';
  const seeds = SELECTED.includes('refresh_token') ? 1 + 2 * CONNECTIONS : 0;
  await withPeer(1, clientId, clientSecret, seeds, async (url, pids, refreshTokens) => {
    const sampled: Server = { pids: () => pids };
    if (SELECTED.includes('client_credentials')) {
      const request = tokenRequest(`${url}/token`, clientId, clientSecret);
      await verify(single, request, `${url}/jwks`, url);
      results.push({ name: single, workload: 'client_credentials', ...(await load(request, sampled)) });
    }
    if (SELECTED.includes('refresh_token')) {
      const request = { ...tokenRequest(`${url}/token`, clientId, clientSecret), body: '' };
      await verifyRotation(single, request, refreshTokens.pop()!, `${url}/jwks`, url);
      const measured = await load({ ...request, refreshChains: { warmup: refreshTokens.slice(0, CONNECTIONS), measured: refreshTokens.slice(CONNECTIONS) } }, sampled);
      results.push({ name: single, workload: 'refresh_token', ...measured });
    }
    if (SELECTED.includes('introspection')) {
      // Opaque tokens, kept by the in-memory adapter: those are the ones it looks up.
      const issue = tokenRequest(`${url}/token`, clientId, clientSecret);
      const tokens = await accessTokens({ ...issue, body: `${issue.body}&${new URLSearchParams({ resource: 'https://api.example.com/opaque' })}` });
      const request = introspectionRequest(`${url}/token/introspection`, `${clientId}-rs`, clientSecret, tokens);
      await verifyIntrospection(single, request, clientId);
      results.push({ name: single, workload: 'introspection', ...(await load(request, sampled)) });
    }
  });
  if (SELECTED.includes('client_credentials')) {
    const clustered = `oidc-provider, ${WORKERS} workers`;
    await withPeer(WORKERS, clientId, clientSecret, 0, async (url, pids) => {
      const request = tokenRequest(`${url}/token`, clientId, clientSecret);
      await verify(clustered, request, `${url}/jwks`, url);
      results.push({ name: clustered, workload: 'client_credentials', ...(await load(request, { pids: () => pids })) });
    });
  }
  return results;
}

async function withPeer(workers: number, clientId: string, clientSecret: string, seeds: number, work: (url: string, pids: number[], refreshTokens: string[]) => Promise<void>): Promise<void> {
  const port = await freePort();
  const peer = start(process.execPath, ['--import', 'tsx', join(root, 'bench/oidc-provider-peer.ts'), String(port), String(workers), clientId, clientSecret, String(seeds)]);
  try {
    const refreshTokens = seeds === 0 ? [] : (JSON.parse((await peer.line(/^refresh-tokens /)).slice('refresh-tokens '.length)) as string[]);
    const url = /listening (\S+)/.exec(await peer.line(/^listening /))![1]!;
    await work(url, [peer.pid], refreshTokens);
  } finally {
    await peer.stop();
  }
}

function tokenRequest(url: string, clientId: string, clientSecret: string): Request {
  return {
    url,
    headers: {
      authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: SCOPE }).toString(),
  };
}

/** A resource server's introspection of `tokens`, in turn, each answer required to be active. */
function introspectionRequest(url: string, clientId: string, clientSecret: string, tokens: string[]): Request {
  const cycle = tokens.map((token) => new URLSearchParams({ token, token_type_hint: 'access_token' }).toString());
  return { ...tokenRequest(url, clientId, clientSecret), body: cycle[0]!, cycle, expectActive: true };
}

/** `INTROSPECTED` access tokens from `issue` (a client_credentials request), to be introspected. */
async function accessTokens(issue: Request): Promise<string[]> {
  const tokens: string[] = [];
  for (let i = 0; i < INTROSPECTED; i++) {
    const response = await fetch(issue.url, { method: 'POST', headers: issue.headers, body: issue.body });
    const body = (await response.json()) as { access_token?: string };
    if (response.status !== 200 || body.access_token === undefined) throw new Error(`${issue.url}: no token to introspect: ${response.status} ${JSON.stringify(body)}`);
    tokens.push(body.access_token);
  }
  return tokens;
}

/** One token, checked as an RFC 9068 access token signed by a key the server publishes. */
async function verify(name: string, request: Request, jwksUrl: string, issuer: string): Promise<void> {
  const response = await fetch(request.url, { method: 'POST', headers: request.headers, body: request.body });
  const body = (await response.json()) as { access_token?: string };
  if (response.status !== 200 || body.access_token === undefined) throw new Error(`${name}: no token: ${response.status} ${JSON.stringify(body)}`);
  await verifyJwt(name, body.access_token, jwksUrl, issuer);
}

async function verifyJwt(name: string, token: string, jwksUrl: string, issuer: string): Promise<void> {
  const jwks = (await (await fetch(jwksUrl)).json()) as JSONWebKeySet;
  const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), { issuer, audience: AUDIENCE, typ: 'at+jwt' });
  if (protectedHeader.alg !== 'ES256') throw new Error(`${name}: signed with ${protectedHeader.alg}, not ES256`);
  console.log(`  ${name}: a valid JWT (${decodeProtectedHeader(token).alg}, typ ${protectedHeader.typ}, aud ${String(payload.aud)}, ${token.length} bytes)`);
}

/** One refresh: a JWT access token and a new refresh token; the same token again is refused (it was rotated). */
async function verifyRotation(name: string, request: Request, refreshToken: string, jwksUrl: string, issuer: string): Promise<void> {
  const body = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString();
  const first = await fetch(request.url, { method: 'POST', headers: request.headers, body });
  const answer = (await first.json()) as { access_token?: string; refresh_token?: string };
  if (first.status !== 200 || answer.access_token === undefined || answer.refresh_token === undefined || answer.refresh_token === refreshToken) {
    throw new Error(`${name}: the refresh did not rotate: ${first.status} ${JSON.stringify(answer)}`);
  }
  await verifyJwt(name, answer.access_token, jwksUrl, issuer);
  const again = await fetch(request.url, { method: 'POST', headers: request.headers, body });
  const refused = (await again.json()) as { error?: string };
  if (again.status !== 400 || refused.error !== 'invalid_grant') throw new Error(`${name}: a spent refresh token was not refused: ${again.status} ${JSON.stringify(refused)}`);
  console.log(`  ${name}: a refresh rotated (new refresh token; the spent one refused with invalid_grant)`);
}

/** One introspection answer, in full: active, the client the token was issued to, its audience. */
async function verifyIntrospection(name: string, request: Request, clientId: string): Promise<void> {
  const response = await fetch(request.url, { method: 'POST', headers: request.headers, body: request.body });
  const answer = (await response.json()) as Record<string, unknown>;
  if (response.status !== 200 || answer.active !== true || answer.client_id !== clientId || answer.scope !== SCOPE || typeof answer.exp !== 'number') {
    throw new Error(`${name}: introspection did not answer active: ${response.status} ${JSON.stringify(answer)}`);
  }
  console.log(`  ${name}: introspection answers active (client_id ${String(answer.client_id)}, aud ${String(answer.aud)})`);
}

/** Drives `server`; its CPU time (and round trips) are sampled around the measured run. */
async function load(request: Request, server: Server): Promise<Pick<Measured, 'result' | 'cpuPerAnswer' | 'roundTrips'>> {
  const input: LoadInput = { ...request, connections: CONNECTIONS, warmupSeconds: WARMUP, seconds: SECONDS, ...(server.afterWarmup === undefined ? {} : { pauseAfterWarmup: true }) };
  let argument = JSON.stringify(input);
  if (argument.length > 64 * 1024) {
    // Thousands of bodies exceed what one argument may hold: load.ts reads them from a file.
    const file = join(dir.path, 'load-input.json');
    writeFileSync(file, argument);
    argument = `@${file}`;
  }
  const child = start(process.execPath, ['--import', 'tsx', join(root, 'bench/load.ts'), argument]);
  if (server.afterWarmup !== undefined) {
    await child.line(/^warmed$/);
    await server.afterWarmup();
    child.send('go');
  }
  await child.line(/^measuring$/);
  const [cpuBefore, tripsBefore] = [treeCpuSeconds(server.pids()), await server.roundTrips?.()];
  const result = JSON.parse(await child.line(/^\{/)) as LoadResult;
  const [cpuAfter, tripsAfter] = [treeCpuSeconds(server.pids()), await server.roundTrips?.()];
  await child.stop();
  if (result.non2xx > 0 || result.errors > 0 || result.mismatches > 0) {
    const first = result.firstFailure === undefined ? '' : ` (the first refused refresh: ${result.firstFailure})`;
    throw new Error(`${request.url}: ${result.non2xx} non-2xx answers, ${result.errors} errors and ${result.mismatches} unexpected answers${first}`);
  }
  const cpuPerAnswer = cpuBefore === undefined || cpuAfter === undefined ? undefined : ((cpuAfter - cpuBefore) * 1e6) / result.ok;
  const roundTrips = tripsBefore === undefined || tripsAfter === undefined ? undefined : (tripsAfter - tripsBefore) / result.ok;
  return { result, cpuPerAnswer, ...(server.roundTrips === undefined ? {} : { roundTrips }) };
}

/**
 * CPU time (user + system, seconds) of processes and all their descendants, from /proc: on a
 * shared machine, CPU per answer varies far less than answers per second. Undefined where there
 * is no /proc.
 */
function treeCpuSeconds(pids: number[]): number | undefined {
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
  const tree = new Set(pids);
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

/** One table per workload, then each target with its verdict (when the peers ran). */
function report(results: Measured[]): void {
  const header = ['server', 'per s', 'p50 ms', 'p99 ms', 'max ms', 'CPU µs/answer', 'PG trips/answer'];
  for (const workload of [...WORKLOADS, 'authorization_code' as const]) {
    const rows = results.filter((r) => r.workload === workload).map(({ name, result, cpuPerAnswer, roundTrips }) => [
      name,
      result.tokensPerSecond.toFixed(0),
      `${result.p50}`,
      `${result.p99}`,
      `${result.max}`,
      cpuPerAnswer === undefined ? 'n/a' : cpuPerAnswer.toFixed(0),
      roundTrips === undefined ? '' : roundTrips.toFixed(3),
    ]);
    if (rows.length === 0) continue;
    console.log('');
    console.log(`${workload}${workload === 'introspection' ? ' (answers/s)' : ' (tokens/s)'}${workload === 'authorization_code' ? ', reported, no peer' : ''}`);
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    for (const row of [header, ...rows]) console.log(row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd());
  }
  console.log('');
  const find = (workload: Workload, prefix: string) => results.find((r) => r.workload === workload && r.name.startsWith(prefix));
  const verdict = (met: boolean) => (met ? 'met' : 'MISSED');
  const ratio = (workload: Workload, backend: Backend, peer: string, target: number) => {
    const ours = find(workload, `mergekey ${backend}`);
    const theirs = find(workload, peer);
    if (ours === undefined || theirs === undefined) return;
    const times = ours.result.tokensPerSecond / theirs.result.tokensPerSecond;
    const cpu = ours.cpuPerAnswer !== undefined && theirs.cpuPerAnswer !== undefined ? `; CPU per answer ${theirs.name} / ours: ${(theirs.cpuPerAnswer / ours.cpuPerAnswer).toFixed(2)}×` : '';
    console.log(`${workload}, ${backend} vs ${theirs.name}: ${times.toFixed(2)}×  [target ≥ ${target}×: ${verdict(times >= target)}]${cpu}`);
  };
  for (const peer of ['oidc-provider, 1 process', `oidc-provider, ${WORKERS} workers`]) {
    ratio('client_credentials', 'lmdb', peer, 2.2);
    ratio('client_credentials', 'postgres', peer, 1.5);
  }
  for (const backend of BACKENDS) ratio('refresh_token', backend, 'oidc-provider, 1 process', 1);
  ratio('introspection', 'lmdb', 'oidc-provider, 1 process', 2);
  ratio('introspection', 'postgres', 'oidc-provider, 1 process', 1.5);
  for (const backend of BACKENDS) {
    const ours = find('client_credentials', `mergekey ${backend}`);
    if (ours !== undefined && backend === 'lmdb') console.log(`client_credentials p99 on lmdb at ${CONNECTIONS} connections: ${ours.result.p99} ms  [target ≤ 5 ms: ${verdict(ours.result.p99 <= 5)}]`);
    if (ours?.roundTrips !== undefined) console.log(`client_credentials on postgres: ${ours.roundTrips.toFixed(3)} PostgreSQL round trips per token  [target < 0.2: ${verdict(ours.roundTrips < 0.2)}]`);
  }
}

interface Child {
  pid: number;
  /** The first output line matching `pattern`. */
  line(pattern: RegExp): Promise<string>;
  /** SIGTERM, and the exit. */
  stop(): Promise<void>;
  /** Settles when the process has exited. */
  exited: Promise<void>;
  /** Its exit code, once it has exited (null if a signal ended it). */
  code(): number | null;
  /** Everything it printed so far. */
  output(): string;
  /** Writes a line to its stdin. */
  send(line: string): void;
}

function start(command: string, args: string[]): Child {
  const child = spawn(command, args, { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  const lines: string[] = [];
  const waiters: { pattern: RegExp; resolve(line: string): void; reject(error: Error): void }[] = [];
  let exitCode: number | null = null;
  const exited = new Promise<void>((resolve) =>
    child.on('exit', (code, signal) => {
      exitCode = code;
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
    exited,
    code: () => exitCode,
    output: () => [...lines, buffer].join('\n'),
    send: (line) => void child.stdin!.write(`${line}\n`),
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
