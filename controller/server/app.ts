// The Fastify composition root: one instance, its limits and logger, the operational routes
// (health, readiness, metrics, status, manual sync, webhook, sealing key) and whatever feature
// plugins the caller passes (the OAuth endpoints). Nothing here knows how a route is implemented
// beyond wiring it to its dependencies.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Bindings, ChildLoggerOptions, Logger } from 'pino';
import { LIMITS } from '../config/defaults.ts';
import type { ReconcileStatus, RunStatus } from '../reconcile/status.ts';
import type { Metrics } from './metrics.ts';
import { webhookPlugin } from './webhook.ts';

/**
 * The reconciler's state, as the process serving HTTP can see it: in one process the reconciler
 * itself, in a worker the primary's answer over IPC. Readiness comes from the store, which every
 * process shares, so it does not wait on anybody.
 */
export interface StatusSource {
  status(): ReconcileStatus | Promise<ReconcileStatus>;
  /** The commit the store serves; undefined until one has been applied. */
  appliedCommit(): string | undefined;
}

export interface SyncTrigger {
  /**
   * Starts (or queues) a reconcile; resolves with the result of one that began after the call.
   * Undefined when the reconciler stopped first.
   */
  sync(reason: string): Promise<RunStatus | undefined>;
}

export interface AppOptions {
  logger: Logger;
  reconciler: StatusSource;
  sync: SyncTrigger;
  metrics: Metrics;
  /** What GET /metrics answers; by default `metrics.registry`, in a worker every process's aggregated. */
  renderMetrics?: () => Promise<string>;
  /** The controller's public sealing key (a JWK), published for `mergekey seal`. */
  sealingKey: object;
  /** Without it, POST /webhooks/github does not exist (404). */
  webhook?: { secret: Uint8Array; repository: string; branch: string };
  /** Feature plugins registered after the operational routes, e.g. `oauthPlugin(deps)`. */
  plugins?: FastifyPluginAsync[];
  /** Why this process's store cannot write now (a full disk), if it cannot: then it is not ready. */
  storeProblem?: () => string | undefined;
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    bodyLimit: LIMITS.bodyLimit,
    requestTimeout: LIMITS.requestTimeoutMs,
    // Fastify sets no headers timeout of its own; Node's default (60 s) outlives the request
    // timeout, and its 30 s checking interval would let a slow client hold a socket up to twice
    // as long as either says.
    http: {
      headersTimeout: LIMITS.headersTimeoutMs,
      requestTimeout: LIMITS.requestTimeoutMs,
      connectionsCheckingInterval: LIMITS.connectionsCheckingIntervalMs,
    },
    connectionTimeout: LIMITS.requestTimeoutMs,
    keepAliveTimeout: LIMITS.keepAliveTimeoutMs,
    // Idle keep-alive sockets must not hold a graceful shutdown open; in-flight requests finish.
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    trustProxy: false,
    logController: new AccessLogAtDebug(),
    childLoggerFactory: requestLogger,
  });

  app.get('/healthz', async (_request, reply) => reply.header('cache-control', 'no-store').send({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    const storeProblem = options.storeProblem?.();
    if (storeProblem !== undefined) return reply.code(503).send({ ready: false, message: storeProblem });
    const commit = options.reconciler.appliedCommit();
    if (commit !== undefined) return reply.send({ ready: true, commit });
    return reply.code(503).send({ ready: false, message: 'no commit has been applied yet' });
  });

  const renderMetrics = options.renderMetrics ?? (() => options.metrics.registry.metrics());
  app.get('/metrics', async (_request, reply) =>
    reply.header('content-type', options.metrics.registry.contentType).header('cache-control', 'no-store').send(await renderMetrics()),
  );

  app.get('/api/v1/status', async (_request, reply) => reply.header('cache-control', 'no-store').send(await options.reconciler.status()));

  app.post<{ Querystring: { wait?: string } }>('/api/v1/sync', async (request, reply) => {
    reply.header('cache-control', 'no-store');
    const done = options.sync.sync('manual');
    if (request.query.wait !== 'true') {
      done.catch((err: unknown) => request.log.error({ err }, 'the triggered reconcile could not be started'));
      return reply.code(202).send({ result: 'triggered' });
    }
    const run = await done;
    if (run === undefined) return reply.code(503).send({ result: 'stopped', message: 'the controller is shutting down' });
    return reply.send({ result: 'finished', run });
  });

  app.get('/.well-known/mergekey-sealing-key', async (_request, reply) =>
    reply.header('cache-control', 'public, max-age=300').send(options.sealingKey),
  );

  if (options.webhook !== undefined) {
    await app.register(
      webhookPlugin({
        ...options.webhook,
        trigger: (reason) => {
          options.sync.sync(reason).catch((err: unknown) => options.logger.error({ err }, 'the webhook could not trigger a reconcile'));
        },
        metrics: options.metrics,
      }),
    );
  }

  for (const plugin of options.plugins ?? []) await app.register(plugin);
  return app;
}

/**
 * Access log lines at debug level. At info, the two lines Fastify writes per request cost 73 µs
 * of CPU per token (219 → 292 µs, 29% fewer tokens per second, measured with bench/token.ts
 * and --workers 1): more than signing the token. A request that failed is still logged as an error.
 */
class AccessLogAtDebug extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ req: request }, 'incoming request');
  }

  override requestCompleted(error: Error | null, request: FastifyRequest, reply: FastifyReply): void {
    if (error) reply.log.error({ res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
    else request.log.debug({ res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

/**
 * Fastify gives every request a child logger bound to its request id. Making one ran pino's
 * secret redaction over the bindings and cost 1.9% of a worker's CPU in a profile of
 * `npm run bench:token`, on every request, though at the default level a request that succeeds
 * logs nothing. So the child is made when the request first logs at an enabled level, with the
 * same bindings and options; until then a call only asks the parent whether its level is on.
 * Route options (a level of its own, serializers) still get their child at once.
 */
function requestLogger(logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  const parent = logger as Logger;
  if (Object.keys(options).length > 0 || typeof parent.isLevelEnabled !== 'function') return logger.child(bindings, options);
  return new RequestLogger(parent, bindings);
}

class RequestLogger implements FastifyBaseLogger {
  readonly #parent: Logger;
  readonly #bindings: Bindings;
  #child: Logger | undefined;

  constructor(parent: Logger, bindings: Bindings) {
    this.#parent = parent;
    this.#bindings = bindings;
  }

  get level(): string {
    return (this.#child ?? this.#parent).level;
  }

  set level(level: string) {
    this.#logger().level = level;
  }

  fatal(...args: unknown[]): void {
    this.#log('fatal', args);
  }
  error(...args: unknown[]): void {
    this.#log('error', args);
  }
  warn(...args: unknown[]): void {
    this.#log('warn', args);
  }
  info(...args: unknown[]): void {
    this.#log('info', args);
  }
  debug(...args: unknown[]): void {
    this.#log('debug', args);
  }
  trace(...args: unknown[]): void {
    this.#log('trace', args);
  }
  silent(): void {}

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.#logger().child(bindings, options);
  }

  #log(level: Level, args: unknown[]): void {
    if (!(this.#child ?? this.#parent).isLevelEnabled(level)) return;
    (this.#logger()[level] as (...args: unknown[]) => void)(...args);
  }

  #logger(): Logger {
    return this.#child ??= this.#parent.child(this.#bindings);
  }
}
