// The OAuth server's half of sharing throttles between the processes that serve together: every
// `throttleShareInterval` it publishes what this process's throttles allowed, and it counts what
// the others publish. How the messages travel (node:cluster IPC) is the caller's `ThrottleSharing`.
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
