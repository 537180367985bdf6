// `mergekey serve --workers 2`: expired token state is swept by the primary alone (the process
// that holds the data directory's lock), never by the workers, and what it sweeps shows in the
// metrics. The sweeper's batches, restarts and clock are tested with an injected clock in
// controller/store/sweeper.test.ts; here the child processes run on the real clock, so the test
// waits for what the metrics say, with no assertion on time.
import { afterEach, describe, expect, it } from 'vitest';
import { postOnNewConnection, sealedRepo, serveChild } from '../../test/support/serve-child.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const sweptTokens = (metrics: string) => Number(/^mergekey_store_swept_total\{db="tokens"\} (\d+)/m.exec(metrics)?.[1] ?? 0);

describe('mergekey serve --workers 2 sweeps expired token state', () => {
  it('in the primary process only, and every expired access token once', { timeout: 90_000 }, async () => {
    const f = await sealedRepo();
    cleanups.push(() => f.remove());
    await f.repo.commit({
      'plans/standard.yaml': 'apiVersion: mergekey/v1\nkind: Plan\nmetadata:\n  name: standard\nspec:\n  description: Short-lived tokens.\n  accessTokenTtl: 1s\n  tokenRequestsPerMinute: 1000000\n',
    });
    const server = serveChild(['--repo', f.repo.path, '--data', f.data, '--port', '0', '--poll', '0', '--workers', '2']);
    cleanups.push(() => server.stop());
    const url = await server.url();
    const adminUrl = await server.adminUrl();
    for (let tries = 0; (await fetch(`${adminUrl}/readyz`)).status !== 200; tries++) {
      if (tries > 500) throw new Error('the first sync did not apply');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }

    const issued = 40;
    for (let i = 0; i < issued; i++) {
      const answer = await postOnNewConnection(`${url}/oauth2/token`, { grant_type: 'client_credentials', scope: 'orders:read' }, {
        id: f.clients.billing!.clientId, secret: f.clients.billing!.secret,
      });
      expect(answer.status).toBe(200);
    }
    let swept = 0;
    for (let tries = 0; swept < issued; tries++) {
      if (tries > 1000) throw new Error(`the sweeper deleted ${swept} of ${issued} expired tokens`);
      await new Promise((resolve) => setTimeout(resolve, 20));
      swept = sweptTokens(await (await fetch(`${adminUrl}/metrics`)).text());
    }
    // Counted across every process (the metrics are aggregated): a worker sweeping too would
    // have found nothing left to delete, so the count cannot tell; the log says who sweeps.
    expect(swept).toBe(issued);
    const sweepers = server.lines.filter((line) => line.includes('sweeping expired token state in process'));
    expect(sweepers.map((line) => (JSON.parse(line) as { pid: number }).pid)).toEqual([server.proc.pid]);
  });
});
