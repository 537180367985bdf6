// In-memory rate limiting with the generic cell rate algorithm: one number per key (the time the
// next event would be due if events came at exactly the allowed rate), O(1) per check, and a
// burst of up to the whole per-minute allowance.
//
// With `--workers N` (or several replicas) every process keeps its own state, so on its own each
// would allow the whole rate and an application spreading its connections over the workers would
// get N times its plan.
// A sharing throttle therefore remembers the events it allowed; the OAuth plugin sends them to the
// other processes every few milliseconds (`throttleShareInterval`), and each counts the others'
// events with `absorb`. Between two exchanges a process does not yet know the others' latest
// events, so a burst across workers can pass the limit by what they allow in that interval
// (throttle-sharing.ts states the bound).

const MINUTE = 60_000;

/** Events one process allowed for one key, to be counted by the others. */
export interface ThrottleHits {
  key: string;
  count: number;
  /** The rate they were counted at: the interval each one takes is a minute divided by it. */
  perMinute: number;
}

export class Throttle {
  readonly #due = new Map<string, number>();
  readonly #maxEntries: number;
  /** Allowed here since the last `takeUnshared`; undefined when nothing is shared. */
  readonly #unshared: Map<string, ThrottleHits> | undefined;

  constructor(maxEntries: number, options: { share?: boolean } = {}) {
    this.#maxEntries = maxEntries;
    this.#unshared = options.share === true ? new Map() : undefined;
  }

  /** Milliseconds until one more event for `key` would be allowed; 0 when it is allowed now. */
  wait(key: string, now: number, perMinute: number): number {
    const due = this.#due.get(key);
    if (due === undefined) return 0;
    const interval = MINUTE / perMinute;
    return Math.max(0, Math.max(due, now) + interval - now - MINUTE);
  }

  /** Counts one event; returns the wait before it would have been allowed (0 if it was). */
  hit(key: string, now: number, perMinute: number): number {
    const waiting = this.wait(key, now, perMinute);
    if (waiting > 0) return waiting;
    this.#advance(key, now, MINUTE / perMinute);
    if (this.#unshared !== undefined) {
      const hits = this.#unshared.get(key);
      if (hits === undefined) this.#unshared.set(key, { key, count: 1, perMinute });
      else {
        hits.count++;
        hits.perMinute = perMinute;
      }
    }
    return 0;
  }

  /** The events this process allowed since the last call, for the others to `absorb`. */
  takeUnshared(): ThrottleHits[] {
    if (this.#unshared === undefined || this.#unshared.size === 0) return [];
    const hits = [...this.#unshared.values()];
    this.#unshared.clear();
    return hits;
  }

  /** Counts events another process allowed. They happened: nothing is refused here. */
  absorb(hits: readonly ThrottleHits[], now: number): void {
    for (const { key, count, perMinute } of hits) {
      if (typeof key !== 'string' || !(count > 0) || !(perMinute > 0)) continue;
      this.#advance(key, now, (count * MINUTE) / perMinute);
    }
  }

  /** Forgets keys whose allowance has fully recovered; if that is not enough, the oldest entries. */
  forget(now: number): void {
    for (const [key, due] of this.#due) if (due <= now) this.#due.delete(key);
    if (this.#due.size < this.#maxEntries) return;
    let excess = this.#due.size - Math.floor(this.#maxEntries / 2);
    for (const key of this.#due.keys()) {
      if (excess-- <= 0) break;
      this.#due.delete(key);
    }
  }

  get size(): number {
    return this.#due.size;
  }

  #advance(key: string, now: number, by: number): void {
    const due = this.#due.get(key);
    if (due === undefined && this.#due.size >= this.#maxEntries) this.forget(now);
    this.#due.set(key, Math.max(due ?? now, now) + by);
  }
}

/** Seconds for a `Retry-After` header: whole, and at least 1. */
export function retryAfterSeconds(waitMs: number): number {
  return Math.max(1, Math.ceil(waitMs / 1000));
}
