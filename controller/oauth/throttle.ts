// In-memory rate limiting with the generic cell rate algorithm: one number per key (the time the
// next event would be due if events came at exactly the allowed rate), O(1) per check, and a
// burst of up to the whole per-minute allowance. State is per process: workers do not share it
// (see `rateLimitShare` in defaults.ts).

const MINUTE = 60_000;

export class Throttle {
  readonly #due = new Map<string, number>();
  readonly #maxEntries: number;

  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries;
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
    const due = this.#due.get(key);
    if (due === undefined && this.#due.size >= this.#maxEntries) this.forget(now);
    this.#due.set(key, Math.max(due ?? now, now) + MINUTE / perMinute);
    return 0;
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
}

/** Seconds for a `Retry-After` header: whole, and at least 1. */
export function retryAfterSeconds(waitMs: number): number {
  return Math.max(1, Math.ceil(waitMs / 1000));
}
