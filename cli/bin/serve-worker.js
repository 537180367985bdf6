// A worker process of `mergekey serve --workers N`, started by the primary through node:cluster.
// Like the `mergekey` executable it runs the TypeScript through tsx; it serves HTTP over the
// primary's store with the same dependencies `mergekey serve` uses (controller/server/worker.ts).
import { register } from 'tsx/esm/api';

register();
const [{ runWorker }, { serveDependencies }] = await Promise.all([
  import('../../controller/server/worker.ts'),
  import('../commands/serve.ts'),
]);
await runWorker(await serveDependencies());
