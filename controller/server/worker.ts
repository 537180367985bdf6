// One worker process of `mergekey serve --workers N` (node:cluster): serves every public HTTP route
// over the store the primary reconciles (the operator listener is the primary's). It opens the
// store without the data directory's lock and the keys without creating them (the primary did
// both), asks the primary, over IPC, for what only the reconciler knows (its status, a sync), and
// answers the primary's request for its metrics. It serves TLS with its own copy of the
// certificate, read again when the primary passes on a SIGHUP, on its own SIGHUP, or when a file
// changes.
//
// It stops gracefully (Fastify first, so pending token records are written, then the store) when
// the primary says so, on SIGTERM, or when the primary is gone (the IPC channel disconnects).
// SIGINT is left to the primary: a Ctrl-C in a terminal reaches every process of the group, and
// the primary decides the order.
import cluster from 'node:cluster';
import type { FastifyInstance } from 'fastify';
import { LIMITS, type ServeConfig } from '../config/defaults.ts';
import { openStore, type Store } from '../store/open.ts';
import type { SharedDb } from '../store/postgres/db.ts';
import { IpcTimeout, isNotice, isPeerMessage, Rpc, type Channel, type Notice, type PeerMessage, type PrimaryCalls, type WorkerCalls } from './ipc.ts';
import { createLogger } from './logging.ts';
import { createMetrics } from './metrics.ts';
import { backgroundErrorLogger, connectShared, onSighup, readWebhookSecret, serveHttp, type Peers, type StartDependencies, type TlsReloading } from './start.ts';

/** The environment variable through which the primary hands a worker its setup (JSON). */
export const WORKER_SETUP_ENV = 'MERGEKEY_WORKER_SETUP';

export interface WorkerSetup {
  config: ServeConfig;
  issuer: string;
}

/** Runs this process as a worker until it is told to stop; then exits. */
export async function runWorker(deps: Pick<StartDependencies, 'openKeys' | 'plugins'>): Promise<void> {
  const setup = JSON.parse(process.env[WORKER_SETUP_ENV] ?? 'null') as WorkerSetup | null;
  if (setup === null || !cluster.isWorker) throw new Error('this module runs as a worker of `mergekey serve --workers N`');
  const { config, issuer } = setup;
  const logger = createLogger(config.logLevel).child({ worker: cluster.worker!.id });
  const notify = (notice: Notice) =>
    new Promise<void>((resolve) => {
      if (process.send === undefined || !process.connected) return resolve();
      process.send(notice, undefined, {}, () => resolve());
    });
  // Its own pool on the shared database, if any, is connected once the worker starts (below).
  let shared: SharedDb | undefined;
  const metrics = createMetrics(() => undefined, {
    reconcile: false,
    ...(config.state === 'lmdb' ? {} : { postgresRoundTrips: () => shared?.roundTrips() }),
  });
  const rpc = new Rpc<WorkerCalls, PrimaryCalls>(process as unknown as Channel, {
    metrics: () => metrics.registry.getMetricsAsJSON() as Promise<unknown[]>,
  });
  process.on('SIGINT', () => {});

  let store: Store | undefined;
  let app: FastifyInstance | undefined;
  let reloadTls: ((why: string) => void) | undefined;
  let sighup: TlsReloading | undefined;
  let started: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;
  // Listened for from the start: a stop may come while the worker is still starting (another
  // worker failed to start, or the operator gave up), and must not be lost.
  const stop = (why: string) => {
    stopping ??= (async () => {
      logger.info({ why }, 'worker stopping');
      try {
        await started?.catch(() => {});
        sighup?.stop();
        await app?.close();
        await store?.close();
      } finally {
        rpc.close();
        process.exit(0);
      }
    })();
    return stopping;
  };
  process.on('message', (message: unknown) => {
    if (isNotice(message) && message.type === 'mergekey:stop') void stop('the primary asked');
    if (isNotice(message) && message.type === 'mergekey:reload-tls') reloadTls?.('SIGHUP to the primary');
  });
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('disconnect', () => void stop('the primary is gone'));

  started = (async () => {
    // The primary checked the data file before it started any worker; others write it now.
    // Its own pool on the shared database, if any (the primary migrated it).
    shared = await connectShared(config, logger, { migrate: false });
    store = openStore(config.data, { checkDataFile: false, onBackgroundError: backgroundErrorLogger(logger), ...(shared === undefined ? {} : { shared }) });
    const opened = store;
    const keys = await deps.openKeys(config.data, { create: false });
    const webhookSecret = config.webhookSecretFile === undefined ? undefined : readWebhookSecret(config.webhookSecretFile, logger);
    const served = await serveHttp({
      config,
      logger,
      store,
      keys,
      issuer,
      status: {
        status: () => primary(() => rpc.call('status', undefined)),
        appliedCommit: () => opened.sync.appliedCommit()?.commit,
      },
      sync: { sync: async (reason, request) => (await primary(() => rpc.call('sync', { reason, ...request }, LIMITS.ipcSyncTimeoutMs))) ?? undefined },
      metrics,
      webhookSecret,
      peers: peersOverIpc(),
      ...(deps.plugins === undefined ? {} : { plugins: deps.plugins }),
    });
    app = served.app;
    reloadTls = served.reloadTls;
    // A SIGHUP sent to the whole process group reaches the worker itself; without a listener it would end it.
    sighup = onSighup(served.reloadTls, logger);
    if (stopping === undefined) await notify({ type: 'mergekey:listening', url: served.url });
    // Readiness is answered by the primary: it hears when this worker's store cannot write.
    opened.health.watch((problem) => void notify({ type: 'mergekey:store-problem', problem: problem ?? null }));
  })();
  try {
    await started;
  } catch (error) {
    if (stopping !== undefined) return;
    logger.error({ err: error }, 'worker failed to start');
    await notify({ type: 'mergekey:failed', message: error instanceof Error ? error.message : String(error) });
    await store?.close().catch(() => {});
    rpc.close();
    process.exit(1);
  }
}

/** Messages to and from the other workers, through the primary. */
function peersOverIpc(): Peers {
  return {
    publish(topic, payload) {
      if (process.send === undefined || !process.connected) return;
      // With a callback a failed send is reported to it, not as an 'error' event nobody handles:
      // the primary is gone, and this worker is stopping.
      process.send({ type: 'mergekey:peers', topic, payload } satisfies PeerMessage, undefined, {}, () => {});
    },
    subscribe(topic, receive) {
      const listener = (message: unknown) => {
        if (isPeerMessage(message) && message.topic === topic) receive(message.payload);
      };
      process.on('message', listener);
      return () => process.off('message', listener);
    },
  };
}

/** A request the primary did not answer in time is the server's momentary unavailability (503). */
async function primary<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof IpcTimeout) throw Object.assign(new Error('the reconciling process did not answer in time'), { statusCode: 503 });
    throw error;
  }
}
