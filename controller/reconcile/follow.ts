// Following the other replicas (issue 13, `--state postgres://…`): a replica that applies a commit
// moves the shared head, and every other replica's reconciling process hears of it (LISTEN/NOTIFY,
// store/config-head.ts) and starts a reconcile at once, the trigger a webhook pulls: so a webhook
// delivered to one replica, or a `mergekey sync` run against it, reaches all of them, without
// waiting for their poll. A notice can be missed while the listening connection is down, so each
// reconnection starts one reconcile as well. The poll stays: it is what catches up when the
// shared database is gone for longer.
import type { ConfigHead } from '../store/config-head.ts';

export interface FollowOptions {
  /** The commit this replica has applied, if any. */
  applied(): string | undefined;
  /** Starts (or queues) a reconcile, as a webhook does (`ReconcileLoop.trigger`). */
  trigger(reason: string): void;
}

/** Starts following; resolves once listening, with the way to stop. */
export function followReplicas(head: ConfigHead, options: FollowOptions): Promise<() => Promise<void>> {
  return head.follow({
    moved(commit) {
      if (options.applied() !== commit) options.trigger('replica');
    },
    reconnected() {
      options.trigger('replica-reconnected');
    },
  });
}
