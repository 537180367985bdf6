// The Fastify composition root: one instance, its limits and logger, the operational routes
// (health, readiness, metrics, status, manual sync, webhook, sealing key) and whatever feature
// plugins the caller passes (the OAuth endpoints). Nothing here knows how a route is implemented
// beyond wiring it to its dependencies.
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import { LIMITS } from '../config/defaults.ts';
import type { ReconcileStatus, RunStatus } from '../reconcile/status.ts';
import type { Metrics } from './metrics.ts';
import { webhookPlugin } from './webhook.ts';

export interface StatusSource {
  status(): ReconcileStatus;
  isReady(): boolean;
}

export interface SyncTrigger {
  trigger(reason: string): Promise<void>;
  readonly last: RunStatus | undefined;
}

export interface AppOptions {
  logger: Logger;
  reconciler: StatusSource;
  sync: SyncTrigger;
  metrics: Metrics;
  /** The controller's public sealing key (a JWK), published for `mergekey seal`. */
  sealingKey: object;
  /** Without it, POST /webhooks/github does not exist (404). */
  webhook?: { secret: Uint8Array; repository: string; branch: string };
  /** Feature plugins registered after the operational routes, e.g. `oauthPlugin(deps)`. */
  plugins?: FastifyPluginAsync[];
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    bodyLimit: LIMITS.bodyLimit,
    requestTimeout: LIMITS.requestTimeoutMs,
    connectionTimeout: LIMITS.requestTimeoutMs,
    keepAliveTimeout: LIMITS.keepAliveTimeoutMs,
    // Idle keep-alive sockets must not hold a graceful shutdown open; in-flight requests finish.
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    trustProxy: false,
  });

  app.get('/healthz', async (_request, reply) => reply.header('cache-control', 'no-store').send({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    if (options.reconciler.isReady()) {
      const status = options.reconciler.status();
      return reply.send({ ready: true, commit: status.lastApplied?.commit });
    }
    return reply.code(503).send({ ready: false, message: 'no commit has been applied yet' });
  });

  app.get('/metrics', async (_request, reply) =>
    reply.header('content-type', options.metrics.registry.contentType).header('cache-control', 'no-store').send(await options.metrics.registry.metrics()),
  );

  app.get('/api/v1/status', async (_request, reply) => reply.header('cache-control', 'no-store').send(options.reconciler.status()));

  app.post<{ Querystring: { wait?: string } }>('/api/v1/sync', async (request, reply) => {
    reply.header('cache-control', 'no-store');
    const done = options.sync.trigger('manual');
    if (request.query.wait !== 'true') return reply.code(202).send({ result: 'triggered' });
    await done;
    return reply.send({ result: 'finished', run: options.sync.last });
  });

  app.get('/.well-known/mergekey-sealing-key', async (_request, reply) =>
    reply.header('cache-control', 'public, max-age=300').send(options.sealingKey),
  );

  if (options.webhook !== undefined) {
    await app.register(
      webhookPlugin({
        ...options.webhook,
        trigger: (reason) => void options.sync.trigger(reason),
        metrics: options.metrics,
      }),
    );
  }

  for (const plugin of options.plugins ?? []) await app.register(plugin);
  return app;
}
