// A child process for the harness's test: starts a throwaway cluster, prints its directory and
// the server's pid, and dies by SIGKILL without stopping it, as a crashed test worker would.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPostgres } from './postgres.ts';

const cluster = await startPostgres();
const pid = Number(readFileSync(join(cluster.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
process.stdout.write(`${JSON.stringify({ dir: cluster.dir, pid })}\n`, () => process.kill(process.pid, 'SIGKILL'));
