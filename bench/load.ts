// The load generator of bench/token.ts, in a process of its own so that it does not share an event
// loop with anything it measures: a warm-up, then the measured run, with autocannon's programmatic
// API. Input: one JSON argument (or `@FILE`); output: `measuring` when the measured run starts,
// then one JSON line with its figures. The body of each request is one of:
// - `body`, the same every time (client_credentials);
// - `bodies`: each request a body of its own, each sent once (one authorization code per
//   exchange), each run lasting until its bodies are spent;
// - `cycle`: the bodies in turn, over and over (introspection of a set of live tokens);
// - `refreshChains`: refresh token rotation, each token sent once: a run starts from its own
//   refresh tokens (one per connection), and every 200 answer's `refresh_token` is the body of a
//   later request, as a client keeping its grant alive does.
import { readFileSync } from 'node:fs';
import autocannon, { type Options } from 'autocannon';

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
  /** Bodies sent in turn, each many times. */
  cycle?: string[];
  /** The refresh tokens each run starts from, `connections` of them (none is used by both runs). */
  refreshChains?: { warmup: string[]; measured: string[] };
  /** Counts an answer that does not start `{"active":true` as a failure (introspection of live tokens). */
  expectActive?: boolean;
  /** After the warm-up, prints `warmed` and waits for a line on stdin before measuring. */
  pauseAfterWarmup?: boolean;
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
  /** Answers `expectActive` refused, in both runs. */
  mismatches: number;
  /** With `refreshChains`: the status and body of the first refresh that was refused. */
  firstFailure?: string;
}

// `@FILE`: the input is in FILE (thousands of bodies exceed what one argument may hold).
const argument = process.argv[2] ?? '';
const input = JSON.parse(argument.startsWith('@') ? readFileSync(argument.slice(1), 'utf8') : argument) as LoadInput;
const common = {
  url: input.url,
  method: 'POST',
  headers: input.headers,
  ...(input.expectActive === true ? { verifyBody: (body: string) => body.startsWith('{"active":true') } : {}),
} satisfies Partial<Options>;
const run = (duration: number) => autocannon({ ...common, connections: input.connections, duration, body: input.body });
// autocannon builds each connection's next request as soon as the previous answer arrives, also
// after a connection's last one: one body per connection is kept spare, so that no code is sent twice.
const spend = (bodies: string[]) => {
  const connections = Math.max(1, Math.min(input.connections, Math.floor(bodies.length / 2)));
  let next = 0;
  return autocannon({
    ...common,
    connections,
    amount: bodies.length - connections,
    requests: [{ setupRequest: (request) => ({ ...request, body: bodies[next++] ?? '' }) }],
  });
};
const cycle = (duration: number, bodies: string[]) => {
  let next = 0;
  return autocannon({
    ...common,
    connections: input.connections,
    duration,
    requests: [{ setupRequest: (request) => ({ ...request, body: bodies[next++ % bodies.length]! }) }],
  });
};
// Each connection has one request in flight at a time and takes a token from `ready` to build its
// next one; the answer to it puts the rotated token back. So `ready` holds one token per idle
// connection, none is sent twice, and a failed refresh ends its chain with a non-2xx answer
// (then every later request of that connection sends an empty token and fails too).
/** The first refused refresh of the chains, for the error message. */
let firstFailure: string | undefined;
const chain = (duration: number, seeds: string[]) => {
  const ready = [...seeds];
  const body = (token: string) => new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token }).toString();
  return autocannon({
    ...common,
    connections: input.connections,
    duration,
    requests: [{
      setupRequest: (request) => ({ ...request, body: body(ready.pop() ?? '') }),
      onResponse: (status, answer) => {
        if (status === 200) ready.push((JSON.parse(answer) as { refresh_token: string }).refresh_token);
        else firstFailure ??= `${status} ${answer.slice(0, 300)}`;
      },
    }],
  });
};
const once = (which: 'warmup' | 'measured', seconds: number) => {
  if (input.bodies !== undefined) return spend(input.bodies[which]);
  if (input.refreshChains !== undefined) return chain(seconds, input.refreshChains[which]);
  if (input.cycle !== undefined) return cycle(seconds, input.cycle);
  return run(seconds);
};

const warmup = await once('warmup', input.warmupSeconds);
if (input.pauseAfterWarmup === true) {
  console.log('warmed');
  await new Promise((resolve) => process.stdin.once('data', resolve));
  process.stdin.destroy();
}
// The parent samples the server's CPU time between this line and the result.
console.log('measuring');
const result = await once('measured', input.seconds);
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
  mismatches: result.mismatches + warmup.mismatches,
  ...(firstFailure === undefined ? {} : { firstFailure }),
};
console.log(JSON.stringify(output));
