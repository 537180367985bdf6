// The load generator of bench/token.ts, in a process of its own so that it does not share an event
// loop with anything it measures: a warm-up, then the measured run, with autocannon's programmatic
// API. Input: one JSON argument (or `@FILE`); output: `measuring` when the measured run starts,
// then one JSON line with its figures. With `bodies`, every request sends a body of its own, each
// once (one authorization code per exchange), and each run lasts until its bodies are spent.
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

export interface LoadInput {
  url: string;
  headers: Record<string, string>;
  body: string;
  connections: number;
  warmupSeconds: number;
  seconds: number;
  /**
   * One body per request, each sent at most once: the warm-up's, then the measured run's (the
   * durations are then ignored). Each run sends all but `connections` of its bodies.
   */
  bodies?: { warmup: string[]; measured: string[] };
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

// `@FILE`: the input is in FILE (thousands of bodies exceed what one argument may hold).
const argument = process.argv[2] ?? '';
const input = JSON.parse(argument.startsWith('@') ? readFileSync(argument.slice(1), 'utf8') : argument) as LoadInput;
const run = (duration: number) =>
  autocannon({ url: input.url, connections: input.connections, duration, method: 'POST', headers: input.headers, body: input.body });
// autocannon builds each connection's next request as soon as the previous answer arrives, also
// after a connection's last one: one body per connection is kept spare, so that no code is sent twice.
const spend = (bodies: string[]) => {
  const connections = Math.max(1, Math.min(input.connections, Math.floor(bodies.length / 2)));
  let next = 0;
  return autocannon({
    url: input.url,
    connections,
    amount: bodies.length - connections,
    method: 'POST',
    headers: input.headers,
    requests: [{ setupRequest: (request) => ({ ...request, body: bodies[next++] ?? '' }) }],
  });
};

const warmup = input.bodies === undefined ? await run(input.warmupSeconds) : await spend(input.bodies.warmup);
// The parent samples the server's CPU time between this line and the result.
console.log('measuring');
const result = input.bodies === undefined ? await run(input.seconds) : await spend(input.bodies.measured);
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
