// Test fixtures for the server: a real `mergekey serve` in-process (real git repository, LMDB store,
// keys, HTTP on an OS-picked loopback port), with its logs captured.
import { createHmac, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { resolveServeConfig, type ServeFlags } from '../../controller/config/defaults.ts';
import { FixtureRepo, type Fixture } from './git.ts';
import { appYaml, BASE_FILES, tempDir, type AppFields } from './reconcile.ts';
import { loadOrCreateKeys } from '../../controller/sealing/keys.ts';
import { seal, type SealingPublicJwk } from '../../controller/sealing/seal.ts';
import { acquireControllerLock } from '../../controller/store/lock.ts';
import { startServer, type RunningServer, type StartDependencies } from '../../controller/server/start.ts';

/**
 * The issuer the fixture server is started with. http: the tests speak plain HTTP to loopback,
 * and an https issuer refuses that (transport.test.ts covers it).
 */
export const TEST_ISSUER = 'http://auth.example.com';

/** The real lock, keys and sealing: what `mergekey serve` and `mergekey seal` use. */
export const serverDeps: TestDependencies = {
  acquireLock: acquireControllerLock,
  openKeys: loadOrCreateKeys,
  seal: (publicJwk, target, secret) => seal(publicJwk as SealingPublicJwk, target, secret),
};

export interface TestServer {
  server: RunningServer;
  repo: FixtureRepo;
  dataDir: string;
  webhookSecret: string | undefined;
  /** Every log line written so far. */
  logs: string[];
  /** Plaintext secrets handed out by `app`. */
  plaintexts: string[];
  app(name: string, fields?: AppFields): Promise<string>;
  commit(files: Fixture): Promise<string>;
  stop(): Promise<void>;
}

export type TestDependencies = Omit<StartDependencies, 'logDestination'> & {
  /** Seals to the server's public key, as `mergekey seal` does. */
  seal(publicJwk: object, bind: { kind: 'Application' | 'User'; name: string }, secret: string): Promise<string>;
};

export interface TestServerOptions {
  webhook?: boolean;
  flags?: ServeFlags;
  files?: Fixture;
  deps?: TestDependencies;
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const deps: TestDependencies = options.deps ?? serverDeps;
  const dir = tempDir('mergekey-server-');
  const repo = await FixtureRepo.create(join(dir.path, 'manifests.git'));
  const dataDir = join(dir.path, 'data');
  // The keys exist before the first start, as after `mergekey keys public` on a new data dir.
  const publicJwk = (await deps.openKeys(dataDir, { create: true })).sealingPublicJwk;
  const plaintexts: string[] = [];
  const app = async (name: string, fields: AppFields = {}) => {
    const secret = `plaintext-${name}-${randomBytes(12).toString('hex')}`;
    plaintexts.push(secret);
    return appYaml(name, await deps.seal(publicJwk, { kind: 'Application', name }, secret), fields);
  };
  await repo.commit({ ...BASE_FILES, ...(options.files ?? { 'apps/billing.yaml': await app('billing') }) });

  let webhookSecret: string | undefined;
  // The fixture repository's issuer, given as a flag so that the server listens before any sync,
  // and debug logs so that request lines (and their redaction) are exercised.
  const flags: ServeFlags = { repo: repo.path, data: dataDir, port: '0', poll: '0', issuer: TEST_ISSUER, workers: '1', 'log-level': 'debug', ...options.flags };
  if (options.webhook === true) {
    webhookSecret = randomBytes(24).toString('hex');
    plaintexts.push(webhookSecret);
    const file = join(dir.path, 'webhook-secret');
    writeFileSync(file, `${webhookSecret}\n`, { mode: 0o600 });
    flags['webhook-secret-file'] = file;
  }
  const logs: string[] = [];
  const logDestination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(...chunk.toString().split('\n').filter((l) => l !== ''));
      done();
    },
  });
  const server = await startServer(resolveServeConfig(flags, {}), { ...deps, logDestination });
  await server.initialSync;
  return {
    server,
    repo,
    dataDir,
    webhookSecret,
    logs,
    plaintexts,
    app,
    commit: (files) => repo.commit(files),
    async stop() {
      await server.close();
      dir.remove();
    },
  };
}

export function sign(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** A GitHub push event payload for the fixture repository. */
export function pushPayload(repoPath: string, options: { ref?: string; after?: string; cloneUrl?: string } = {}): string {
  return JSON.stringify({
    ref: options.ref ?? 'refs/heads/main',
    before: '0'.repeat(40),
    after: options.after ?? '1'.repeat(40),
    repository: { full_name: 'acme/manifests', clone_url: options.cloneUrl ?? repoPath, html_url: 'https://github.com/acme/manifests' },
    pusher: { name: 'alice' },
  });
}

/** Waits (without asserting on time) until `check` holds; fails after `limitMs`. */
export async function waitFor(check: () => boolean | Promise<boolean>, what: string, limitMs = 15_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
