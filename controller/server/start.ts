// Starts `mergekey serve` in one process: wires configuration, the data directory's lock and keys,
// the store, the git source, the reconciler and its loop, metrics, the OAuth server and the HTTP
// server, and knows how to take them down again in the right order. The two halves — the
// controller (everything that reconciles) and the HTTP server (everything that serves) — are also
// used apart by the cluster: the primary runs the first, each worker the second (cluster.ts).
import { readFileSync, statSync } from 'node:fs';
import type { Server as HttpsServer } from 'node:https';
import { join } from 'node:path';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { DestinationStream, Logger } from 'pino';
import { ConfigError, LIMITS, type ServeConfig } from '../config/defaults.ts';
import { confirmerFor } from '../confirm/setup.ts';
import { GitError, GitSource } from '../git/source.ts';
import { oauthServer, type Authorization, type SharedHits, type ThrottleSharing } from '../oauth/plugin.ts';
import { followReplicas } from '../reconcile/follow.ts';
import { ReconcileLoop } from '../reconcile/loop.ts';
import { Reconciler } from '../reconcile/reconciler.ts';
import type { SecretOpener } from '../reconcile/records.ts';
import { prepareStore } from '../store/check.ts';
import type { ConfigReader } from '../store/config.ts';
import { openStore, type Store, type StoreOptions, type StoreSweeper } from '../store/open.ts';
import { configHead } from '../store/postgres/config-head.ts';
import { confirmationLock } from '../store/postgres/confirmation-lock.ts';
import { connectSharedDb, type SharedDb } from '../store/postgres/db.ts';
import { redactUrl } from '../store/postgres/connect.ts';
import { buildAdminApp, buildApp, type AdminAppOptions, type StatusSource, type SyncTrigger } from './app.ts';
import { createLogger } from './logging.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { openReplicaPeers, type ReplicaPeers } from './replica-peers.ts';
import { reloadTls, tlsOf } from './tls.ts';

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

/** Everything a feature plugin (the portal, say) may need, handed over by the root. */
export interface ServerContext {
  config: ServeConfig;
  store: Store;
  keys: ControllerKeys;
  logger: Logger;
  /** The issuer the OAuth server uses (see controller/config/defaults.ts). */
  issuer: string;
  /** The reconciler's status: in a worker, the primary's, over IPC. */
  status: StatusSource;
  /** Starts a reconcile now, as a webhook does (in a worker, on the primary): the portal asks after merging a request. */
  sync: SyncTrigger;
  /**
   * The other processes serving: the other workers of `--workers N` and, with `--state
   * postgres://…`, the other replicas' (through this replica's primary); undefined when none can be.
   */
  peers: Peers | undefined;
  /**
   * The authorization endpoint's work (checking a request, issuing a code, refusing), bound to
   * this process's OAuth server: the portal signs people in and asks their consent with it.
   */
  authorization?: Authorization;
}

/**
 * The other processes serving beside this one: a message published on a topic reaches every one
 * of them (not this one). Features use it to count each other's throttled events.
 */
export interface Peers {
  publish(topic: string, payload: unknown): void;
  /** Calls `receive` with each payload the others publish on `topic`; returns the way to stop. */
  subscribe(topic: string, receive: (payload: unknown) => void): () => void;
}

export type PluginFactory = (context: ServerContext) => FastifyPluginAsync[] | Promise<FastifyPluginAsync[]>;

export interface StartDependencies {
  /** Refuses a second server on the same data directory. */
  acquireLock(dataDir: string): ControllerLock | Promise<ControllerLock>;
  /**
   * Loads the controller's keys, creating them only when `create` is true: on a store that has
   * applied a commit, missing keys are lost keys, and new ones would open nothing.
   */
  openKeys(dataDir: string, options: { create: boolean }): ControllerKeys | Promise<ControllerKeys>;
  /** Feature plugins besides the OAuth server, built once the store and keys exist. */
  plugins?: PluginFactory;
  /** Where logs go (stdout by default); tests capture them. */
  logDestination?: DestinationStream;
  openStore?: (dataDir: string, options?: StoreOptions) => Store;
  /** How long a waiting `POST /api/v1/sync` waits before answering 202 (tests shorten `LIMITS.syncAnswerMs`). */
  syncAnswerMs?: number;
  /** The least time between the starts of a reconcile and the one queued behind it (`LIMITS.syncMinIntervalMs`). */
  syncMinIntervalMs?: number;
}

export interface RunningServer {
  app: FastifyInstance;
  /** `http(s)://host:port` actually bound (port 0 picks one). */
  url: string;
  /** The operator listener: health, readiness, metrics, status, sync. */
  admin: FastifyInstance;
  /** `http://host:port` of the operator listener. */
  adminUrl: string;
  issuer: string;
  reconciler: Reconciler;
  loop: ReconcileLoop;
  logger: Logger;
  store: Store;
  /** Settles when the first reconcile has finished (whatever its result). */
  initialSync: Promise<void>;
  /** Stops accepting, finishes in-flight requests and the reconcile transaction, closes the store. */
  close(): Promise<void>;
}

/** The reconciling half: one per data directory, holding its lock. */
export interface Controller {
  store: Store;
  keys: ControllerKeys;
  reconciler: Reconciler;
  loop: ReconcileLoop;
  metrics: Metrics;
  source: GitSource;
  webhookSecret: Uint8Array | undefined;
  /** `sync` for the HTTP routes: one reconcile that began after the call, and its result. */
  trigger: SyncTrigger;
  /** The issuer being served, once `resolveIssuer` has decided it. */
  issuer: string | undefined;
  /** The shared PostgreSQL of `--state postgres://…` (the store closes it); undefined with LMDB alone. */
  shared?: SharedDb;
  /** Stops the loop (waiting for a reconcile in flight), closes the store, releases the lock. */
  close(): Promise<void>;
}

export async function startServer(config: ServeConfig, deps: StartDependencies): Promise<RunningServer> {
  const logger = createLogger(config.logLevel, deps.logDestination);
  // A certificate that does not load refuses the start before anything is opened.
  tlsOf(config);
  const controller = await openController(config, deps, logger);
  let app: FastifyInstance | undefined;
  let admin: FastifyInstance | undefined;
  let reloading: TlsReloading | undefined;
  let replicas: ReplicaPeers | undefined;
  try {
    const { issuer, initialSync } = await resolveIssuer(config, controller, logger);
    warnIfUnreachable(config, issuer, logger);
    const status = controllerStatus(controller);
    // Alone, this process's peers are the other replicas, if any.
    replicas = controller.shared === undefined ? undefined : await openReplicaPeers(controller.shared, logger);
    const otherReplicas = replicas;
    const served = await serveHttp({
      config,
      logger,
      store: controller.store,
      keys: controller.keys,
      issuer,
      status,
      sync: controller.trigger,
      metrics: controller.metrics,
      webhookSecret: controller.webhookSecret,
      ...(deps.plugins === undefined ? {} : { plugins: deps.plugins }),
      ...(replicas === undefined ? {} : { peers: replicas }),
    });
    app = served.app;
    const running = app;
    // After the public listener: readiness must not say yes before the OAuth endpoints listen.
    const operator = await serveAdmin({
      config,
      logger,
      reconciler: status,
      sync: controller.trigger,
      metrics: controller.metrics,
      ...(deps.syncAnswerMs === undefined ? {} : { syncAnswerMs: deps.syncAnswerMs }),
      storeProblem: () => controller.store.health.problem(),
    });
    admin = operator.app;
    const runningAdmin = admin;
    reloading = onSighup(served.reloadTls, logger);
    const stopReloading = reloading;
    logger.info(
      { repository: controller.source.describe(), branch: config.branch, poll: config.poll, issuer, workers: 1, adminUrl: operator.url },
      `mergekey serving on ${served.url} (operator endpoints on ${operator.url})`,
    );
    const synced = initialSync ?? controller.loop.start();

    let closing: Promise<void> | undefined;
    return {
      app: running,
      url: served.url,
      admin: runningAdmin,
      adminUrl: operator.url,
      issuer,
      reconciler: controller.reconciler,
      loop: controller.loop,
      logger,
      store: controller.store,
      initialSync: synced,
      close() {
        closing ??= (async () => {
          // Requests and the reconcile finish side by side; the store closes only after both
          // (the OAuth server writes its pending token records when Fastify closes).
          stopReloading.stop();
          await Promise.all([running.close(), runningAdmin.close(), controller.loop.stop()]);
          // After the OAuth server sent its last counts, before the store closes the pool.
          await otherReplicas?.close();
          await controller.close();
          logger.info('mergekey stopped');
        })();
        return closing;
      },
    };
  } catch (error) {
    reloading?.stop();
    await app?.close();
    await admin?.close();
    await replicas?.close();
    await controller.close();
    throw error;
  }
}

/** The reconciler's status and the commit the store serves (readiness), in the process that reconciles. */
export function controllerStatus(controller: Pick<Controller, 'reconciler' | 'store'>): StatusSource {
  return {
    status: () => controller.reconciler.status(),
    appliedCommit: () => controller.store.sync.appliedCommit()?.commit,
  };
}

export interface TlsReloading {
  stop(): void;
}

/**
 * SIGHUP reloads the public listener's certificate (as nginx and HAProxy do). Without TLS it is
 * logged and ignored rather than ending the process, which is Node's default for SIGHUP.
 */
export function onSighup(reload: ((why: string) => void) | undefined, logger: Logger): TlsReloading {
  const listener = () => {
    if (reload === undefined) logger.info('SIGHUP: no --tls-cert-file to reload');
    else reload('SIGHUP');
  };
  process.on('SIGHUP', listener);
  return { stop: () => void process.off('SIGHUP', listener) };
}

/**
 * An https issuer on a listener that is neither TLS nor behind a trusted proxy is allowed (a proxy
 * may be added later), but every request will be refused: say so once, at start.
 */
export function warnIfUnreachable(config: ServeConfig, issuer: string, logger: Logger): void {
  if (!issuer.startsWith('https:') || config.tlsCertFile !== undefined || (config.trustProxy?.length ?? 0) > 0) return;
  logger.warn(
    { issuer },
    `the issuer is ${issuer} but the public listener speaks plain HTTP and trusts no proxy: every request to it will be refused (400 invalid_request). ` +
      'Give --tls-cert-file and --tls-key-file, or --trust-proxy with the address of the proxy that terminates TLS',
  );
}

/**
 * The operator listener has no authentication (as Keycloak's management interface by default): on
 * an address other than loopback, whoever reaches it reads the status and triggers syncs. Allowed
 * (a private network, a Kubernetes pod's probes), but said at start.
 */
export function warnIfExposed(config: ServeConfig, logger: Logger): void {
  const host = config.adminHost.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)) return;
  logger.warn(
    { adminHost: config.adminHost },
    `the operator listener (--admin-host ${config.adminHost}) has no authentication: anyone who reaches it can read the status and trigger syncs. Keep it on loopback or a network only operators reach`,
  );
}

/** Lock, store, keys, reconciler and its loop (not started). Undoes what it did if a step fails. */
export async function openController(config: ServeConfig, deps: StartDependencies, logger: Logger): Promise<Controller> {
  let source: GitSource;
  try {
    source = new GitSource({ repo: config.repo, branch: config.branch, cacheDir: join(config.data, 'git') });
  } catch (error) {
    if (error instanceof GitError && error.code === 'REFUSED') throw new ConfigError(`--repo/--branch: ${error.message}`);
    throw error;
  }
  const webhookSecret = config.webhookSecretFile === undefined ? undefined : readWebhookSecret(config.webhookSecretFile, logger);

  const lock = await deps.acquireLock(config.data);
  let store: Store | undefined;
  let shared: SharedDb | undefined;
  try {
    shared = await connectShared(config, logger, { migrate: config.migrate });
    // Before anything maps the store: a damaged page must kill the check's child, not this process.
    const startedAt = Date.now();
    const prepared = await prepareStore(config.data, { rebuild: config.rebuildStore, timeoutMs: LIMITS.storeCheckTimeoutMs });
    const log = logger.child({ component: 'store' });
    if (prepared.rebuilt !== undefined) {
      log.warn({ reason: prepared.rebuilt.reason, movedTo: prepared.rebuilt.movedTo, refreshTokensInvalidated: true }, prepared.rebuilt.message);
    } else if (prepared.databases !== undefined) {
      const entries = Object.values(prepared.databases).reduce((sum, n) => sum + n, 0);
      log.info({ entries, ms: Date.now() - startedAt }, `store checked: ${entries} entries read`);
    }
    store = (deps.openStore ?? openStore)(config.data, { onBackgroundError: backgroundErrorLogger(logger), ...(shared === undefined ? {} : { shared }) });
    const opened = store;
    // A rebuilt store has applied nothing yet, but the values sealed in git are sealed to the keys
    // the lost store was used with: new keys would open none of them.
    const keys = await deps.openKeys(config.data, { create: store.sync.appliedCommit() === undefined && prepared.rebuilt === undefined });
    store.recordIdentity(config.data, prepared.rebuilt);

    // With several replicas: cut-offs counted once for all, each replica following the others'
    // applies, and one of them confirming each merged request (reconcile/follow.ts, confirm/).
    const head = shared === undefined ? undefined : configHead(shared);
    const confirmLog = logger.child({ component: 'confirm' });
    const confirm = confirmerFor(config, {
      gitDir: join(config.data, 'git'),
      log: confirmLog,
      ...(shared === undefined ? {} : { oneAtATime: confirmationLock(shared, confirmLog) }),
    });
    let reconciler: Reconciler | undefined;
    let controller: Controller | undefined;
    // This process holds the lock: it alone sweeps expired token state (never the workers).
    let sweeper: StoreSweeper | undefined;
    const sharedDb = shared;
    const metrics = createMetrics(() => reconciler, {
      sweeper: () => sweeper,
      ...(sharedDb === undefined ? {} : { postgresRoundTrips: () => sharedDb.roundTrips() }),
    });
    sweeper = store.sweeper({
      onSwept: (db, count) => metrics.swept(db, count),
      onError: (err) => logger.error({ err }, 'sweeping expired token state failed'),
    });
    const sweeping = sweeper;
    const watchIssuer = issuerWatcher(config, opened.config, () => controller?.issuer, logger);
    reconciler = new Reconciler({
      config: store.config,
      sync: store.sync,
      source,
      opener: keys.opener,
      secretHashKey: keys.secretHashKey,
      allowMassDeactivation: config.allowMassDeactivation,
      ...(config.acceptHistoryRewrite === undefined ? {} : { acceptHistoryRewrite: config.acceptHistoryRewrite }),
      log: logger.child({ component: 'reconciler' }),
      onRun: (run) => {
        metrics.observeRun(run);
        watchIssuer();
      },
      ...(confirm === undefined ? {} : { onApplied: (event) => confirm.confirmer.onApplied(event) }),
      ...(head === undefined ? {} : { configHead: head }),
    });
    const loop = new ReconcileLoop({ reconciler, pollMs: config.poll, ...(deps.syncMinIntervalMs === undefined ? {} : { minIntervalMs: deps.syncMinIntervalMs }) });
    const stopFollowing = head === undefined
      ? undefined
      : await followReplicas(head, { applied: () => opened.sync.appliedCommit()?.commit, trigger: (reason) => void loop.trigger(reason) });
    controller = {
      issuer: undefined,
      ...(shared === undefined ? {} : { shared }),
      store,
      keys,
      reconciler,
      loop,
      metrics,
      source,
      webhookSecret,
      trigger: {
        async sync(reason, request) {
          if (request?.acceptHistoryRewrite !== undefined) reconciler!.acceptHistoryRewrite(request.acceptHistoryRewrite);
          await loop.trigger(reason);
          return loop.last;
        },
      },
      async close() {
        await stopFollowing?.();
        await Promise.all([loop.stop(), sweeping.stop()]);
        await confirm?.confirmer.close();
        await opened.close();
        await lock.release();
      },
    };
    sweeping.start();
    logger.info({ pid: process.pid }, `sweeping expired token state in process ${process.pid}`);
    return controller;
  } catch (error) {
    // The store closes the shared database once it has it.
    if (store === undefined) await shared?.close();
    else await store.close();
    await lock.release();
    throw error;
  }
}

/**
 * The shared PostgreSQL of `--state postgres://…` (undefined with `lmdb`): connected, its schema
 * migrated first when `migrate`, and checked. Throws StoreError (unreachable, refused credentials,
 * a schema older or newer than this release), whose message names the server without the password.
 */
export async function connectShared(config: ServeConfig, logger: Logger, { migrate }: { migrate: boolean }): Promise<SharedDb | undefined> {
  if (config.state === 'lmdb') return undefined;
  const log = logger.child({ component: 'shared-state' });
  const shared = await connectSharedDb(config.state, {
    ...(migrate
      ? {
          migrate: (result) => {
            const applied = result.applied.map((migration) => migration.name);
            log.info({ from: result.from, to: result.to, applied }, applied.length === 0 ? `schema at version ${result.to}, nothing to migrate` : `schema migrated to version ${result.to}`);
          },
        }
      : {}),
  });
  log.info({ database: redactUrl(shared.url) }, 'shared state in PostgreSQL');
  shared.watch((problem) => {
    if (problem === undefined) log.info('the shared database answers again');
    else log.error({ problem }, 'the shared database cannot be reached: requests that need it answer 503');
  });
  return shared;
}

/**
 * The issuer, decided as controller/config/defaults.ts documents: `--issuer`, else the
 * repository's `spec.issuer` in the store, else the one the first sync applies (that sync is then
 * already under way, and `initialSync` is it).
 */
export async function resolveIssuer(
  config: ServeConfig,
  controller: Pick<Controller, 'store' | 'loop' | 'issuer'>,
  logger: Logger,
): Promise<{ issuer: string; initialSync?: Promise<void> }> {
  if (config.issuer !== undefined) return { issuer: (controller.issuer = config.issuer) };
  const stored = controller.store.config.settings()?.spec.issuer;
  if (stored !== undefined) return { issuer: (controller.issuer = stored) };
  logger.info("no --issuer and no mergekey.yaml applied yet: syncing once to read spec.issuer before listening");
  const initialSync = controller.loop.start();
  await initialSync;
  const synced = controller.store.config.settings()?.spec.issuer;
  if (synced === undefined) {
    const error = controller.loop.last?.error;
    const why = error === undefined ? "the repository's mergekey.yaml was not applied (see the status for its problems)" : `${error.reason}: ${error.message}`;
    throw new ConfigError(`cannot learn the issuer from the repository: ${why}. Pass --issuer (or set MERGEKEY_ISSUER) to start without it`);
  }
  return { issuer: (controller.issuer = synced), initialSync };
}

/** After each reconcile: says so when the repository's issuer is no longer the one being served. */
function issuerWatcher(config: ServeConfig, applied: ConfigReader, serving: () => string | undefined, logger: Logger): () => void {
  let reported: string | undefined;
  return () => {
    const current = serving();
    if (config.issuer !== undefined || current === undefined) return;
    const issuer = applied.settings()?.spec.issuer;
    if (issuer !== undefined && issuer !== current && issuer !== reported) {
      reported = issuer;
      logger.warn({ serving: current, repository: issuer }, `mergekey.yaml now names the issuer ${issuer}; this server keeps issuing as ${current} until it restarts`);
    }
  };
}

export interface HttpOptions {
  config: ServeConfig;
  logger: Logger;
  store: Store;
  keys: ControllerKeys;
  issuer: string;
  status: StatusSource;
  sync: SyncTrigger;
  metrics: Metrics;
  webhookSecret: Uint8Array | undefined;
  plugins?: PluginFactory;
  /** Set in a worker of `--workers N` (the other workers, and replicas'), or alone beside other replicas. */
  peers?: Peers;
}

export interface ServedHttp {
  app: FastifyInstance;
  url: string;
  /** Reads the certificate and key again (SIGHUP); undefined without TLS. Files are also watched. */
  reloadTls: ((why: string) => void) | undefined;
}

/** The serving half: the public Fastify app with the OAuth server and the features, listening. */
export async function serveHttp(options: HttpOptions): Promise<ServedHttp> {
  const { config, store, keys, issuer } = options;
  const { peers } = options;
  const context: ServerContext = { config, store, keys, logger: options.logger, issuer, status: options.status, sync: options.sync, peers };
  const { plugin: oauth, authorization } = oauthServer({
    config: store.config, tokens: store.tokens, keyring: store.keyring, codes: store.codes, secretHashKey: keys.secretHashKey, issuer,
    ...(peers === undefined ? {} : { throttleSharing: throttleSharingWith(peers) }),
  });
  context.authorization = authorization;
  const tls = tlsOf(config);
  const app = await buildApp({
    logger: options.logger,
    sync: options.sync,
    metrics: options.metrics,
    transport: { issuer, ...(tls === undefined ? {} : { tls }), ...(config.trustProxy === undefined ? {} : { trustProxy: config.trustProxy }) },
    sealingKey: keys.sealingPublicJwk,
    ...(options.webhookSecret === undefined ? {} : { webhook: { secret: options.webhookSecret, repository: config.repo, branch: config.branch } }),
    plugins: [oauth, ...((await options.plugins?.(context)) ?? [])],
  });
  let watching: ReturnType<typeof reloadTls> | undefined;
  app.addHook('onClose', async () => watching?.stop());
  try {
    const url = await app.listen({ host: config.host, port: config.port });
    if (tls === undefined) return { app, url, reloadTls: undefined };
    const reloading = (watching = reloadTls(app.server as unknown as HttpsServer, config, options.logger));
    return { app, url, reloadTls: (why) => void reloading.reload(why) };
  } catch (error) {
    await app.close();
    throw error;
  }
}

/** The operator app's options, and where it listens. */
export interface AdminOptions extends AdminAppOptions {
  config: ServeConfig;
}

/** The operator listener (in the one process, or the primary of workers), listening. */
export async function serveAdmin(options: AdminOptions): Promise<{ app: FastifyInstance; url: string }> {
  warnIfExposed(options.config, options.logger);
  const { config, ...appOptions } = options;
  const app = await buildAdminApp({ ...appOptions, logger: options.logger.child({ listener: 'operator' }) });
  try {
    const url = await app.listen({ host: config.adminHost, port: config.adminPort });
    return { app, url };
  } catch (error) {
    await app.close();
    throw error;
  }
}

/** Where a store write done in the background (queued access token records) reports its failure. */
export function backgroundErrorLogger(logger: Logger): (err: unknown) => void {
  return (err) => logger.error({ err }, 'OAuth background work failed');
}

/** The OAuth server's throttle sharing, over the peers. */
export function throttleSharingWith(peers: Peers): ThrottleSharing {
  const topic = 'oauth-throttles';
  return {
    publish: (hits) => peers.publish(topic, hits),
    // The OAuth server checks every received hit before it counts it.
    subscribe: (receive) => peers.subscribe(topic, (payload) => receive(payload as SharedHits)),
  };
}

export function readWebhookSecret(file: string, logger: Logger): Uint8Array {
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
