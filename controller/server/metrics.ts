// Prometheus metrics on a registry of our own (never prom-client's global one, so two servers in
// one process — tests, the benchmark — do not share or clash).
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RunStatus } from '../store/sync-records.ts';
import type { ExpiringDb, SweepStats } from '../store/sweeper.ts';

export type WebhookResult =
  | 'accepted'
  | 'ping'
  | 'duplicate'
  | 'ignored_event'
  | 'ignored_branch'
  | 'ignored_repository'
  | 'bad_signature'
  | 'bad_payload';

export interface MetricsSource {
  conditionCounts(): Map<string, number>;
  /** The rewritten head being held until an operator accepts it, if any. */
  historyRewriteHeld?(): { head: string } | undefined;
}

export interface Metrics {
  registry: Registry;
  observeRun(run: RunStatus): void;
  webhook(result: WebhookResult): void;
  /** Records the sweeper deleted from a db (only the reconciling process sweeps). */
  swept(db: ExpiringDb, count: number): void;
}

/**
 * The controller's metrics. `reconcile: false` leaves out what only the reconciling process knows
 * (a worker's registry), so that aggregating every process's metrics counts each once.
 */
export function createMetrics(
  source: () => MetricsSource | undefined,
  options: {
    defaultMetrics?: boolean;
    reconcile?: boolean;
    sweeper?: () => SweepStats | undefined;
    /** This process's round trips to the shared PostgreSQL so far (`SharedDb.roundTrips()`); only with `--state postgres://…`. */
    postgresRoundTrips?: () => number | undefined;
  } = {},
): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'mergekey_' });
  const deliveries = new Counter({
    name: 'mergekey_webhook_deliveries_total',
    help: 'GitHub webhook deliveries by result.',
    labelNames: ['result'],
    registers: [registry],
  });
  const webhook = (result: WebhookResult) => deliveries.inc({ result });
  const roundTrips = options.postgresRoundTrips;
  if (roundTrips !== undefined) {
    // Every process has its own pool: the primary's and each worker's counts add up (cluster.ts
    // aggregates). npm run bench:token divides the growth by the tokens issued meanwhile.
    new Counter({
      name: 'mergekey_postgres_round_trips_total',
      help: 'Round trips to the shared PostgreSQL (statements or pipelined transactions), by this process since it started.',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(roundTrips() ?? 0);
      },
    });
  }
  if (options.reconcile === false) return { registry, observeRun: () => {}, webhook, swept: () => {} };

  const duration = new Histogram({
    name: 'mergekey_reconcile_duration_seconds',
    help: 'Time a reconcile took, from fetch to status, by result (applied, unchanged, failed).',
    labelNames: ['result'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const lastSuccess = new Gauge({
    name: 'mergekey_reconcile_last_success_timestamp_seconds',
    help: 'When a reconcile last ended without error (Unix time). Alert when it falls far behind.',
    registers: [registry],
  });
  new Gauge({
    name: 'mergekey_objects',
    help: 'Manifest objects by condition type, status and reason.',
    labelNames: ['condition', 'status', 'reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [key, count] of source()?.conditionCounts() ?? []) {
        const [condition, status, reason] = key.split('\0');
        this.set({ condition: condition!, status: status!, reason: reason! }, count);
      }
    },
  });

  new Gauge({
    name: 'mergekey_history_rewrite_held',
    help: '1 while a rewritten history (a force push) of the followed branch is held until an operator accepts it. Alert on it.',
    registers: [registry],
    collect() {
      this.set(source()?.historyRewriteHeld?.() === undefined ? 0 : 1);
    },
  });

  const swept = new Counter({
    name: 'mergekey_store_swept_total',
    help: 'Expired records the sweeper deleted, by database (tokens, refreshTokens, jtis, revocations).',
    labelNames: ['db'],
    registers: [registry],
  });
  new Gauge({
    name: 'mergekey_store_sweep_oldest_expired_seconds',
    help: 'How long ago the oldest record not yet swept expired: the sweeper\'s backlog. Near 0 while it keeps up.',
    registers: [registry],
    collect() {
      this.set(options.sweeper?.()?.oldestExpiredAge() ?? 0);
    },
  });

  new Gauge({
    name: 'mergekey_store_sweep_backlog',
    help: 'Expired records due for sweeping and not yet swept (counted up to 100,000).',
    registers: [registry],
    collect() {
      this.set(options.sweeper?.()?.backlog() ?? 0);
    },
  });

  return {
    registry,
    swept: (db, count) => swept.inc({ db }, count),
    observeRun(run) {
      duration.observe({ result: run.result }, run.durationMs / 1000);
      if (run.result !== 'failed') lastSuccess.set(Date.parse(run.finishedAt) / 1000);
    },
    webhook,
  };
}
