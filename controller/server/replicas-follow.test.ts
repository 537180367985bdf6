// Two `mergekey serve` controllers in one process (issue 13), each with its own data directory (the
// same keys/), following one git repository with one PostgreSQL: a commit applied by one is
// applied by the other at once, over LISTEN/NOTIFY, though neither polls, with the same cut-offs
// under the same generation. The multi-process proof is test/e2e's; this checks the wiring of
// openController (server/start.ts).
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { resolveServeConfig } from '../config/defaults.ts';
import { handlesOf } from '../store/handles.ts';
import { cutOffs } from '../store/token-state.ts';
import { sharedDatabases } from '../../test/support/shared-db.ts';
import { tempDir } from '../../test/support/reconcile.ts';
import { serverDeps, startTestServer, TEST_ISSUER, waitFor } from '../../test/support/server.ts';
import { startServer } from './start.ts';

const pg = sharedDatabases();
const { onCleanup } = pg;

const quiet = () => new Writable({ write: (_chunk, _encoding, done) => done() });

describe('replicas of mergekey serve --state postgres://…', () => {
  it('apply a commit one of them applied, at once and with the same cut-offs, though neither polls', async () => {
    const state = await pg.cluster.createDatabase();
    const a = await startTestServer({ flags: { state, migrate: 'true', 'log-level': 'silent' } });
    onCleanup(() => a.stop());
    const dir = tempDir();
    onCleanup(() => dir.remove());
    const data = join(dir.path, 'data');
    // The same keys (not the store's identity: each replica's store is its own).
    cpSync(join(a.dataDir, 'keys'), join(data, 'keys'), { recursive: true, filter: (source) => !source.endsWith('store.id') });
    const b = await startServer(
      resolveServeConfig({ repo: a.repo.path, data, port: '0', 'admin-port': '0', poll: '0', issuer: TEST_ISSUER, workers: '1', 'log-level': 'silent', state }, {}),
      { ...serverDeps, logDestination: quiet() },
    );
    onCleanup(() => b.close());
    await b.initialSync;
    const applied = (server: { store: typeof b.store }) => server.store.sync.appliedCommit()?.commit;
    expect(applied(b)).toBe(applied(a.server));

    const deactivation = await a.commit({ 'apps/billing.yaml': await a.app('billing', { state: 'inactive' }) });
    await a.server.loop.trigger('webhook');
    expect(applied(a.server)).toBe(deactivation);
    await waitFor(() => applied(b) === deactivation, 'the other replica to apply the commit');

    const [cutsA, cutsB] = [cutOffs(handlesOf(a.server.store)), cutOffs(handlesOf(b.store))];
    expect(cutsA.application('billing')).toEqual({ generation: cutsA.generation(), at: expect.any(Number) });
    expect([cutsB.generation(), cutsB.application('billing')]).toEqual([cutsA.generation(), cutsA.application('billing')]);
    // Counted once, in the shared database, which holds the head they both applied.
    const database = new URL(state).pathname.slice(1);
    expect(await pg.cluster.psql('SELECT value, head_commit FROM cut_off_generation', database)).toBe(`${cutsA.generation()}|${deactivation}\n`);
  });
});
