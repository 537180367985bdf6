// `mergekey serve --workers N` with N ≥ 2: the primary process holds the data directory's lock,
// opens the store and the keys, reconciles, and serves the operator listener (health, readiness,
// metrics of every process, status, sync); N worker processes (node:cluster, worker.ts) serve
// every public route over the same LMDB store. The primary answers what only the reconciler knows
// (status, sync) over IPC, collects each worker's metrics, passes a SIGHUP on to every worker
// (each reloads its TLS certificate), restarts a worker that exits, and
// on close stops the workers (each closes Fastify, then its store), then the reconciler, then the
// store, then releases the lock. Messages a worker sends for its peers (what its throttles counted,
// so that rates and sign-in limits hold across the workers) it passes on to the others and, with
// `--state postgres://…`, to the other replicas (replica-peers.ts), whose messages it hands to
// every worker.
import cluster, { type Worker } from 'node:cluster';
import type { FastifyInstance } from 'fastify';
import { AggregatorRegistry } from 'prom-client';
import type { Logger } from 'pino';
import { LIMITS, type ServeConfig } from '../config/defaults.ts';
import type { ReconcileLoop } from '../reconcile/loop.ts';
import type { Reconciler } from '../reconcile/reconciler.ts';
import type { Store } from '../store/open.ts';
import { isNotice, isPeerMessage, Rpc, type Channel, type Handlers, type Notice, type PeerMessage, type PrimaryCalls, type WorkerCalls } from './ipc.ts';
import { createLogger } from './logging.ts';
import { openReplicaPeers, type ReplicaPeers } from './replica-peers.ts';
import { controllerStatus, onSighup, openController, resolveIssuer, serveAdmin, warnIfUnreachable, type Controller, type StartDependencies, type TlsReloading } from './start.ts';
import { tlsOf } from './tls.ts';
import { WORKER_SETUP_ENV, type WorkerSetup } from './worker.ts';

export interface ClusterDependencies extends StartDependencies {
  /** The script each worker runs: it registers tsx and calls `runWorker` (cli/bin/serve-worker.js). */
  workerEntry: string;
}

export interface RunningCluster {
  /** `http(s)://host:port` the workers share (port 0 picks one, the same for all). */
  url: string;
  /** The primary's operator listener. */
  admin: FastifyInstance;
  adminUrl: string;
  issuer: string;
  logger: Logger;
  store: Store;
  reconciler: Reconciler;
  loop: ReconcileLoop;
  /** Process ids of the workers serving now. */
  workerPids(): number[];
  initialSync: Promise<void>;
  close(): Promise<void>;
}

export async function startCluster(config: ServeConfig, deps: ClusterDependencies): Promise<RunningCluster> {
  if (!cluster.isPrimary) throw new Error('startCluster runs in the primary process');
  const logger = createLogger(config.logLevel, deps.logDestination);
  // A certificate that does not load refuses the start here, not in N workers.
  tlsOf(config);
  const controller = await openController(config, deps, logger);
  let pool: WorkerPool | undefined;
  let admin: FastifyInstance | undefined;
  let sighup: TlsReloading | undefined;
  let replicas: ReplicaPeers | undefined;
  let stopReceiving = () => {};
  try {
    const { issuer, initialSync } = await resolveIssuer(config, controller, logger);
    warnIfUnreachable(config, issuer, logger);
    replicas = controller.shared === undefined ? undefined : await openReplicaPeers(controller.shared, logger);
    const otherReplicas = replicas;
    pool = new WorkerPool(config.workers, deps.workerEntry, { config, issuer }, primaryHandlers(controller), logger, replicas);
    const workers = pool;
    stopReceiving = replicas?.onMessage((message) => workers.passOn(message)) ?? stopReceiving;
    const url = await pool.start();
    const operator = await serveAdmin({
      config,
      logger,
      reconciler: controllerStatus(controller),
      sync: controller.trigger,
      metrics: controller.metrics,
      renderMetrics: () => everyProcessMetrics(controller, workers),
      storeProblem: () => controller.store.health.problem() ?? workers.storeProblem(),
    });
    admin = operator.app;
    const runningAdmin = admin;
    sighup = onSighup(config.tlsCertFile === undefined ? undefined : () => workers.tell({ type: 'mergekey:reload-tls' }), logger);
    const stopSighup = sighup;
    logger.info(
      { repository: controller.source.describe(), branch: config.branch, poll: config.poll, issuer, workers: config.workers, workerPids: pool.pids(), adminUrl: operator.url },
      `mergekey serving on ${url} (operator endpoints on ${operator.url})`,
    );
    const synced = initialSync ?? controller.loop.start();
    const running = pool;
    let closing: Promise<void> | undefined;
    return {
      url,
      admin: runningAdmin,
      adminUrl: operator.url,
      issuer,
      logger,
      store: controller.store,
      reconciler: controller.reconciler,
      loop: controller.loop,
      workerPids: () => running.pids(),
      initialSync: synced,
      close() {
        closing ??= (async () => {
          stopSighup.stop();
          await Promise.all([running.stop(), runningAdmin.close(), controller.loop.stop()]);
          // After the workers sent their last counts, before the store closes the pool.
          stopReceiving();
          await otherReplicas?.close();
          await controller.close();
          logger.info('mergekey stopped');
        })();
        return closing;
      },
    };
  } catch (error) {
    sighup?.stop();
    await admin?.close();
    await pool?.stop();
    stopReceiving();
    await replicas?.close();
    await controller.close();
    throw error;
  }
}

function primaryHandlers(controller: Controller): Handlers<PrimaryCalls> {
  return {
    status: () => controller.reconciler.status(),
    sync: async ({ reason, acceptHistoryRewrite }) =>
      (await controller.trigger.sync(reason, acceptHistoryRewrite === undefined ? undefined : { acceptHistoryRewrite })) ?? null,
  };
}

/** The operator listener's /metrics: the primary's registry and every listening worker's, aggregated. */
async function everyProcessMetrics(controller: Controller, pool: WorkerPool): Promise<string> {
  const own = await controller.metrics.registry.getMetricsAsJSON();
  const theirs = await pool.collect((rpc) => rpc.call('metrics', undefined));
  return AggregatorRegistry.aggregate([own, ...theirs]).metrics();
}

interface Slot {
  worker: Worker;
  rpc: Rpc<PrimaryCalls, WorkerCalls>;
  listening: boolean;
  /** Why the worker's store cannot write, as it last said. */
  storeProblem?: string;
}

/** N workers, each in a slot it is restarted into when it exits. */
class WorkerPool {
  private readonly slots: (Slot | undefined)[];
  /** Recent exits of each slot (ms), for the restart delay. */
  private readonly exits: number[][];
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopping = false;
  private readonly exited = new Map<Worker, Promise<void>>();

  constructor(
    count: number,
    private readonly exec: string,
    private readonly setup: WorkerSetup,
    private readonly handlers: Handlers<PrimaryCalls>,
    private readonly logger: Logger,
    /** The other replicas, told what the workers publish for their peers (`--state postgres://…`). */
    private readonly replicas?: ReplicaPeers,
  ) {
    this.slots = Array.from({ length: count }, () => undefined);
    this.exits = Array.from({ length: count }, () => []);
  }

  /** Starts every worker; resolves with the URL they serve once all listen, rejects if one cannot start. */
  async start(): Promise<string> {
    cluster.setupPrimary({ exec: this.exec, args: [] });
    const urls = await Promise.all(this.slots.map((_, index) => this.fork(index)));
    return urls[0]!;
  }

  /** Why a serving worker's store cannot write (a full disk), if one cannot. */
  storeProblem(): string | undefined {
    return this.slots.find((slot) => slot?.listening === true && slot.storeProblem !== undefined)?.storeProblem;
  }

  pids(): number[] {
    return this.slots.flatMap((slot) => (slot?.listening === true && slot.worker.process.pid !== undefined ? [slot.worker.process.pid] : []));
  }

  /** Asks every listening worker; a worker that fails or does not answer is left out. */
  async collect<T>(ask: (rpc: Rpc<PrimaryCalls, WorkerCalls>) => Promise<T>): Promise<T[]> {
    const answers = await Promise.allSettled(this.slots.filter((slot) => slot?.listening === true).map((slot) => ask(slot!.rpc)));
    return answers.flatMap((answer) => (answer.status === 'fulfilled' ? [answer.value] : []));
  }

  /** Stops every worker gracefully (SIGKILL past the shutdown grace) and restarts none. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    const waits = [...this.exited.values()];
    for (const slot of this.slots) {
      if (slot === undefined || slot.worker.isDead()) continue;
      const worker = slot.worker;
      // A worker that cannot be told (its channel closed) gets SIGTERM, which it also stops on.
      const byTerm = () => void worker.process.kill('SIGTERM');
      try {
        worker.send({ type: 'mergekey:stop' }, (error) => {
          if (error !== null) byTerm();
        });
      } catch {
        byTerm();
      }
    }
    // Before the primary's own deadline, so that it still closes the store and releases the lock.
    const deadline = setTimeout(() => {
      for (const slot of this.slots) if (slot !== undefined && !slot.worker.isDead()) slot.worker.process.kill('SIGKILL');
    }, LIMITS.shutdownGraceMs - 5_000);
    await Promise.all(waits);
    clearTimeout(deadline);
  }

  /** Sends a notice to every serving worker (one that is starting reads the files anew anyway). */
  tell(notice: Notice): void {
    for (const slot of this.slots) {
      if (slot === undefined || !slot.listening || !slot.worker.isConnected()) continue;
      slot.worker.send(notice, () => {});
    }
  }

  /** Gives a message for the peers to every serving worker but the one it came `from` (another replica's: to all). */
  passOn(message: PeerMessage, from?: Worker): void {
    for (const slot of this.slots) {
      if (slot === undefined || slot.worker === from || !slot.listening || !slot.worker.isConnected()) continue;
      // With a callback a failed send is reported to it, not as an 'error' event nobody handles:
      // that worker is exiting, and its replacement starts afresh.
      slot.worker.send(message, () => {});
    }
  }

  private fork(index: number): Promise<string> {
    const worker = cluster.fork({ [WORKER_SETUP_ENV]: JSON.stringify(this.setup) });
    const rpc = new Rpc<PrimaryCalls, WorkerCalls>(worker as unknown as Channel, this.handlers);
    const slot: Slot = { worker, rpc, listening: false };
    this.slots[index] = slot;
    let resolveExit!: () => void;
    this.exited.set(worker, new Promise((resolve) => (resolveExit = resolve)));
    return new Promise<string>((resolve, reject) => {
      let failure: string | undefined;
      worker.on('message', (message: unknown) => {
        if (isPeerMessage(message)) {
          this.replicas?.publish(message.topic, message.payload);
          return this.passOn(message, worker);
        }
        if (!isNotice(message)) return;
        if (message.type === 'mergekey:listening') {
          slot.listening = true;
          this.logger.info({ worker: worker.id, workerPid: worker.process.pid }, `worker ${worker.id} (pid ${worker.process.pid}) serving`);
          resolve(message.url);
        } else if (message.type === 'mergekey:failed') {
          failure = message.message;
        } else if (message.type === 'mergekey:store-problem') {
          if (message.problem === null) delete slot.storeProblem;
          else slot.storeProblem = message.problem;
        }
      });
      worker.on('exit', (code, signal) => {
        rpc.close();
        this.exited.delete(worker);
        resolveExit();
        if (this.slots[index] === slot) this.slots[index] = undefined;
        if (!slot.listening) {
          // A worker that never listened fails the start; later, it is retried like a crash.
          reject(new Error(`worker ${worker.id} could not start: ${failure ?? `exited with ${signal ?? `code ${code}`}`}`));
        }
        if (this.stopping) return;
        this.restart(index, worker, code, signal);
      });
    });
  }

  private restart(index: number, worker: Worker, code: number | null, signal: string | null): void {
    const now = Date.now();
    const recent = (this.exits[index] = [...this.exits[index]!.filter((at) => now - at < 60_000), now]);
    const delay = Math.min(LIMITS.workerRestartMaxMs, LIMITS.workerRestartBaseMs * 2 ** (recent.length - 1));
    this.logger.error(
      { worker: worker.id, workerPid: worker.process.pid, code, signal, restartInMs: delay },
      `worker ${worker.id} (pid ${worker.process.pid}) exited with ${signal ?? `code ${code}`}; starting another in ${delay} ms`,
    );
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.stopping) return;
      this.fork(index).catch((error: unknown) => this.logger.error({ err: error }, 'a restarted worker could not start'));
    }, delay);
    this.timers.add(timer);
  }
}
