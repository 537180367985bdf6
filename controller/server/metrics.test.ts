// The controller's Prometheus metrics as the operator listener's /metrics renders them.
import { AggregatorRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createMetrics } from './metrics.ts';

const sample = (text: string, name: string) => new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1];

describe('metrics', () => {
  it('count the round trips to the shared PostgreSQL, summed over the processes that each have a pool', async () => {
    let primaryTrips = 3;
    const primary = createMetrics(() => undefined, { defaultMetrics: false, postgresRoundTrips: () => primaryTrips });
    const worker = createMetrics(() => undefined, { defaultMetrics: false, reconcile: false, postgresRoundTrips: () => 40 });
    expect(await primary.registry.metrics()).toContain('# TYPE mergekey_postgres_round_trips_total counter');
    expect(sample(await primary.registry.metrics(), 'mergekey_postgres_round_trips_total')).toBe('3');
    primaryTrips = 7;
    expect(sample(await primary.registry.metrics(), 'mergekey_postgres_round_trips_total')).toBe('7');
    const together = await AggregatorRegistry.aggregate([
      await primary.registry.getMetricsAsJSON(), await worker.registry.getMetricsAsJSON(),
    ]).metrics();
    expect(sample(together, 'mergekey_postgres_round_trips_total')).toBe('47');
  });

  it('have no PostgreSQL counter without a shared database (--state lmdb)', async () => {
    const metrics = createMetrics(() => undefined, { defaultMetrics: false });
    expect(await metrics.registry.metrics()).not.toContain('mergekey_postgres');
  });
});
