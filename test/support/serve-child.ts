// Test fixtures for `mergekey serve` as an operator runs it: a child process (its workers, its
// signals, its logs), over a real bare git repository whose secrets are sealed to the data
// directory's own keys, and an oauth4webapi view of its OAuth server.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as oauth from 'oauth4webapi';
import { FixtureRepo } from './git.ts';
import { tempDir } from './reconcile.ts';
import { loadOrCreateKeys } from '../../controller/sealing/keys.ts';
import { seal } from '../../controller/sealing/seal.ts';

const bin = fileURLToPath(new URL('../../cli/bin/mergekey.js', import.meta.url));

/** Requests over plain http to loopback. */
export const insecure = { [oauth.allowInsecureRequests]: true } as const;

export interface ServeChild {
  proc: ChildProcessWithoutNullStreams;
  /** Every line of stdout and stderr so far. */
  lines: string[];
  /** The exit code (null after a signal). */
  exit: Promise<number | null>;
  /** The first line, past or future, matching `pattern`, after the first `skip` such lines. */
  waitFor(pattern: RegExp, skip?: number): Promise<string>;
  /** The URL it serves on, once it says so. */
  url(): Promise<string>;
  /** The URL of its operator listener (health, readiness, metrics, status, sync). */
  adminUrl(): Promise<string>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

export function serveChild(args: string[], env: Record<string, string> = {}): ServeChild {
  const proc = spawn(process.execPath, [bin, 'serve', ...args], { env: { ...process.env, ...env } });
  const lines: string[] = [];
  const waiters: { pattern: RegExp; skip: number; resolve(line: string): void; reject(error: Error): void }[] = [];
  let buffer = '';
  const onData = (chunk: Buffer) => {
    buffer += chunk.toString();
    let newline;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      lines.push(line);
      for (const waiter of waiters.filter((w) => w.pattern.test(line))) {
        if (waiter.skip-- > 0) continue;
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  };
  proc.stdout.on('data', onData);
  proc.stderr.on('data', onData);
  const exit = new Promise<number | null>((resolve) =>
    proc.on('close', (code) => {
      for (const waiter of waiters.splice(0)) waiter.reject(new Error(`mergekey serve exited before printing ${waiter.pattern}:\n${lines.slice(-15).join('\n')}`));
      resolve(code);
    }),
  );
  const waitFor = (pattern: RegExp, skip = 0) => {
    const seen = lines.filter((line) => pattern.test(line));
    if (seen.length > skip) return Promise.resolve(seen[skip]!);
    return new Promise<string>((resolve, reject) => waiters.push({ pattern, skip: skip - seen.length, resolve, reject }));
  };
  return {
    proc,
    lines,
    exit,
    waitFor,
    url: async () => /serving on (https?:\/\/[^\s"]+)/.exec(await waitFor(/mergekey serving on/))![1]!,
    adminUrl: async () => /operator endpoints on (http:\/\/[^\s")]+)/.exec(await waitFor(/mergekey serving on/))![1]!,
    stop: () => {
      proc.kill('SIGTERM');
      return exit;
    },
  };
}

export interface SealedRepo {
  repo: FixtureRepo;
  data: string;
  issuer: string;
  /** Client id and secret of each application, by name. */
  clients: Record<string, { clientId: string; secret: string }>;
  /** Password of each user, by name. */
  passwords: Record<string, string>;
  /** Commits `apps/NAME.yaml` again with another state. */
  setState(app: string, state: 'active' | 'inactive'): Promise<string>;
  remove(): void;
}

/** The audience of the fixture's one Api, `orders`, whose resource server is `orders-rs`. */
export const ORDERS_AUDIENCE = 'https://orders.example.com';

/**
 * A bare repository with applications `billing` (client_credentials, scope orders:read),
 * `mobile` (password and refresh_token), `orders-rs` (the resource server the `orders` Api lets
 * introspect its tokens) and a user `alice` with a password, every secret sealed to the keys of a
 * fresh data directory — as after `mergekey keys public` and `mergekey app new`.
 */
export async function sealedRepo(): Promise<SealedRepo> {
  const dir = tempDir('mergekey-e2e-');
  const data = join(dir.path, 'data');
  const { sealingPublicJwk } = await loadOrCreateKeys(data, { create: true });
  const repo = await FixtureRepo.create(join(dir.path, 'manifests.git'));
  // http: the tests speak plain HTTP to loopback, which an https issuer refuses.
  const issuer = 'http://auth.example.com';
  const clients: SealedRepo['clients'] = {};
  const passwords = { alice: randomBytes(12).toString('base64url') };
  const app = async (name: string, state: 'active' | 'inactive' = 'active') => {
    clients[name] ??= { clientId: `${name}-client-0001`, secret: randomBytes(32).toString('base64url') };
    const sealed = await seal(sealingPublicJwk, { kind: 'Application', name }, clients[name].secret);
    return `apiVersion: mergekey/v1
kind: Application
metadata:
  name: ${name}
spec:
  description: The ${name} application.
  owners: [alice]
  clientId: ${clients[name].clientId}
  state: ${state}
  scopes: [${name === 'billing' ? 'open, orders:read' : 'open'}]
  grantTypes: [${(name === 'mobile' ? ['password', 'refresh_token'] : ['client_credentials']).join(', ')}]
  credentials:
    secrets:
      - sealed: ${sealed}
`;
  };
  await repo.commit({
    'mergekey.yaml': `apiVersion: mergekey/v1\nkind: Settings\nmetadata:\n  name: mergekey\nspec:\n  issuer: ${issuer}\n  defaultPlan: standard\n`,
    'plans/standard.yaml': 'apiVersion: mergekey/v1\nkind: Plan\nmetadata:\n  name: standard\nspec:\n  description: The default plan.\n',
    'users/alice.yaml':
      'apiVersion: mergekey/v1\nkind: User\nmetadata:\n  name: alice\nspec:\n  roles: [developer]\n  password:\n' +
      `    sealed: ${await seal(sealingPublicJwk, { kind: 'User', name: 'alice' }, passwords.alice)}\n`,
    'apis/orders.yaml':
      `apiVersion: mergekey/v1\nkind: Api\nmetadata:\n  name: orders\nspec:\n  description: Orders.\n  audience: ${ORDERS_AUDIENCE}\n` +
      '  scopes:\n    - name: orders:read\n      description: Read orders.\n  introspection:\n    applications: [orders-rs]\n',
    'apps/billing.yaml': await app('billing'),
    'apps/mobile.yaml': await app('mobile'),
    'apps/orders-rs.yaml': await app('orders-rs'),
  });
  return {
    repo,
    data,
    issuer,
    clients,
    passwords,
    setState: async (name, state) => repo.commit({ [`apps/${name}.yaml`]: await app(name, state) }, { message: `${name}: ${state}` }),
    remove: () => dir.remove(),
  };
}

/**
 * The server's RFC 8414 metadata, fetched from `url`, with its endpoints moved onto `url`: the
 * configured issuer is a public name the test cannot resolve, as behind a reverse proxy.
 */
export async function authorizationServer(url: string, issuer: string): Promise<oauth.AuthorizationServer> {
  const response = await fetch(`${url}/.well-known/oauth-authorization-server`);
  const as = await oauth.processDiscoveryResponse(new URL(issuer), response);
  const moved = (endpoint: string | undefined) => (endpoint === undefined ? undefined : `${url}${new URL(endpoint).pathname}`);
  return {
    ...as,
    token_endpoint: moved(as.token_endpoint)!,
    introspection_endpoint: moved(as.introspection_endpoint)!,
    revocation_endpoint: moved(as.revocation_endpoint)!,
    jwks_uri: moved(as.jwks_uri)!,
  };
}

export interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/**
 * A form POST on a connection of its own (`Connection: close`): node:cluster hands each new
 * connection to the next worker in turn, so consecutive calls reach every worker.
 */
export function postOnNewConnection(url: string, form: Record<string, string>, basic: { id: string; secret: string }): Promise<Answer> {
  const body = new URLSearchParams(form).toString();
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent: false,
        headers: {
          connection: 'close',
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${basic.id}:${basic.secret}`).toString('base64')}`,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString() || '{}') as Record<string, unknown> }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
