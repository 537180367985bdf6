// Failed sign-ins are limited in memory, in three ways, so that guessing is bounded without
// handing anybody a lock on someone else's account:
//
// - per (user, address): five wrong passwords for one user from one address, then that address
//   waits out the window for that user. This is the guesser's own lock: the user signs in from
//   anywhere else as usual.
// - per address: enough for an office behind one NAT, not for guessing many users.
// - per user, across addresses: bounds a guesser who spreads over many addresses. Past it, only
//   addresses the user has not signed in from wait; from an address where the user signed in
//   before, only the two limits above apply. This is NIST SP 800-63B section 5.2.2's "accepting
//   only authentication requests that come from a white list of IP addresses from which the
//   subscriber has been successfully authenticated before", and OWASP's answer to account lockout
//   as a denial of service (Authentication Cheat Sheet, "Account Lockout"; "Slow Down Online
//   Guessing Attacks with Device Cookies", owasp.org/www-community: "establish universal temporary
//   lockouts for all untrusted clients", known ones are locked out individually). Keycloak's
//   brute-force detection, by contrast, locks the user everywhere (temporarily or for good), which
//   anyone who knows a user name can trigger.
//
// A browser holding a device cookie of the user (devices.ts) is a known client too: its attempts
// count per (user, device) instead of per (user, address), and neither the per-address nor the
// per-user limit applies to it, so a guesser sharing the user's address (or the whole internet)
// cannot keep the user's own browser out.
//
// A window starts at the first failure; once `max` failures fall in it, the key is refused until the
// window ends, without checking the password (so a refused attempt costs no scrypt). A successful
// sign-in forgets the user's failures and those of its (user, address) pair.
//
// With `--workers N` each failure and each successful sign-in is also sent to the other workers
// (`SignInThrottles` with `peers`), so the limits hold across them instead of giving an attacker
// N times the allowance, and an address one worker saw a user sign in from is known to all.

export interface FailureLimit {
  max: number;
  windowMs: number;
}

export interface SignInLimits {
  pair: FailureLimit;
  address: FailureLimit;
  user: FailureLimit;
  /** How long an address where a user signed in stays known for that user (and a device cookie valid). */
  knownForMs: number;
}

export const SIGN_IN_LIMITS = {
  /** Per (user, address): five wrong passwords, then that address waits out the quarter hour for that user. */
  pair: { max: 5, windowMs: 15 * 60_000 },
  /** Per client address: enough for an office behind one NAT, not for guessing. */
  address: { max: 50, windowMs: 15 * 60_000 },
  /** Per user from every address: 20 a quarter hour; past that, addresses the user never signed in from wait. */
  user: { max: 20, windowMs: 15 * 60_000 },
  knownForMs: 30 * 24 * 3_600_000,
} as const satisfies SignInLimits;

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
  /** The id of the user's device cookie the browser presented, if it did. */
  device?: string;
  at: number;
}

/** How sign-in events reach the other workers (the server's peers, on one topic). */
export interface SignInPeers {
  publish(event: SignInEvent): void;
  subscribe(receive: (event: unknown) => void): () => void;
}

/** Addresses each user signed in from, for a while; bounded like the throttles. */
class KnownAddresses {
  readonly #seen = new Map<string, number>();
  readonly #forMs: number;
  readonly #maxEntries: number;

  constructor(forMs: number, maxEntries = 10_000) {
    this.#forMs = forMs;
    this.#maxEntries = maxEntries;
  }

  add(user: string, address: string, at: number): void {
    const key = pairKey(user, address);
    this.#seen.delete(key);
    if (this.#seen.size >= this.#maxEntries) {
      // Oldest first (insertion order, refreshed above): the least recently seen are forgotten.
      let excess = this.#seen.size - Math.floor(this.#maxEntries / 2);
      for (const old of this.#seen.keys()) {
        if (excess-- <= 0) break;
        this.#seen.delete(old);
      }
    }
    this.#seen.set(key, at);
  }

  has(user: string, address: string, now: number): boolean {
    const at = this.#seen.get(pairKey(user, address));
    return at !== undefined && now - at < this.#forMs;
  }
}

/** The sign-in form's throttles (see the top of this file), shared with the other workers. */
export class SignInThrottles {
  readonly #pair: FailureThrottle;
  readonly #address: FailureThrottle;
  readonly #user: FailureThrottle;
  readonly #known: KnownAddresses;
  readonly #peers: SignInPeers | undefined;
  readonly #unsubscribe: () => void;

  constructor(limits: SignInLimits, peers?: SignInPeers) {
    this.#pair = new FailureThrottle(limits.pair);
    this.#address = new FailureThrottle(limits.address);
    this.#user = new FailureThrottle(limits.user);
    this.#known = new KnownAddresses(limits.knownForMs);
    this.#peers = peers;
    this.#unsubscribe = peers?.subscribe((event) => {
      if (isSignInEvent(event)) this.#count(event);
    }) ?? (() => {});
  }

  /** Milliseconds until `user` may try again from `address` (with `device`, the user's device cookie); 0 when it may now. */
  blockedFor(user: string, address: string, now: number, device?: string): number {
    // The user's own browser: its own limit only.
    if (device !== undefined) return this.#pair.blockedFor(sourceKey(user, address, device), now);
    const own = Math.max(this.#pair.blockedFor(sourceKey(user, address), now), this.#address.blockedFor(address, now));
    // Others' failures never shut the user out of an address they signed in from before.
    if (this.#known.has(user, address, now)) return own;
    return Math.max(own, this.#user.blockedFor(user, now));
  }

  failed(user: string, address: string, at: number, device?: string): void {
    this.#seen({ kind: 'failed', user, address, at, ...(device === undefined ? {} : { device }) });
  }

  signedIn(user: string, address: string, at: number, device?: string): void {
    this.#seen({ kind: 'signed-in', user, address, at, ...(device === undefined ? {} : { device }) });
  }

  close(): void {
    this.#unsubscribe();
  }

  #seen(event: SignInEvent): void {
    this.#count(event);
    this.#peers?.publish(event);
  }

  #count({ kind, user, address, device, at }: SignInEvent): void {
    if (kind === 'signed-in') {
      this.#user.reset(user);
      this.#pair.reset(sourceKey(user, address));
      if (device !== undefined) this.#pair.reset(sourceKey(user, address, device));
      this.#known.add(user, address, at);
      return;
    }
    this.#pair.fail(sourceKey(user, address, device), at);
    this.#address.fail(address, at);
    this.#user.fail(user, at);
  }
}

function pairKey(user: string, address: string): string {
  return `${user}\u0000${address}`;
}

/** Where an attempt comes from, for the per-(user, source) limit: the device cookie if any, else the address. */
function sourceKey(user: string, address: string, device?: string): string {
  return device === undefined ? pairKey(user, address) : `${user}\u0000device\u0000${device}`;
}

function isSignInEvent(value: unknown): value is SignInEvent {
  if (typeof value !== 'object' || value === null) return false;
  const event = value as Record<string, unknown>;
  return (event.kind === 'failed' || event.kind === 'signed-in') && typeof event.user === 'string'
    && typeof event.address === 'string' && typeof event.at === 'number' && Number.isFinite(event.at)
    && (event.device === undefined || typeof event.device === 'string');
}
