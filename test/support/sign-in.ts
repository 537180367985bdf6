// Test fixtures for signing people in (issue 14): a real `mergekey serve`, in process (the portal
// registered as `mergekey serve` registers it) or as a child process with its cluster workers,
// over real LMDB and a real bare manifests repository, whose issuer is its own loopback URL, so
// that a relying-party library discovers it unchanged; the relying party's callback server on
// another loopback port; and a person in Chromium following an authorization URL.
//
// The repository: Users `alice` and `dinah` (password, display name, email), the apps' owner
// `bob`, an Api `orders` with one described scope, a confidential web client `web`
// (client_secret_basic), a public SPA client `spa` (tokenEndpointAuthMethod none, no credentials)
// and a first-party confidential client `console` with `consent: skip` (listed in the Settings'
// `firstPartyApps`), all three with the authorization_code and refresh_token grants and the same
// exact loopback redirect URI.
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { Page } from 'playwright-core';
import { join } from 'node:path';
import { FixtureRepo } from './git.ts';
import { tempDir } from './reconcile.ts';
import { resolveServeConfig } from '../../controller/config/defaults.ts';
import { loadOrCreateKeys } from '../../controller/sealing/keys.ts';
import { seal, type SealingPublicJwk } from '../../controller/sealing/seal.ts';
import { startServer, type RunningServer } from '../../controller/server/start.ts';
import { serveDependencies } from '../../cli/commands/serve.ts';
import { serveChild } from './serve-child.ts';
import { waitFor } from './server.ts';

export interface Person { name: string; password: string; displayName: string; email: string }

export const ALICE: Person = { name: 'alice', password: 'alice-signs-in-with-this', displayName: 'Alice Liddell', email: 'alice@example.com' };
/** Another person, for what depends on whom an app already signed in. */
export const DINAH: Person = { name: 'dinah', password: 'dinah-signs-in-with-that', displayName: 'Dinah Cat', email: 'dinah@example.com' };

/** The owner of every application: someone other than the person signing in. */
export const OWNER = { name: 'bob', displayName: 'Bob Builder' } as const;

/** The one Api scope the clients may ask for, with the words the consent page must show. */
export const ORDERS_SCOPE = { name: 'orders:read', description: 'Read the orders you placed.' } as const;

export interface SignInClient {
  name: string;
  clientId: string;
  /** Undefined for the public client. */
  secret: string | undefined;
  displayName: string;
}

export interface SignInWorld {
  /** The issuer, which is also the URL the server listens on. */
  issuer: string;
  /** The relying party's registered redirect URI (`http://127.0.0.1:<port>/callback`). */
  redirectUri: string;
  clients: { web: SignInClient; spa: SignInClient; console: SignInClient };
  /** Commits `mergekey.yaml` with these first-party apps, and waits until the server applied it. */
  setFirstPartyApps(apps: string[]): Promise<void>;
  close(): Promise<void>;
}

/** A loopback port nobody listens on now: the issuer must name the port before the server starts. */
async function freePort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** The relying party's callback: it answers every request with a small page (the test reads the browser's URL). */
async function callbackServer(): Promise<{ server: Server; port: number }> {
  const server = createHttpServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end('<!doctype html><title>Callback</title><h1>Back at the relying party</h1>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

export interface SignInWorldOptions {
  /**
   * `in-process` (the default): startServer with `mergekey serve`'s dependencies, one worker.
   * `child`: `mergekey serve` itself as a child process, with `workers` cluster workers, so that
   * consecutive requests of one sign-in may reach different workers.
   */
  run?: 'in-process' | 'child';
  workers?: number;
}

export async function startSignInWorld(options: SignInWorldOptions = {}): Promise<SignInWorld> {
  const dir = tempDir('mergekey-sign-in-');
  const data = join(dir.path, 'data');
  const { sealingPublicJwk } = await loadOrCreateKeys(data, { create: true });
  const jwk = sealingPublicJwk as SealingPublicJwk;
  const rp = await callbackServer();
  const redirectUri = `http://127.0.0.1:${rp.port}/callback`;
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;

  const clients = {
    web: { name: 'web', clientId: 'web-client-0001', secret: randomBytes(32).toString('base64url'), displayName: 'Acme Web Shop' },
    spa: { name: 'spa', clientId: 'spa-client-0001', secret: undefined, displayName: 'Acme Single-Page App' },
    console: { name: 'console', clientId: 'console-client-0001', secret: randomBytes(32).toString('base64url'), displayName: 'Acme Console' },
  };
  const appYaml = async (client: SignInClient, extra: string) => `apiVersion: mergekey/v1
kind: Application
metadata:
  name: ${client.name}
spec:
  displayName: ${client.displayName}
  description: The ${client.name} application.
  owners: [${OWNER.name}]
  clientId: ${client.clientId}
  scopes: [openid, profile, email, ${ORDERS_SCOPE.name}]
  grantTypes: [authorization_code, refresh_token]
  redirectUris: [${redirectUri}]
${extra}${client.secret === undefined ? '' : `  credentials:\n    secrets:\n      - sealed: ${await seal(jwk, { kind: 'Application', name: client.name }, client.secret)}\n`}`;

  const settingsYaml = (firstPartyApps: string[]) =>
    `apiVersion: mergekey/v1\nkind: Settings\nmetadata:\n  name: mergekey\nspec:\n  issuer: ${issuer}\n  defaultPlan: standard\n  firstPartyApps: [${firstPartyApps.join(', ')}]\n`;
  const userYaml = async (person: Person) => `apiVersion: mergekey/v1
kind: User
metadata:
  name: ${person.name}
spec:
  displayName: ${person.displayName}
  email: ${person.email}
  roles: [developer]
  password:
    sealed: ${await seal(jwk, { kind: 'User', name: person.name }, person.password)}
`;
  const repo = await FixtureRepo.create(join(dir.path, 'manifests.git'));
  await repo.commit({
    'mergekey.yaml': settingsYaml(['console']),
    'plans/standard.yaml': 'apiVersion: mergekey/v1\nkind: Plan\nmetadata:\n  name: standard\nspec:\n  description: The default plan.\n',
    'users/alice.yaml': await userYaml(ALICE),
    'users/dinah.yaml': await userYaml(DINAH),
    'users/bob.yaml': `apiVersion: mergekey/v1\nkind: User\nmetadata:\n  name: ${OWNER.name}\nspec:\n  displayName: ${OWNER.displayName}\n  roles: [developer]\n`,
    'apis/orders.yaml': `apiVersion: mergekey/v1
kind: Api
metadata:
  name: orders
spec:
  description: Orders.
  audience: https://orders.example.com
  scopes:
    - name: ${ORDERS_SCOPE.name}
      description: ${ORDERS_SCOPE.description}
`,
    'apps/web.yaml': await appYaml(clients.web, ''),
    'apps/spa.yaml': await appYaml(clients.spa, '  tokenEndpointAuthMethod: none\n'),
    'apps/console.yaml': await appYaml(clients.console, '  consent: skip\n'),
  });

  // The operator listener on a port of its own (9000 may be another test's); info logs, since the
  // child says where it serves at that level.
  const flags = { repo: repo.path, data, port: String(port), 'admin-port': '0', poll: '0', issuer, workers: String(options.workers ?? 1), 'log-level': options.run === 'child' ? 'info' : 'silent' };
  let stop: () => Promise<unknown>;
  let admin: string;
  if (options.run === 'child') {
    const child = serveChild(Object.entries(flags).flatMap(([flag, value]) => [`--${flag}`, value]));
    admin = await child.adminUrl();
    await waitFor(async () => (await fetch(`${admin}/readyz`)).status === 200, 'mergekey serve to apply the repository', 30_000);
    stop = () => child.stop();
  } else {
    // What `mergekey serve` registers: the OAuth endpoints and the portal from the CLI's dependencies.
    const server: RunningServer = await startServer(resolveServeConfig(flags, {}), await serveDependencies());
    await server.initialSync;
    admin = server.adminUrl;
    stop = () => server.close();
  }
  return {
    issuer,
    redirectUri,
    clients,
    async setFirstPartyApps(apps) {
      await repo.commit({ 'mergekey.yaml': settingsYaml(apps) }, { message: `firstPartyApps: [${apps.join(', ')}]` });
      // The operator's sync, as `mergekey sync` asks for it: it answers once the reconcile ran.
      const synced = await fetch(`${admin}/api/v1/sync?wait=true`, { method: 'POST' });
      if (synced.status !== 200) throw new Error(`sync answered ${synced.status}: ${await synced.text()}`);
    },
    async close() {
      await stop();
      await new Promise<void>((resolve) => rp.server.close(() => resolve()));
      dir.remove();
    },
  };
}

export interface BrowserRun {
  /** The URL the browser was redirected back to. */
  callback: URL;
  /** How many times the portal rendered the consent page (a 200 from /portal/authorize). */
  consentPages: number;
  /** The consent page's text, when it was shown. */
  consentText: string | undefined;
}

/**
 * Follows `url` in `on` as `person` would: signs in if the portal asks, answers the consent page
 * if it is shown (`answer`), and returns where the browser landed at the relying party.
 */
export async function authorizeInBrowser(world: Pick<SignInWorld, 'redirectUri'>, on: Page, url: URL, answer: 'Allow' | 'Deny' = 'Allow', person: Person = ALICE): Promise<BrowserRun> {
  let consentPages = 0;
  const count = (response: { url(): string; status(): number }) => {
    if (new URL(response.url()).pathname === '/portal/authorize' && response.status() === 200) consentPages += 1;
  };
  on.on('response', count);
  try {
    await on.goto(url.href);
    let consentText: string | undefined;
    for (;;) {
      const here = new URL(on.url());
      if (here.href.startsWith(world.redirectUri)) return { callback: here, consentPages, consentText };
      if (here.pathname === '/portal/sign-in') {
        await on.getByLabel('User name').fill(person.name);
        await on.getByLabel('Password').fill(person.password);
        await Promise.all([on.waitForURL((next) => next.pathname !== '/portal/sign-in'), on.getByRole('button', { name: 'Sign in' }).click()]);
        continue;
      }
      if (here.pathname === '/portal/authorize') {
        const button = on.getByRole('button', { name: answer, exact: true });
        await button.waitFor();
        consentText = (await on.locator('body').innerText()).replace(/\s+/g, ' ');
        await Promise.all([on.waitForURL((next) => next.href.startsWith(world.redirectUri)), button.click()]);
        continue;
      }
      throw new Error(`the browser stopped at ${here.href}: ${(await on.locator('body').innerText()).slice(0, 500)}`);
    }
  } finally {
    on.off('response', count);
  }
}
