// Failed sign-ins are limited per user and per client address, in memory, per process: with N
// workers an attacker gets N times the allowance, which the limits below are chosen to tolerate.
// A window starts at the first failure; once `max` failures fall in it, sign-in for that key is
// refused until the window ends, without checking the password (so a locked key costs no scrypt).

export interface FailureLimit {
  max: number;
  windowMs: number;
}

export const SIGN_IN_LIMITS = {
  /** Per user: five wrong passwords, then wait out the quarter hour. */
  user: { max: 5, windowMs: 15 * 60_000 },
  /** Per client address: enough for an office behind one NAT, not for guessing. */
  address: { max: 50, windowMs: 15 * 60_000 },
} as const satisfies Record<string, FailureLimit>;

export class FailureThrottle {
  readonly #windows = new Map<string, { start: number; count: number }>();
  readonly #limit: FailureLimit;
  readonly #maxEntries: number;

  constructor(limit: FailureLimit, maxEntries = 10_000) {
    this.#limit = limit;
    this.#maxEntries = maxEntries;
  }

  /** Milliseconds until `key` may try again; 0 when it may now. */
  blockedFor(key: string, now: number): number {
    const window = this.#windows.get(key);
    if (window === undefined) return 0;
    const end = window.start + this.#limit.windowMs;
    if (now >= end) {
      this.#windows.delete(key);
      return 0;
    }
    return window.count >= this.#limit.max ? end - now : 0;
  }

  fail(key: string, now: number): void {
    const window = this.#windows.get(key);
    if (window !== undefined && now < window.start + this.#limit.windowMs) {
      window.count += 1;
      return;
    }
    if (this.#windows.size >= this.#maxEntries) this.#forget(now);
    this.#windows.set(key, { start: now, count: 1 });
  }

  reset(key: string): void {
    this.#windows.delete(key);
  }

  /** Drops ended windows; if the map is still full, the oldest half (a flood of addresses must not grow it without bound). */
  #forget(now: number): void {
    for (const [key, window] of this.#windows) if (now >= window.start + this.#limit.windowMs) this.#windows.delete(key);
    let excess = this.#windows.size - Math.floor(this.#maxEntries / 2);
    for (const key of this.#windows.keys()) {
      if (excess-- <= 0) break;
      this.#windows.delete(key);
    }
  }
}
