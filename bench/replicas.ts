// `npm run bench:replicas [-- --rounds 20]`: the propagation bound of guarantee 4 (issue 13, README
// "Running several replicas"): once one replica has been told of a commit that deactivates an
// application, how long until another replica, told nothing, refuses that application a token?
//
// Two real `mergekey serve --state postgres://…` replicas over one throwaway PostgreSQL
// (test/support/replicas.ts: A with two workers, B one process, polling off). Each round commits
// `billing: inactive`, delivers the push webhook to A alone, and asks B for a billing token
// (client_credentials, one request at a time) until B refuses: the time from sending the webhook to
// B's first refusal. Then the same for the reactivation, until B issues again. A's own time to
// refuse (webhook → A refuses) is measured in the same rounds, for comparison: it is what one
// replica takes, git fetch and apply included. Prints p50, p99 and the maximum of each.
//
// What the bound is made of: A fetches and applies the commit (one LMDB transaction, its cut-off
// generation taken from PostgreSQL), NOTIFYs; B, listening, fetches and applies it in turn. The
// resolution is one token request on B (a few milliseconds).
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { startReplicas, type Replica, type ReplicaSet } from '../test/support/replicas.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '20' } } });
const ROUNDS = Number(values.rounds);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error(`--rounds must be a positive integer, not ${values.rounds}`);
// No round may take longer: a replica that never converges fails the run rather than hanging it.
const ROUND_LIMIT_MS = 30_000;

const billing = (on: Replica) => on.token('billing', 'client_credentials', { scope: 'orders:read' });

/** Milliseconds from `since` until `on` answers billing's token request with `status`. */
async function until(on: Replica, status: (status: number) => boolean, since: number): Promise<number> {
  for (;;) {
    const answer = await billing(on);
    const at = performance.now();
    if (status(answer.status)) return at - since;
    if (at - since > ROUND_LIMIT_MS) throw new Error(`replica ${on.name} still answers ${answer.status} after ${ROUND_LIMIT_MS} ms`);
  }
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function summary(name: string, samples: readonly number[]): string {
  const sorted = [...samples].sort((x, y) => x - y);
  const ms = (value: number) => `${value.toFixed(0).padStart(5)} ms`;
  return `${name.padEnd(44)} p50 ${ms(percentile(sorted, 50))}   p99 ${ms(percentile(sorted, 99))}   max ${ms(sorted.at(-1)!)}`;
}

async function round(replicas: ReplicaSet, state: 'inactive' | 'active'): Promise<{ a: number; b: number }> {
  const commit = await replicas.setState('billing', state);
  const refused = (status: number) => status === 401;
  const issued = (status: number) => status === 200;
  const sent = performance.now();
  const delivered = await replicas.a.deliverPush(commit);
  if (delivered.status !== 202) throw new Error(`the webhook to A answered ${delivered.status}: ${JSON.stringify(delivered.body)}`);
  const [a, b] = await Promise.all([until(replicas.a, state === 'inactive' ? refused : issued, sent), until(replicas.b, state === 'inactive' ? refused : issued, sent)]);
  return { a, b };
}

const replicas = await startReplicas();
try {
  const deactivation = { a: [] as number[], b: [] as number[] };
  const reactivation = { a: [] as number[], b: [] as number[] };
  for (let i = 1; i <= ROUNDS; i++) {
    const off = await round(replicas, 'inactive');
    const on = await round(replicas, 'active');
    deactivation.a.push(off.a);
    deactivation.b.push(off.b);
    reactivation.a.push(on.a);
    reactivation.b.push(on.b);
    process.stdout.write(`round ${String(i).padStart(2)}: deactivation A ${off.a.toFixed(0)} ms, B ${off.b.toFixed(0)} ms; reactivation A ${on.a.toFixed(0)} ms, B ${on.b.toFixed(0)} ms\n`);
  }
  process.stdout.write(`\n${ROUNDS} rounds, webhook to A only, B told nothing (polling off):\n`);
  process.stdout.write(`${summary('deactivation: webhook → B refuses (the bound)', deactivation.b)}\n`);
  process.stdout.write(`${summary('deactivation: webhook → A refuses', deactivation.a)}\n`);
  process.stdout.write(`${summary('reactivation: webhook → B issues', reactivation.b)}\n`);
  process.stdout.write(`${summary('reactivation: webhook → A issues', reactivation.a)}\n`);
} finally {
  await replicas.close();
}
