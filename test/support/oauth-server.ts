// A real OAuth server for the HTTP tests: a real LMDB store in a temporary directory holding the
// records the reconciler would write, the plugin in a Fastify instance listening on 127.0.0.1,
// and an oauth4webapi view of it. Keys and secrets are made at run time.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import * as oauth from 'oauth4webapi';
import { hashClientSecret, hashPassword } from '../../controller/sealing/hashes.ts';
import { configWriter } from '../../controller/store/config.ts';
import { handlesOf, type StoreHandles } from '../../controller/store/handles.ts';
import { openStore, type Store } from '../../controller/store/open.ts';
import type { ApiRecord, ApplicationRecord, PlanRecord, UserRecord } from '../../controller/store/records.ts';
import type { ApplicationSpec } from '../../controller/manifests/types.generated.ts';
import type { OAuthOptions } from '../../controller/oauth/defaults.ts';
import { oauthServer, type Authorization, type ThrottleSharing } from '../../controller/oauth/plugin.ts';

export const ORDERS_AUDIENCE = 'https://orders.example.test';
export const BILLING_AUDIENCE = 'https://billing.example.test';
export const ALICE_PASSWORD = 'correct horse battery staple';

const base = { v: 1 as const, commit: '0123456789abcdef0123456789abcdef01234567' };

export interface TestClient {
  name: string;
  client: oauth.Client;
  /** Set for secret-based applications. */
  secret?: string;
  /** Set for private_key_jwt applications. */
  privateKey?: CryptoKey;
  kid?: string;
}

export interface TestServer {
  dir: string;
  store: Store;
  /** The store's raw handles, for fixtures the reconciler would never write. */
  raw: StoreHandles;
  fastify: FastifyInstance;
  issuer: string;
  url: (path: string) => string;
  as: oauth.AuthorizationServer;
  /** Moves the server's clock (ms). */
  advance(ms: number): void;
  now(): number;
  addApp(name: string, spec?: Partial<Omit<ApplicationSpec, 'credentials'>>): Promise<TestClient>;
  /** Writes the application as the reconciler would (a deactivation writes its cut-off), on the server's clock. */
  updateApp(name: string, change: (record: ApplicationRecord) => ApplicationRecord): Promise<void>;
  /** Waits for writes the server did not wait for (access token records) to be committed. */
  settle(): Promise<void>;
  /** A client secret's stored hash under this server's key. */
  hashSecret(secret: string): string;
  /** The authorization endpoint's work as the portal calls it (parse, complete, deny). */
  authorization: Authorization;
  /** Closes the server and the store, and opens both again over the same directory. */
  restart(): Promise<void>;
  /**
   * Another OAuth server over the same store, keys and clock, with throttles of its own (as
   * another replica's): its base URL and the way to stop it.
   */
  another(deps?: TestServerDeps): Promise<{ url: (path: string) => string; close(): Promise<void> }>;
  close(): Promise<void>;
}

/** Requests over plain http to loopback. */
export const insecure = { [oauth.allowInsecureRequests]: true } as const;

let aliceHash: Promise<string> | undefined;

/** What a test may give the OAuth server besides its options. */
export interface TestServerDeps {
  /** How its throttles hear the other servers' (as `--workers` or replicas do). */
  throttleSharing?: ThrottleSharing;
  /** The clock before `advance` moves it (default `Date.now`): a fixed one keeps throttles from recovering. */
  clock?: () => number;
}

export async function startTestServer(options: Partial<OAuthOptions> = {}, deps: TestServerDeps = {}): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'mergekey-oauth-'));
  const secretHashKey = randomBytes(32);
  let offset = 0;
  const clock = deps.clock ?? Date.now;
  const now = () => clock() + offset;
  // Failed background writes go where the plugin's silent logger sent them before: nowhere.
  const open = () => openStore(dir, { onBackgroundError: () => {} });
  let store = open();
  await seed(handlesOf(store));

  let raw: Server;
  let fastify: FastifyInstance;
  let authorization: Authorization;
  let port = 0;
  const stop = async () => {
    await fastify.close();
    // The socket was opened here, not by fastify.listen(), so it is closed here too.
    raw.closeAllConnections();
    await new Promise((resolve) => raw.close(resolve));
  };
  const start = async () => {
    // The issuer must be known before the plugin is registered: listen on an OS-picked port
    // first, then let Fastify serve on that socket.
    raw = createServer();
    fastify = Fastify({ serverFactory: (handler) => raw.on('request', handler), logger: false });
    await new Promise<void>((resolve) => raw.listen(port, '127.0.0.1', resolve));
    port = (raw.address() as { port: number }).port;
    const made = oauthServer({
      config: store.config, tokens: store.tokens, keyring: store.keyring, codes: store.codes, secretHashKey, issuer: `http://127.0.0.1:${port}`, now, options,
      ...(deps.throttleSharing === undefined ? {} : { throttleSharing: deps.throttleSharing }),
    });
    authorization = made.authorization;
    await fastify.register(made.plugin);
    await fastify.ready();
  };
  await start();
  const issuer = `http://127.0.0.1:${port}`;
  const as = await oauth.processDiscoveryResponse(new URL(issuer), await oauth.discoveryRequest(new URL(issuer), { ...insecure, algorithm: 'oauth2' }));

  const server: TestServer = {
    dir,
    get store() { return store; },
    get raw() { return handlesOf(store); },
    get fastify() { return fastify; },
    get authorization() { return authorization; },
    issuer,
    url: (path) => `${issuer}${path}`,
    as,
    advance: (ms) => { offset += ms; },
    now,
    async addApp(name, spec = {}) {
      const clientId = `${name}-${randomBytes(6).toString('hex')}`;
      const method = spec.tokenEndpointAuthMethod ?? 'client_secret_basic';
      const record: ApplicationRecord = {
        ...base, name, path: `apps/${name}.yaml`,
        spec: {
          description: `${name} test application`, owners: ['alice'], clientId, state: 'active', scopes: ['open'],
          grantTypes: ['client_credentials'], tokenEndpointAuthMethod: method, ...spec,
        },
        secrets: [],
      };
      const client: oauth.Client = { client_id: clientId };
      // Client assertions follow the server's clock when a test moves it.
      Object.defineProperty(client, oauth.clockSkew, { get: () => Math.round(offset / 1000), enumerable: false });
      const made: TestClient = { name, client };
      if (method === 'private_key_jwt') {
        const pair = await generateKeyPair('ES256');
        made.privateKey = pair.privateKey;
        made.kid = `${name}-key-1`;
        record.jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: made.kid, alg: 'ES256', use: 'sig' } as never] };
      } else if (method !== 'none') {
        made.secret = randomBytes(32).toString('base64url');
        record.secrets = [{ hash: hashClientSecret(secretHashKey, made.secret) }];
      }
      await handlesOf(store).applications.put(name, record);
      await handlesOf(store).clientIds.put(clientId.toLowerCase(), name);
      return made;
    },
    async updateApp(name, change) {
      const handles = handlesOf(store);
      handles.root.transactionSync(() => configWriter(handles, now).putApplication(change(handles.applications.get(name)!)));
    },
    hashSecret: (secret) => hashClientSecret(secretHashKey, secret),
    async settle() {
      await handlesOf(store).root.committed;
    },
    async another(otherDeps = {}) {
      // As `start`: the socket first, so that the issuer is known before the plugin is registered.
      const socket = createServer();
      const other = Fastify({ serverFactory: (handler) => socket.on('request', handler), logger: false });
      await new Promise<void>((resolve) => socket.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(socket.address() as { port: number }).port}`;
      const made = oauthServer({
        config: store.config, tokens: store.tokens, keyring: store.keyring, codes: store.codes, secretHashKey, issuer: url, now, options,
        ...(otherDeps.throttleSharing === undefined ? {} : { throttleSharing: otherDeps.throttleSharing }),
      });
      await other.register(made.plugin);
      await other.ready();
      return {
        url: (path) => `${url}${path}`,
        async close() {
          await other.close();
          socket.closeAllConnections();
          await new Promise((resolve) => socket.close(resolve));
        },
      };
    },
    async restart() {
      await stop();
      await store.close();
      store = open();
      await start();
    },
    async close() {
      await stop();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}

async function seed(store: StoreHandles): Promise<void> {
  const plan = (name: string, spec: Partial<PlanRecord['spec']>): PlanRecord => ({
    ...base, name, path: `plans/${name}.yaml`,
    spec: { description: name, accessTokenTtl: '15m', refreshTokenTtl: '30d', tokenRequestsPerMinute: 600, ...spec },
  });
  const api = (name: string, audience: string, scopes: string[], introspectors?: string[]): ApiRecord => ({
    ...base, name, path: `apis/${name}.yaml`,
    spec: {
      description: name, audience, scopes: scopes.map((scope) => ({ name: scope, description: scope })),
      ...(introspectors === undefined ? {} : { introspection: { applications: introspectors } }),
    },
  });
  const user = (name: string, passwordHash?: string): UserRecord => ({
    ...base, name, path: `users/${name}.yaml`, spec: { roles: ['developer'] }, ...(passwordHash === undefined ? {} : { passwordHash }),
  });
  await store.settings.put('settings', {
    ...base, name: 'mergekey', path: 'mergekey.yaml', spec: { issuer: 'https://ignored.example.test', defaultPlan: 'standard' },
  });
  for (const record of [
    plan('standard', {}),
    plan('short', { accessTokenTtl: '2m', refreshTokenTtl: '10m' }),
    plan('trickle', { tokenRequestsPerMinute: 3 }),
    plan('unlimited', { tokenRequestsPerMinute: 1_000_000 }),
  ]) await store.plans.put(record.name, record);
  await store.apis.put('orders', api('orders', ORDERS_AUDIENCE, ['orders:read', 'orders:write'], ['orders-rs']));
  await store.apis.put('billing', api('billing', BILLING_AUDIENCE, ['billing:read']));
  await store.users.put('alice', user('alice', await (aliceHash ??= hashPassword(ALICE_PASSWORD))));
  await store.users.put('bob', user('bob'));
}

/** The client authentication oauth4webapi should use for an application. */
export function authOf(app: TestClient, method = app.client.token_endpoint_auth_method as string | undefined): oauth.ClientAuth {
  if (app.secret === undefined && app.privateKey === undefined) return oauth.None();
  if (app.privateKey !== undefined) return oauth.PrivateKeyJwt({ key: app.privateKey, kid: app.kid! });
  return method === 'client_secret_post' ? oauth.ClientSecretPost(app.secret!) : oauth.ClientSecretBasic(app.secret!);
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** Parsed JSON, or the text when it is not JSON, or undefined when empty. */
  body: unknown;
}

/**
 * A raw HTTP request, for what no well-behaved client library would send. `localAddress` picks
 * the source address (any of 127.0.0.0/8), to act as another machine.
 */
export function send(method: string, url: string, options: { headers?: Record<string, string>; body?: string; localAddress?: string } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    // A new connection each time (agent: false): no pooled socket outlives a server restart.
    const request = httpRequest(url, { method, agent: false, headers: options.headers ?? {}, ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }) }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text === '' ? undefined : text;
        try {
          if (text !== '') body = JSON.parse(text);
        } catch {
          // not JSON: kept as text
        }
        resolve({ status: response.statusCode!, headers: response.headers, body });
      });
    });
    request.on('error', reject);
    request.end(options.body);
  });
}

/** A form POST; `headers` may replace the content type. */
export function postForm(url: string, body: string, headers: Record<string, string> = {}, localAddress?: string): Promise<RawResponse> {
  return send('POST', url, {
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body, ...(localAddress === undefined ? {} : { localAddress }),
  });
}
