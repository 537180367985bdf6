// Starts `mergekey serve`: wires configuration, the data directory's lock and keys, the store, the
// git source, the reconciler and its loop, metrics and the HTTP server, and knows how to take them
// down again in the right order.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { DestinationStream, Logger } from 'pino';
import { ConfigError, type ServeConfig } from '../config/defaults.ts';
import { confirmerFor } from '../confirm/setup.ts';
import { GitError, GitSource } from '../git/source.ts';
import { readAppliedCommit } from '../reconcile/apply.ts';
import { ReconcileLoop } from '../reconcile/loop.ts';
import { Reconciler } from '../reconcile/reconciler.ts';
import type { SecretOpener } from '../reconcile/records.ts';
import { openStore, type Store } from '../store/open.ts';
import { buildApp } from './app.ts';
import { createLogger } from './logging.ts';
import { createMetrics } from './metrics.ts';

/** What the sealing module provides from the data directory's `keys/`. */
export interface ControllerKeys {
  /** The public sealing JWK, published at /.well-known/mergekey-sealing-key. */
  sealingPublicJwk: object;
  opener: SecretOpener;
  secretHashKey: Uint8Array;
}

export interface ControllerLock {
  release(): void | Promise<void>;
}

/** Everything a feature plugin (the OAuth endpoints) may need, handed over by the root. */
export interface ServerContext {
  config: ServeConfig;
  store: Store;
  keys: ControllerKeys;
  logger: Logger;
  reconciler: Reconciler;
}

export interface StartDependencies {
  /** Refuses a second server on the same data directory. */
  acquireLock(dataDir: string): ControllerLock | Promise<ControllerLock>;
  /**
   * Loads the controller's keys, creating them only when `create` is true: on a store that has
   * applied a commit, missing keys are lost keys, and new ones would open nothing.
   */
  openKeys(dataDir: string, options: { create: boolean }): ControllerKeys | Promise<ControllerKeys>;
  /** Feature plugins, built once the store and keys exist. */
  plugins?: (context: ServerContext) => FastifyPluginAsync[] | Promise<FastifyPluginAsync[]>;
  /** Where logs go (stdout by default); tests capture them. */
  logDestination?: DestinationStream;
  openStore?: (dataDir: string) => Store;
}

export interface RunningServer {
  app: FastifyInstance;
  /** `http://host:port` actually bound (port 0 picks one). */
  url: string;
  reconciler: Reconciler;
  loop: ReconcileLoop;
  logger: Logger;
  store: Store;
  /** Settles when the first reconcile has finished (whatever its result). */
  initialSync: Promise<void>;
  /** Stops accepting, finishes in-flight requests and the reconcile transaction, closes the store. */
  close(): Promise<void>;
}

export async function startServer(config: ServeConfig, deps: StartDependencies): Promise<RunningServer> {
  const logger = createLogger(config.logLevel, deps.logDestination);
  let source: GitSource;
  try {
    source = new GitSource({ repo: config.repo, branch: config.branch, cacheDir: join(config.data, 'git') });
  } catch (error) {
    if (error instanceof GitError && error.code === 'REFUSED') throw new ConfigError(`--repo/--branch: ${error.message}`);
    throw error;
  }
  const webhookSecret = config.webhookSecretFile === undefined ? undefined : readWebhookSecret(config.webhookSecretFile, logger);

  const lock = await deps.acquireLock(config.data);
  const cleanup: (() => unknown)[] = [() => lock.release()];
  const undo = async () => {
    for (const step of cleanup.reverse()) await step();
  };
  try {
    const store = (deps.openStore ?? openStore)(config.data);
    cleanup.push(() => store.close());
    const keys = await deps.openKeys(config.data, { create: readAppliedCommit(store) === undefined });

    const confirm = confirmerFor(config, { gitDir: join(config.data, 'git'), log: logger.child({ component: 'confirm' }) });
    let reconciler: Reconciler | undefined;
    const metrics = createMetrics(() => reconciler);
    reconciler = new Reconciler({
      store,
      source,
      opener: keys.opener,
      secretHashKey: keys.secretHashKey,
      allowMassDeactivation: config.allowMassDeactivation,
      log: logger.child({ component: 'reconciler' }),
      onRun: (run) => metrics.observeRun(run),
      ...(confirm === undefined ? {} : { onApplied: (event) => confirm.confirmer.onApplied(event) }),
    });
    const loop = new ReconcileLoop({ reconciler, pollMs: config.poll });
    cleanup.push(() => loop.stop());

    const context: ServerContext = { config, store, keys, logger, reconciler };
    const app = await buildApp({
      logger,
      reconciler,
      sync: loop,
      metrics,
      sealingKey: keys.sealingPublicJwk,
      ...(webhookSecret === undefined ? {} : { webhook: { secret: webhookSecret, repository: config.repo, branch: config.branch } }),
      plugins: (await deps.plugins?.(context)) ?? [],
    });
    cleanup.push(() => app.close());
    const address = await app.listen({ host: config.host, port: config.port });
    logger.info(
      { repository: source.describe(), branch: config.branch, poll: config.poll, webhook: webhookSecret !== undefined, confirmOn: confirm?.repository },
      `mergekey serving on ${address}`,
    );
    const initialSync = loop.start();

    let closing: Promise<void> | undefined;
    return {
      app,
      url: address,
      reconciler,
      loop,
      logger,
      store,
      initialSync,
      close() {
        closing ??= (async () => {
          // Requests and the reconcile finish side by side; the store closes only after both.
          await Promise.all([app.close(), loop.stop()]);
          await confirm?.confirmer.close();
          await store.close();
          await lock.release();
          logger.info('mergekey stopped');
        })();
        return closing;
      },
    };
  } catch (error) {
    await undo();
    throw error;
  }
}

function readWebhookSecret(file: string, logger: Logger): Uint8Array {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`--webhook-secret-file: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  // A trailing newline is an editor's, not part of the secret GitHub was given.
  const secret = text.replace(/\r?\n$/, '');
  if (secret.length < 16) throw new ConfigError(`--webhook-secret-file: the secret in ${file} is shorter than 16 characters`);
  if ((statSync(file).mode & 0o077) !== 0) logger.warn({ file }, 'the webhook secret file is readable by other users; chmod 600 it');
  return Buffer.from(secret, 'utf8');
}

