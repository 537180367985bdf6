// `mergekey serve`: runs the controller — follows the manifests branch into the store and serves
// the HTTP endpoints — until SIGTERM or SIGINT, then shuts down gracefully: no new connections,
// in-flight requests and the reconcile transaction finish, the store closes, exit 0.
import { fileURLToPath } from 'node:url';
import { ConfigError, LIMITS, resolveServeConfig, SERVE_OPTIONS, type ServeConfig, type ServeFlags, type ServeOption } from '../../controller/config/defaults.ts';
import type { StartDependencies } from '../../controller/server/start.ts';
import { StoreError, type StoreErrorCode } from '../../controller/store/errors.ts';
import { defineCommand, type OptionSpec } from '../command.ts';
import { failure, usageError } from '../errors.ts';

export interface ServeResult {
  url: string;
  signal: string;
}

export type ServeDependencies = StartDependencies;

/** The script a worker process runs (node:cluster). */
export const WORKER_ENTRY = fileURLToPath(new URL('../bin/serve-worker.js', import.meta.url));

export interface Serving {
  url: string;
  /** The operator listener: health, readiness, metrics, status, sync. */
  adminUrl: string;
  issuer: string;
  /** Settles when the first reconcile has finished (whatever its result). */
  initialSync: Promise<void>;
  logger: { info(object: object, message: string): void; error(message: string): void };
  close(): Promise<void>;
}

/** Starts the server: one process, or a primary and its workers (controller/config/defaults.ts). */
export async function startServing(config: ServeConfig, deps: ServeDependencies): Promise<Serving> {
  if (config.workers === 1) {
    const { startServer } = await import('../../controller/server/start.ts');
    return startServer(config, deps);
  }
  const { startCluster } = await import('../../controller/server/cluster.ts');
  return startCluster(config, { ...deps, workerEntry: WORKER_ENTRY });
}

/** Resolves flags and environment, or throws the usage error that names the bad value. */
export function serveConfig(flags: ServeFlags, env: NodeJS.ProcessEnv = process.env): ServeConfig {
  try {
    return resolveServeConfig(flags, env);
  } catch (error) {
    if (error instanceof ConfigError) throw usageError(error.message, "Run 'mergekey serve --help' for its options.");
    throw error;
  }
}

/** Starts the server and resolves once it has stopped after a signal. */
export async function serve(flags: ServeFlags, deps: ServeDependencies, env: NodeJS.ProcessEnv = process.env): Promise<ServeResult> {
  const config = serveConfig(flags, env);
  const server = await start(config, deps);
  const signal = await untilSignal();
  await stopServing(server, signal);
  return { url: server.url, signal };
}

/** What the operator can do when the shared PostgreSQL of `--state` refuses the start. */
const SHARED_STATE_HINTS: Partial<Record<StoreErrorCode, string>> = {
  'store.unreachable': 'Check the host and port in --state (MERGEKEY_STATE), and that PostgreSQL is running and accepts connections from here.',
  'store.auth-refused': 'Check the user and password in --state (MERGEKEY_STATE).',
  'store.database-missing': 'Create the database (CREATE DATABASE), then start with --migrate or run `mergekey db migrate`.',
  'store.schema-older': 'Start with --migrate, or run `mergekey db migrate` first.',
  'store.schema-newer': 'Nothing was changed: run the Mergekey release that migrated it, or a newer one.',
};

/** Starts serving; configuration mistakes are usage errors, the rest failures. */
export async function start(config: ServeConfig, deps: ServeDependencies): Promise<Serving> {
  try {
    return await startServing(config, deps);
  } catch (error) {
    if (error instanceof ConfigError) throw usageError(error.message);
    const hint = error instanceof StoreError ? SHARED_STATE_HINTS[error.code] : undefined;
    throw failure(`cannot start: ${error instanceof Error ? error.message : String(error)}`, { cause: error, ...(hint === undefined ? {} : { hint }) });
  }
}

/** Resolves with the name of the first SIGTERM or SIGINT. */
export function untilSignal(): Promise<string> {
  return new Promise<string>((resolve) => {
    const stop = (name: string) => {
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      resolve(name);
    };
    const onTerm = () => stop('SIGTERM');
    const onInt = () => stop('SIGINT');
    process.once('SIGTERM', onTerm);
    process.once('SIGINT', onInt);
  });
}

/** Stops gracefully, or exits with status 1 if that takes longer than the shutdown grace. */
export async function stopServing(server: Serving, signal: string): Promise<void> {
  server.logger.info({ signal }, 'shutting down');
  // A hung request or git process must not keep the process alive forever.
  const timer = setTimeout(() => {
    server.logger.error(`shutdown took longer than ${LIMITS.shutdownGraceMs} ms; exiting`);
    process.exit(1);
  }, LIMITS.shutdownGraceMs).unref();
  await server.close();
  clearTimeout(timer);
}

const defaults = new Map((SERVE_OPTIONS as readonly ServeOption[]).map((o) => [o.flag, o]));

/** The CLI options, from the one defaults module: no CLI default, so the environment can apply. */
function options(): Record<string, OptionSpec> {
  const result: Record<string, OptionSpec> = {};
  for (const option of defaults.values()) {
    const fallback = option.required === true ? 'required' : option.default === undefined ? 'unset' : `default ${option.default}`;
    result[option.flag] = {
      type: option.type === 'boolean' ? 'boolean' : 'string',
      ...(option.valueName === undefined ? {} : { valueName: option.valueName }),
      description: `${option.description} (env ${option.env}; ${fallback})`,
    };
  }
  return result;
}

/** The real lock and keys, loaded only when the server starts (`--help` does not pay for them). */
export async function serveDependencies(): Promise<ServeDependencies> {
  const [{ acquireControllerLock }, { loadOrCreateKeys }, { portalFor }] = await Promise.all([
    import('../../controller/store/lock.ts'),
    import('../../controller/sealing/keys.ts'),
    import('../../controller/portal/setup.ts'),
  ]);
  return { acquireLock: acquireControllerLock, openKeys: loadOrCreateKeys, plugins: (context) => [portalFor(context)] };
}

export const command = defineCommand({
  summary: 'Run the controller: sync the manifests branch and serve the endpoints.',
  description:
    'Follow one branch of the manifests repository (any git URL or local path) into the store, ' +
    'on a poll interval, on signed GitHub push webhooks and on `mergekey sync`, and serve the OAuth ' +
    'endpoints and the portal on the public listener (over TLS with --tls-cert-file) and health, ' +
    'readiness, metrics, status and sync on the operator listener (--admin-host, --admin-port). ' +
    'Every option can also be set through its environment variable; a flag wins over the ' +
    'environment. Logs are JSON lines on stdout, with secrets redacted. SIGTERM or SIGINT stops it ' +
    'gracefully; SIGHUP reloads the TLS certificate.',
  arguments: [],
  options: options(),
  examples: [
    'mergekey serve --repo https://github.com/acme/manifests.git --data /var/lib/mergekey',
    'mergekey serve --repo /srv/manifests.git --issuer https://auth.acme.example --tls-cert-file /etc/mergekey/tls.crt --tls-key-file /etc/mergekey/tls.key',
    'MERGEKEY_REPO=/srv/manifests.git MERGEKEY_POLL=1m mergekey serve --webhook-secret-file /run/secrets/github',
  ],
  run: async (input) => serve(toFlags(input as Record<string, unknown>), await serveDependencies()),
  render: () => '',
});

/** camelCase CLI input → the defaults module's flag names. */
function toFlags(input: Record<string, unknown>): ServeFlags {
  const flags: Record<string, string | boolean | undefined> = {};
  for (const flag of defaults.keys()) {
    const value = input[flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())];
    if (typeof value === 'string' || typeof value === 'boolean') flags[flag] = value;
  }
  return flags as ServeFlags;
}
