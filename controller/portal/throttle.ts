// Failed sign-ins are limited per user and per client address, in memory. A window starts at the
// first failure; once `max` failures fall in it, sign-in for that key is refused until the window
// ends, without checking the password (so a locked key costs no scrypt).
//
// With `--workers N` each failure and each successful sign-in is also sent to the other workers
// (`SignInThrottles` with `peers`), so the limits hold across them instead of giving an attacker
// N times the allowance.

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

/** A failure or a successful sign-in one worker saw, for the others to count. */
export interface SignInEvent {
  kind: 'failed' | 'signed-in';
  user: string;
  address: string;
  at: number;
}

/** How sign-in events reach the other workers (the server's peers, on one topic). */
export interface SignInPeers {
  publish(event: SignInEvent): void;
  subscribe(receive: (event: unknown) => void): () => void;
}

/** The per-user and per-address throttles of the sign-in form, shared with the other workers. */
export class SignInThrottles {
  readonly #user: FailureThrottle;
  readonly #address: FailureThrottle;
  readonly #peers: SignInPeers | undefined;
  readonly #unsubscribe: () => void;

  constructor(limits: { user: FailureLimit; address: FailureLimit }, peers?: SignInPeers) {
    this.#user = new FailureThrottle(limits.user);
    this.#address = new FailureThrottle(limits.address);
    this.#peers = peers;
    this.#unsubscribe = peers?.subscribe((event) => {
      if (isSignInEvent(event)) this.#count(event);
    }) ?? (() => {});
  }

  /** Milliseconds until `user` may try again from `address`; 0 when it may now. */
  blockedFor(user: string, address: string, now: number): number {
    return Math.max(this.#user.blockedFor(user, now), this.#address.blockedFor(address, now));
  }

  failed(user: string, address: string, at: number): void {
    this.#seen({ kind: 'failed', user, address, at });
  }

  signedIn(user: string, address: string, at: number): void {
    this.#seen({ kind: 'signed-in', user, address, at });
  }

  close(): void {
    this.#unsubscribe();
  }

  #seen(event: SignInEvent): void {
    this.#count(event);
    this.#peers?.publish(event);
  }

  #count({ kind, user, address, at }: SignInEvent): void {
    if (kind === 'signed-in') {
      this.#user.reset(user);
      return;
    }
    this.#user.fail(user, at);
    this.#address.fail(address, at);
  }
}

function isSignInEvent(value: unknown): value is SignInEvent {
  if (typeof value !== 'object' || value === null) return false;
  const event = value as Record<string, unknown>;
  return (event.kind === 'failed' || event.kind === 'signed-in') && typeof event.user === 'string'
    && typeof event.address === 'string' && typeof event.at === 'number' && Number.isFinite(event.at);
}
