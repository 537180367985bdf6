// `npx tsx bench/store-check.ts [--records N]`: what the start-up store check
// (controller/store/check.ts) costs on a large store. It writes N access token records shaped like
// the token server's (`<app>/<jti>` → AccessTokenRecord) into a real store over 100 applications,
// then times `prepareStore` — the page walk in this process and the read of every entry in the
// check child — as `mergekey serve` runs it at start, twice (cold and warm page cache aside, the
// second run is what a restart costs).
import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { tempDir } from '../test/support/reconcile.ts';
import { prepareStore } from '../controller/store/check.ts';
import { lmdbTreeProblem } from '../controller/store/lmdb-file.ts';
import { openHandles } from '../controller/store/handles.ts';

const { values } = parseArgs({ options: { records: { type: 'string', default: '1000000' } } });
const RECORDS = Number(values.records);

const dir = tempDir('mergekey-bench-check-');
try {
  const store = openHandles(dir.path);
  const now = Math.floor(Date.now() / 1000);
  const batch = 20_000;
  for (let written = 0; written < RECORDS; written += batch) {
    await store.root.transaction(() => {
      for (let i = written; i < Math.min(RECORDS, written + batch); i++) {
        const jti = randomUUID();
        const app = `app-${String(i % 100).padStart(3, '0')}`;
        store.tokens.put(`${app}/${jti}`, { v: 1, jti, clientId: `${app}-client`, sub: `${app}-client`, scope: 'open orders:read', aud: ['https://orders.example.com'], iat: now, exp: now + 900 });
      }
    });
  }
  await store.close();
  const size = statSync(join(dir.path, 'store', 'data.mdb')).size;
  console.log(`${RECORDS} records, data.mdb ${(size / 1024 / 1024).toFixed(0)} MiB`);

  let started = performance.now();
  const walk = lmdbTreeProblem(join(dir.path, 'store', 'data.mdb'));
  console.log(`page walk alone: ${typeof walk === 'string' ? walk : `${walk.pages.size} pages`} in ${(performance.now() - started).toFixed(0)} ms`);
  for (const run of [1, 2]) {
    started = performance.now();
    const prepared = await prepareStore(dir.path, { rebuild: false, timeoutMs: 10 * 60_000 });
    console.log(`check ${run}: ${prepared.databases?.tokens} token records read in ${(performance.now() - started).toFixed(0)} ms`);
  }
} finally {
  dir.remove();
}
