// The OAuth server's half of sharing throttles between the processes that serve together: every
// `throttleShareInterval` it publishes what this process's throttles allowed, and it counts what
// the others publish. How the messages travel is the caller's `ThrottleSharing`: node:cluster IPC
// between the workers of one replica, and, with `--state postgres://…`, PostgreSQL NOTIFY between
// replicas, carried by each replica's reconciling process (server/replica-peers.ts).
//
// The bound. P processes serve (R replicas × W workers each, W = 1 without `--workers`); a limit
// allows N events per minute per key (throttle.ts: a burst of N, then N per minute). Each process
// refuses from what it knows: its own events, and the others' once they arrive, at most
// D = throttleShareInterval (50 ms: waiting for the next exchange) + delivery later. Delivery is an
// IPC hop inside a replica and, between replicas, one NOTIFY through PostgreSQL plus the IPC hops on
// each side: measured on a loopback PostgreSQL (2 busy cores), 0.3 ms median and 7 ms p99 for a
// small exchange, 3.5 ms median and 47 ms p99 for 1,000 keys (44 kB, six NOTIFY fragments).
// So over any span the processes together admit what one process would (N, plus the span's
// rate) and, beyond it, only events one admitted before it heard of the others': those the other
// P − 1 admitted in the last D, never more than N from each. Hence:
//   - worst case, a burst that reaches all P processes within D while the allowance is whole:
//     P × N (each admits its own whole burst before hearing of the others);
//   - once the allowance is spent: each time one event's worth recovers, each process may admit one
//     before it hears of the others': up to P − 1 extra, which later refusals pay back, because
//     every admitted event is counted everywhere in the end (the rate over minutes is the plan's);
//   - events sent while a replica was not listening (starting, or its connection to PostgreSQL
//     reconnecting; NOTIFY keeps nothing) are never counted there: like a restarted server, it
//     begins with every allowance whole, at most N more per key for that replica.
// Counting in PostgreSQL on every request would make the bound exact at the cost of a round trip
// per token request (and per failed authentication, where an attacker chooses the rate); the
// limits here protect capacity and slow guessing, for which this bound is enough.
import type { OAuthContext } from './context.ts';
import type { SharedHits, ThrottleName, ThrottleSharing } from './deps.ts';

const THROTTLES: readonly ThrottleName[] = ['requests', 'clientAuthFailures', 'passwordFailures', 'inactiveTokens'];

/** Starts sharing; returns the way to stop. Without `sharing` there is nothing to do. */
export function shareThrottles(ctx: OAuthContext, sharing: ThrottleSharing | undefined): () => void {
  if (sharing === undefined) return () => {};
  const unsubscribe = sharing.subscribe((hits) => {
    if (typeof hits !== 'object' || hits === null) return;
    const now = ctx.now();
    for (const name of THROTTLES) {
      const received = hits[name];
      if (Array.isArray(received)) ctx.throttles[name].absorb(received, now);
    }
  });
  const publish = () => {
    const hits: SharedHits = {};
    let any = false;
    for (const name of THROTTLES) {
      const taken = ctx.throttles[name].takeUnshared();
      if (taken.length === 0) continue;
      hits[name] = taken;
      any = true;
    }
    if (any) sharing.publish(hits);
  };
  const timer = setInterval(publish, ctx.options.throttleShareInterval);
  timer.unref();
  return () => {
    clearInterval(timer);
    // What was counted since the last exchange still counts for the others.
    publish();
    unsubscribe();
  };
}
