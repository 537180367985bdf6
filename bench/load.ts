// The load generator of bench/token.ts, in a process of its own so that it does not share an event
// loop with anything it measures: a warm-up, then the measured run, with autocannon's programmatic
// API. Input: one JSON argument; output: `measuring` when the measured run starts, then one JSON
// line with its figures.
import autocannon from 'autocannon';

export interface LoadInput {
  url: string;
  headers: Record<string, string>;
  body: string;
  connections: number;
  warmupSeconds: number;
  seconds: number;
}

export interface LoadResult {
  /** 200 answers per second over the measured run. */
  tokensPerSecond: number;
  /** Latency percentiles of the measured run, ms. */
  p50: number;
  p99: number;
  max: number;
  ok: number;
  /** 200 answers during the warm-up. */
  warmupOk: number;
  non2xx: number;
  errors: number;
}

const input = JSON.parse(process.argv[2] ?? '') as LoadInput;
const run = (duration: number) =>
  autocannon({ url: input.url, connections: input.connections, duration, method: 'POST', headers: input.headers, body: input.body });

const warmup = await run(input.warmupSeconds);
// The parent samples the server's CPU time between this line and the result.
console.log('measuring');
const result = await run(input.seconds);
const ok = result.statusCodeStats['200']?.count ?? 0;
const output: LoadResult = {
  tokensPerSecond: ok / result.duration,
  p50: result.latency.p50,
  p99: result.latency.p99,
  max: result.latency.max,
  ok,
  warmupOk: warmup.statusCodeStats['200']?.count ?? 0,
  non2xx: result.non2xx + warmup.non2xx,
  errors: result.errors + warmup.errors,
};
console.log(JSON.stringify(output));
