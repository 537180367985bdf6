// Test support for the portal: a real `mergekey serve` (in-process, loopback, OS-picked port)
// with the OAuth endpoints and the portal, following a real bare manifests repository that the
// GitHub stand-in serves. The server's GitHub token belongs to a bot user; people sign in to the
// portal with the passwords sealed in their User manifests.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import Fastify, { type FastifyInstance } from 'fastify';
import { chromium, type Browser } from 'playwright-core';
import { hashPassword } from '../../controller/sealing/hashes.ts';
import { createLogger } from '../../controller/server/logging.ts';
import { handlesOf } from '../../controller/store/handles.ts';
import { openStore, type Store } from '../../controller/store/open.ts';
import { portalPlugin, type PortalDeps } from '../../controller/portal/plugin.ts';
import { Workspace } from '../../controller/portal/workspace.ts';
import { resolveServeConfig } from '../../controller/config/defaults.ts';
import { createGitHubClient, type RequestsBackend } from '../../controller/github/index.ts';
import { createTestRepository, startGitHubStandIn, type GitHubStandIn, type TestRepository } from '../../forge/index.ts';
import { INVOICES_API_YAML, settingsYaml } from './manifests/repo.ts';
import { loadOrCreateKeys } from '../../controller/sealing/keys.ts';
import { seal, type SealingPublicJwk } from '../../controller/sealing/seal.ts';
import { startServer, type RunningServer } from '../../controller/server/start.ts';
import { serveDependencies } from '../../cli/commands/serve.ts';
import { markerKey } from '../../controller/sealing/markers.ts';
import { randomBytes } from 'node:crypto';

export const OWNER = 'acme';
export const REPO = 'manifests';
export const BOT = { login: 'mergekey-bot', token: 'tok-bot', name: 'Mergekey' };
export const ISSUER = 'http://127.0.0.1';
/** Someone with write access to the repository (not a portal account): may edit any pull request's body and comments. */
export const WRITER = { login: 'repo-writer', token: 'tok-writer', name: 'A Writer' };

/** Portal accounts: User manifests with sealed passwords. */
export const PEOPLE = {
  alice: { password: 'alice-correct-horse', roles: ['developer'], displayName: 'Alice Developer' },
  bob: { password: 'bob-battery-staple', roles: ['developer'], displayName: 'Bob Developer' },
  pat: { password: 'pat-publishes-things', roles: ['publisher'], displayName: 'Pat Publisher' },
  quinn: { password: 'quinn-does-both-jobs', roles: ['developer', 'publisher'], displayName: 'Quinn Both' },
} as const;

export type Person = keyof typeof PEOPLE;

export interface PortalWorld {
  server: RunningServer;
  url: string;
  repo: TestRepository;
  standIn: GitHubStandIn;
  /** GitHub as the bot, for arranging and asserting. */
  github: RequestsBackend;
  /** Reconciles now, as a push webhook would, and waits for it. */
  sync(): Promise<void>;
  close(): Promise<void>;
}

async function manifests(publicJwk: SealingPublicJwk): Promise<Record<string, string>> {
  const users: Record<string, string> = {};
  for (const [name, person] of Object.entries(PEOPLE)) {
    users[`users/${name}.yaml`] = `apiVersion: mergekey/v1
kind: User
metadata:
  name: ${name}
spec:
  displayName: ${person.displayName}
  roles: [${person.roles.join(', ')}]
  password:
    sealed: ${await seal(publicJwk, { kind: 'User', name }, person.password)}
`;
  }
  return {
    // The portal's account, so that `mergekey app show` believes what the portal records.
    'mergekey.yaml': `${settingsYaml(publicJwk)}  portalGitHubLogin: ${BOT.login}\n`,
    'plans/standard.yaml': `apiVersion: mergekey/v1
kind: Plan
metadata:
  name: standard
spec:
  description: The standard plan.
  accessTokenTtl: 15m
  refreshTokenTtl: 30d
  tokenRequestsPerMinute: 600
`,
    'apis/invoices.yaml': INVOICES_API_YAML,
    ...users,
    'apps/.gitkeep': '',
  };
}

export async function startPortalWorld(): Promise<PortalWorld> {
  const dir = await mkdtemp(join(tmpdir(), 'mergekey-portal-'));
  const data = join(dir, 'data');
  const { sealingPublicJwk } = await loadOrCreateKeys(data, { create: true });
  const repo = await createTestRepository(await manifests(sealingPublicJwk as SealingPublicJwk));
  const standIn = await startGitHubStandIn({
    users: [BOT, WRITER],
    repositories: [{ owner: OWNER, name: REPO, bareDir: repo.bareDir, permissions: { [BOT.login]: 'maintain', [WRITER.login]: 'write' }, mergeMethods: ['merge'] }],
  });
  const tokenFile = join(dir, 'github-token');
  await writeFile(tokenFile, `${BOT.token}\n`, { mode: 0o600 });
  const config = resolveServeConfig(
    {
      repo: repo.bareDir,
      data,
      port: '0',
      poll: '0',
      issuer: ISSUER,
      'log-level': 'silent',
      'github-token-file': tokenFile,
      'github-repo': `${OWNER}/${REPO}`,
      'github-api-url': standIn.url,
    },
    {},
  );
  // What `mergekey serve` registers: the portal comes from its own dependencies, not from the test.
  const server = await startServer(config, await serveDependencies());
  await server.initialSync;
  return {
    server,
    url: server.url,
    repo,
    standIn,
    github: createGitHubClient({ baseUrl: standIn.url, host: '127.0.0.1', owner: OWNER, repo: REPO, token: BOT.token }),
    sync: () => server.loop.trigger('test'),
    async close() {
      await server.close();
      await standIn.close();
      await repo.cleanup();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface PortalAlone {
  url: string;
  /** The store the portal was handed, for arranging records and asserting on them. */
  store: Store;
  /** The log lines the server wrote, parsed. */
  logs: Record<string, unknown>[];
  /** Every route the portal registered (HEAD ones aside). */
  routes: { method: string; url: string }[];
  /** Moves the portal's clock (ms). */
  advance(ms: number): void;
  close(): Promise<void>;
}

/**
 * The portal plugin alone in a Fastify instance listening on 127.0.0.1 (OS-picked port), over a
 * real LMDB store holding the PEOPLE as accounts, with an injected clock and its logs kept: for
 * what needs neither git nor GitHub (sign-in, throttles, headers).
 */
export async function startPortalAlone(overrides: Partial<PortalDeps> = {}): Promise<PortalAlone> {
  const dir = await mkdtemp(join(tmpdir(), 'mergekey-portal-alone-'));
  const store = openStore(join(dir, 'data'));
  for (const [name, person] of Object.entries(PEOPLE)) {
    await handlesOf(store).users.put(name, {
      v: 1, name, path: `users/${name}.yaml`, commit: 'c'.repeat(40),
      spec: { roles: [...person.roles], displayName: person.displayName },
      passwordHash: await hashPassword(person.password),
    });
  }
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger('info', { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
  // A clock that moves only when told: nothing here depends on how long a request took.
  let clock = Date.parse('2026-01-05T09:00:00Z');
  const app = Fastify({ loggerInstance: logger });
  const routes: { method: string; url: string }[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) if (method !== 'HEAD') routes.push({ method, url: route.url });
  });
  await app.register(portalPlugin({
    store,
    markers: markerKey(randomBytes(32)),
    workspace: new Workspace({ repo: join(dir, 'none.git'), branch: 'main', dir: join(dir, 'clone'), github: undefined }),
    issuer: () => ISSUER,
    now: () => clock,
    ...overrides,
  }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    store,
    logs,
    routes,
    advance: (ms) => void (clock += ms),
    async close() {
      await app.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Signs `name` in to a portal registered on `app` through Fastify's inject (no listener): the
 * sign-in form, its pre-session cookie and CSRF token, then the POST. Returns the session cookie
 * (`mergekey-session=…`) for later requests.
 */
export async function signInByInject(app: FastifyInstance, name: string, password: string): Promise<string> {
  const form = await app.inject({ method: 'GET', url: '/portal/sign-in' });
  const presession = String(form.headers['set-cookie']).split(';')[0]!;
  const signedIn = await app.inject({
    method: 'POST',
    url: '/portal/sign-in',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: presession },
    payload: new URLSearchParams({ _csrf: /name="_csrf" value="([^"]*)"/.exec(form.body)![1]!, name, password }).toString(),
  });
  return ([signedIn.headers['set-cookie']].flat() as string[]).find((value) => value.startsWith('mergekey-session='))!.split(';')[0]!;
}

/** A cookie jar and form poster over HTTP, for tests that do not need a browser. */
export class Visitor {
  readonly #cookies = new Map<string, string>();
  readonly #base: string;
  readonly #localAddress: string | undefined;

  /** `from`: the loopback address requests leave from (127.0.0.2 and so on), as another client's would. */
  constructor(base: string, options: { from?: string } = {}) {
    this.#base = base;
    this.#localAddress = options.from;
  }

  cookie(name: string): string | undefined {
    return this.#cookies.get(name);
  }

  setCookie(name: string, value: string): void {
    this.#cookies.set(name, value);
  }

  async get(path: string): Promise<{ status: number; html: string; location: string | null; headers: Headers }> {
    return this.#send(path, { method: 'GET' });
  }

  async post(path: string, form: Record<string, string | string[]>, headers: Record<string, string> = {}): Promise<{ status: number; html: string; location: string | null; headers: Headers }> {
    const body = new URLSearchParams();
    for (const [key, value] of Object.entries(form)) for (const item of Array.isArray(value) ? value : [value]) body.append(key, item);
    return this.#send(path, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } });
  }

  /** The CSRF token of the form on `path`. */
  async csrf(path: string): Promise<string> {
    const page = await this.get(path);
    const token = /name="_csrf" value="([^"]*)"/.exec(page.html)?.[1];
    if (token === undefined) throw new Error(`no CSRF token on ${path} (status ${page.status})`);
    return token;
  }

  /** Approves request #number with the form the queue shows for it (its CSRF token and the head commit it was checked at). */
  async approve(number: number): Promise<{ status: number; html: string; location: string | null; headers: Headers }> {
    const queue = await this.get('/portal/review');
    const form = new RegExp(`<form method="post" action="/portal/review/${number}/approve"[^>]*>(.*?)</form>`, 's').exec(queue.html)?.[1];
    if (form === undefined) throw new Error(`no approve form for #${number} (status ${queue.status})`);
    const fields: Record<string, string> = {};
    for (const [, name, value] of form.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) fields[name!] = value!;
    return this.post(`/portal/review/${number}/approve`, fields);
  }

  async signIn(name: Person): Promise<void> {
    const token = await this.csrf('/portal/sign-in');
    const response = await this.post('/portal/sign-in', { _csrf: token, name, password: PEOPLE[name].password });
    if (response.status !== 303) throw new Error(`sign-in as ${name} answered ${response.status}`);
  }

  async #send(path: string, init: RequestInit): Promise<{ status: number; html: string; location: string | null; headers: Headers }> {
    const cookie = [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const headers = { ...(init.headers as Record<string, string>), ...(cookie === '' ? {} : { cookie }) };
    const response = this.#localAddress === undefined
      ? await fetch(`${this.#base}${path}`, { ...init, redirect: 'manual', headers })
      : await sendFrom(this.#localAddress, `${this.#base}${path}`, init.method ?? 'GET', headers, init.body === undefined || init.body === null ? undefined : String(init.body));
    for (const header of response.headers.getSetCookie()) {
      const [pair] = header.split(';');
      const [name, ...rest] = pair!.split('=');
      const value = rest.join('=');
      if (value === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(header)) this.#cookies.delete(name!.trim());
      else this.#cookies.set(name!.trim(), value);
    }
    return { status: response.status, html: await response.text(), location: response.headers.get('location'), headers: response.headers };
  }
}

/** A request from a given local address (fetch cannot choose one), answered as a `Response`. */
function sendFrom(localAddress: string, url: string, method: string, headers: Record<string, string>, body: string | undefined): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers, localAddress, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const out = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          for (const item of Array.isArray(value) ? value : value === undefined ? [] : [value]) out.append(name, item);
        }
        resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 0, headers: out }));
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Debian's Chromium, headless, as the portal's browser tests drive it (downloading a browser is not possible here). */
export async function launchChromium(): Promise<Browser> {
  const executablePath = '/usr/bin/chromium';
  if (!existsSync(executablePath)) throw new Error(`${executablePath} is missing: install Debian's chromium package (apt-get install -y chromium)`);
  return chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}
