// Two replicas of `mergekey serve`, as an operator runs them behind a load balancer (issue 13):
// two real processes, each with its own data directory (its own LMDB, its own git cache) holding
// the same `keys/`, following the same bare git repository, keeping their shared runtime state in
// the same throwaway PostgreSQL (test/support/postgres.ts), migrated by the real `mergekey db
// migrate`. Replica A runs two HTTP workers, B one process, so both shapes of `serve` take part.
//
// Polling is off (`--poll 0`): a replica applies a commit only when told, by a webhook delivered
// to it (`deliverPush`), by its operator's sync, or by another replica's notice. So a commit
// delivered to A alone that B applies too reached B through PostgreSQL, not through a timer.
//
// The repository: Settings (the issuer), Users `alice` (with a password), Plans `standard` (100,000
// token requests a minute) and `metered` (METERED_PER_MINUTE), an Api `orders` whose resource server is
// `orders-rs`, and Applications `billing` (client_credentials, orders:read), `mobile` (password and
// refresh_token, orders:read), `signer` (private_key_jwt, orders:read), `metered`
// (client_credentials on the metered plan) and `orders-rs`. With `forge: true` the local forge
// serves the same bare repository as acme/manifests, and both replicas get a GitHub token for it,
// so they confirm merged pull requests there.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { importJWK, SignJWT } from 'jose';
import * as oauth from 'oauth4webapi';
import { createGitHubClient, type RequestsBackend } from '../../controller/github/index.ts';
import { loadOrCreateKeys } from '../../controller/sealing/keys.ts';
import { seal } from '../../controller/sealing/seal.ts';
import { startGitHubStandIn, type GitHubStandIn } from '../../forge/index.ts';
import { FixtureRepo, type Fixture } from './git.ts';
import { startPostgres, type PostgresCluster } from './postgres.ts';
import { tempDir } from './reconcile.ts';
import { authorizationServer, insecure, serveChild, type ServeChild } from './serve-child.ts';
import { pushPayload, sign, waitFor } from './server.ts';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../../cli/bin/mergekey.js', import.meta.url));

/** http: the tests speak plain HTTP to loopback, which an https issuer refuses. */
export const ISSUER = 'http://auth.example.com';
export const ORDERS_AUDIENCE = 'https://orders.example.com';
/** The metered plan's token requests a minute. */
export const METERED_PER_MINUTE = 6;

/** RFC 8037 appendix A.1's Ed25519 key: `signer` lists its public half. */
const SIGNER_PRIVATE_JWK = { kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo', d: 'nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A' };

/** The forge's people: alice asks, pat (a maintainer) approves and merges; the replicas post as pat. */
export const FORGE_PEOPLE = {
  alice: { login: 'alice', token: 'tok-alice', name: 'Alice Developer' },
  pat: { login: 'pat', token: 'tok-pat', name: 'Pat Publisher' },
} as const;

export type AppName = 'billing' | 'mobile' | 'signer' | 'metered' | 'orders-rs';

export interface Client {
  client: oauth.Client;
  /** client_secret_basic for the secret apps; for `signer`, use `signerAssertion`. */
  auth: oauth.ClientAuth;
  secret: string | undefined;
}

export interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

export interface Replica {
  readonly name: 'A' | 'B';
  readonly data: string;
  readonly child: ServeChild;
  /** The public listener. */
  readonly url: string;
  /** The operator listener: /readyz, /livez, /metrics, /api/v1/status, /api/v1/sync. */
  readonly adminUrl: string;
  /** The discovery document with its endpoints moved onto this replica's URL. */
  readonly as: oauth.AuthorizationServer;
  /** A POST to one of this replica's OAuth endpoints, authenticated as `app`; the answer as it came. */
  post(app: AppName, endpoint: 'token_endpoint' | 'introspection_endpoint' | 'revocation_endpoint', parameters: Record<string, string>): Promise<Answer>;
  /** A token request to this replica, with `app`'s credentials; the answer as it came. */
  token(app: AppName, grantType: string, parameters?: Record<string, string>): Promise<Answer>;
  /** RFC 7662 introspection by the resource server `orders-rs`, through this replica. */
  introspect(accessToken: string): Promise<Record<string, unknown>>;
  /** RFC 7009 revocation by `app`, through this replica. */
  revoke(app: AppName, token: string): Promise<number>;
  /** Delivers a signed GitHub push webhook for `commit` to this replica alone; its JSON answer. */
  deliverPush(commit: string): Promise<{ status: number; body: { result: string } }>;
  /** The commit this replica applied last, from its operator status. */
  appliedCommit(): Promise<string | undefined>;
  /** SIGKILL: the process and its workers end without shutting down. */
  kill(): Promise<void>;
}

export interface ReplicaSet {
  readonly cluster: PostgresCluster;
  /** `--state`: the database both replicas share (its password is in it). */
  readonly state: string;
  readonly repo: FixtureRepo;
  readonly a: Replica;
  readonly b: Replica;
  readonly clients: Record<AppName, Client>;
  readonly passwords: { alice: string };
  /** The forge's API (with `forge: true`). */
  readonly forge: GitHubStandIn | undefined;
  /** The forge as `person` (with `forge: true`). */
  github(person: keyof typeof FORGE_PEOPLE): RequestsBackend;
  /** Commits `files` on main (nobody is told: deliver a webhook, or sync). */
  commit(files: Fixture, message: string): Promise<string>;
  /** Commits `apps/NAME.yaml` again with another state. */
  setState(app: AppName, state: 'active' | 'inactive'): Promise<string>;
  /**
   * A merged pull request on the forge (with `forge: true`): `files` committed on a branch, the
   * pull request opened by alice, approved and merged by pat. Nobody is told.
   */
  mergeRequest(files: Fixture, title: string): Promise<{ number: number; mergeCommit: string }>;
  /** A client assertion of `signer` (RFC 7523), made now, with `jti`. */
  signerAssertion(jti: string): Promise<string>;
  /**
   * Starts one more `mergekey serve` on a fresh data directory with the same keys, on `state`
   * (default: the shared database); `close` stops it with the others.
   */
  serveAnother(options?: { state?: string }): ServeChild;
  /** Stops both replicas (SIGTERM), the forge and PostgreSQL, and removes every directory. */
  close(): Promise<void>;
}

export interface ReplicaSetOptions {
  /** Serve the repository on the local forge and give both replicas a GitHub token for it. */
  forge?: boolean;
}

/** Runs the real `mergekey db migrate --state …`; throws with its output when it fails. */
export async function migrateDatabase(state: string): Promise<string> {
  try {
    return (await run(process.execPath, [bin, 'db', 'migrate', '--state', state], { encoding: 'utf8' })).stdout;
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`mergekey db migrate failed: ${stderr ?? ''}${stdout ?? ''}`, { cause: error });
  }
}

export async function startReplicas(options: ReplicaSetOptions = {}): Promise<ReplicaSet> {
  const dir = tempDir('mergekey-replicas-');
  const started: ServeChild[] = [];
  let cluster: PostgresCluster | undefined;
  let forge: GitHubStandIn | undefined;
  const cleanUp = async () => {
    await Promise.all(started.map((child) => child.stop()));
    await forge?.close();
    await cluster?.stop();
    dir.remove();
  };
  try {
    cluster = await startPostgres();
    const state = await cluster.createDatabase('mergekey');
    await migrateDatabase(state);

    // The keys are made once, on A's data directory, and copied: every replica shares them.
    const dataA = join(dir.path, 'replica-a');
    const dataB = join(dir.path, 'replica-b');
    const { sealingPublicJwk } = await loadOrCreateKeys(dataA, { create: true });
    const copyKeys = (data: string) => cpSync(join(dataA, 'keys'), join(data, 'keys'), { recursive: true, preserveTimestamps: true });
    copyKeys(dataB);

    const secret = () => randomBytes(32).toString('base64url');
    const secrets: Record<Exclude<AppName, 'signer'>, string> = { billing: secret(), mobile: secret(), metered: secret(), 'orders-rs': secret() };
    const passwords = { alice: randomBytes(12).toString('base64url') };
    const app = async (name: AppName, state: 'active' | 'inactive' = 'active') => {
      const head = `apiVersion: mergekey/v1\nkind: Application\nmetadata:\n  name: ${name}\nspec:\n  description: The ${name} application.\n  owners: [alice]\n  clientId: ${name}-client-0001\n  state: ${state}\n`;
      if (name === 'signer') {
        return `${head}  scopes: [orders:read]\n  grantTypes: [client_credentials]\n  tokenEndpointAuthMethod: private_key_jwt\n  credentials:\n    jwks:\n      keys:\n        - { kty: OKP, crv: Ed25519, x: ${SIGNER_PRIVATE_JWK.x} }\n`;
      }
      const grants = name === 'mobile' ? '[password, refresh_token]' : '[client_credentials]';
      const scopes = name === 'orders-rs' ? '[open]' : '[orders:read]';
      const plan = name === 'metered' ? '  plan: metered\n' : '';
      const sealed = await seal(sealingPublicJwk, { kind: 'Application', name }, secrets[name]);
      return `${head}  scopes: ${scopes}\n  grantTypes: ${grants}\n${plan}  credentials:\n    secrets:\n      - sealed: ${sealed}\n`;
    };
    const plan = (name: string, extra = '') => `apiVersion: mergekey/v1\nkind: Plan\nmetadata:\n  name: ${name}\nspec:\n  description: The ${name} plan.\n${extra}`;
    const repo = await FixtureRepo.create(join(dir.path, 'manifests.git'));
    await repo.commit(
      {
        'mergekey.yaml': `apiVersion: mergekey/v1\nkind: Settings\nmetadata:\n  name: mergekey\nspec:\n  issuer: ${ISSUER}\n  defaultPlan: standard\n`,
        // Far above what a test or the propagation benchmark asks, which poll a replica in a loop.
        'plans/standard.yaml': plan('standard', '  tokenRequestsPerMinute: 100000\n'),
        'plans/metered.yaml': plan('metered', `  tokenRequestsPerMinute: ${METERED_PER_MINUTE}\n`),
        'users/alice.yaml':
          'apiVersion: mergekey/v1\nkind: User\nmetadata:\n  name: alice\nspec:\n  roles: [developer]\n  password:\n' +
          `    sealed: ${await seal(sealingPublicJwk, { kind: 'User', name: 'alice' }, passwords.alice)}\n`,
        'apis/orders.yaml':
          `apiVersion: mergekey/v1\nkind: Api\nmetadata:\n  name: orders\nspec:\n  description: Orders.\n  audience: ${ORDERS_AUDIENCE}\n` +
          '  scopes:\n    - name: orders:read\n      description: Read orders.\n  introspection:\n    applications: [orders-rs]\n',
        'apps/billing.yaml': await app('billing'),
        'apps/mobile.yaml': await app('mobile'),
        'apps/signer.yaml': await app('signer'),
        'apps/metered.yaml': await app('metered'),
        'apps/orders-rs.yaml': await app('orders-rs'),
      },
      { message: 'The manifests' },
    );

    const webhookSecret = secret();
    const webhookSecretFile = join(dir.path, 'webhook-secret');
    writeFileSync(webhookSecretFile, webhookSecret, { mode: 0o600 });
    const github: string[] = [];
    if (options.forge === true) {
      forge = await startGitHubStandIn({
        users: Object.values(FORGE_PEOPLE),
        repositories: [{ owner: 'acme', name: 'manifests', bareDir: repo.path, permissions: { alice: 'write', pat: 'maintain' }, requiredApprovingReviews: 1, mergeMethods: ['merge'] }],
        recordRequests: true,
      });
      const tokenFile = join(dir.path, 'github-token');
      writeFileSync(tokenFile, `${FORGE_PEOPLE.pat.token}\n`, { mode: 0o600 });
      github.push('--github-token-file', tokenFile, '--github-repo', 'acme/manifests', '--github-api-url', forge.url);
    }

    const serveArgs = (data: string, workers: number, on = state) => [
      '--repo', repo.path, '--data', data, '--state', on, '--port', '0', '--poll', '0', '--issuer', ISSUER,
      '--webhook-secret-file', webhookSecretFile, '--workers', String(workers), '--log-level', 'info', ...github,
    ];
    const clients = {} as Record<AppName, Client>;
    for (const name of Object.keys(secrets) as Exclude<AppName, 'signer'>[]) {
      clients[name] = { client: { client_id: `${name}-client-0001` }, auth: oauth.ClientSecretBasic(secrets[name]), secret: secrets[name] };
    }
    const signerKey = await importJWK(SIGNER_PRIVATE_JWK, 'EdDSA');
    const signerAssertion = async (jti: string) => {
      // One second ahead: an assertion whose iat precedes the shared database is refused as one
      // that may have been used before it existed (RFC 7523 replay, across a store's loss).
      const iat = Math.floor(Date.now() / 1000) + 1;
      return new SignJWT({ jti }).setProtectedHeader({ alg: 'EdDSA', typ: 'JWT' }).setIssuer('signer-client-0001').setSubject('signer-client-0001')
        .setAudience(ISSUER).setIssuedAt(iat).setExpirationTime(iat + 240).sign(signerKey);
    };
    // signer authenticates with a fresh assertion per request, unless the request carries one
    // (`client_assertion` in its parameters): a test replaying one passes it.
    clients.signer = {
      client: { client_id: 'signer-client-0001' },
      auth: async (_as, _client, body) => {
        body.set('client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
        if (!body.has('client_assertion')) body.set('client_assertion', await signerAssertion(crypto.randomUUID()));
      },
      secret: undefined,
    };

    const startReplica = async (name: 'A' | 'B', data: string, workers: number): Promise<Replica> => {
      const child = serveChild(serveArgs(data, workers));
      started.push(child);
      const url = await child.url();
      const adminUrl = await child.adminUrl();
      await waitFor(async () => (await fetch(`${adminUrl}/readyz`)).status === 200, `replica ${name} to be ready`, 30_000);
      const as = await authorizationServer(url, ISSUER);
      const request = async (app: AppName, endpoint: 'token_endpoint' | 'introspection_endpoint' | 'revocation_endpoint', parameters: Record<string, string>): Promise<Answer> => {
        const body = new URLSearchParams(parameters);
        const headers = new Headers({ 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' });
        await clients[app].auth(as, clients[app].client, body, headers);
        const response = await fetch(as[endpoint]!, { method: 'POST', headers, body });
        const text = await response.text();
        return { status: response.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>), headers: response.headers };
      };
      return {
        name,
        data,
        child,
        url,
        adminUrl,
        as,
        post: request,
        token: (app, grantType, parameters = {}) => request(app, 'token_endpoint', { grant_type: grantType, ...parameters }),
        async introspect(accessToken) {
          const { client, auth } = clients['orders-rs'];
          return oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, auth, accessToken, insecure)) as Promise<Record<string, unknown>>;
        },
        revoke: async (app, token) => (await request(app, 'revocation_endpoint', { token })).status,
        async deliverPush(commit) {
          const body = pushPayload(repo.path, { after: commit });
          const response = await fetch(`${url}/webhooks/github`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': crypto.randomUUID(), 'x-hub-signature-256': sign(webhookSecret, body) },
            body,
          });
          return { status: response.status, body: (await response.json()) as { result: string } };
        },
        async appliedCommit() {
          const status = (await (await fetch(`${adminUrl}/api/v1/status`)).json()) as { lastApplied?: { commit: string } };
          return status.lastApplied?.commit;
        },
        async kill() {
          child.proc.kill('SIGKILL');
          await child.exit;
        },
      };
    };
    const a = await startReplica('A', dataA, 2);
    const b = await startReplica('B', dataB, 1);

    const githubAs = (person: keyof typeof FORGE_PEOPLE) => {
      if (forge === undefined) throw new Error('startReplicas({ forge: true }) serves the repository on the forge');
      return createGitHubClient({ baseUrl: forge.url, host: '127.0.0.1', owner: 'acme', repo: 'manifests', token: FORGE_PEOPLE[person].token });
    };
    let branches = 0;
    return {
      cluster,
      state,
      repo,
      a,
      b,
      clients,
      passwords,
      forge,
      github: githubAs,
      commit: (files, message) => repo.commit(files, { message }),
      setState: async (name, appState) => repo.commit({ [`apps/${name}.yaml`]: await app(name, appState) }, { message: `${name}: ${appState}` }),
      async mergeRequest(files, title) {
        const branch = `request-${++branches}`;
        await repo.commit(files, { branch, parent: await repo.head('main'), message: title });
        const opened = await githubAs('alice').openPullRequest({ title, body: title, head: branch, base: 'main' });
        await githubAs('pat').approve(opened.number);
        const { sha } = await githubAs('pat').mergePullRequest(opened.number);
        return { number: opened.number, mergeCommit: sha };
      },
      signerAssertion,
      serveAnother(another = {}) {
        const data = join(dir.path, `replica-${randomBytes(4).toString('hex')}`);
        copyKeys(data);
        const child = serveChild(serveArgs(data, 1, another.state));
        started.push(child);
        return child;
      },
      close: cleanUp,
    };
  } catch (error) {
    await cleanUp();
    throw error;
  }
}
