// Portal sign-in sessions, kept server-side in the store's `sessions` db so that every worker
// sees them and sign-out ends them everywhere. The cookie holds a random 256-bit id; the store
// keys the record by the id's SHA-256, so a copy of the store (a backup) holds no usable cookie.
// A session ends at its absolute lifetime, after an idle period, on sign-out, or when the user's
// password changes (the record keeps a fingerprint of the password hash it was opened with).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Database } from 'lmdb';

export const SESSION_VERSION = 1;

export interface Flash {
  kind: 'success' | 'error';
  message: string;
}

export interface SessionRecord {
  v: typeof SESSION_VERSION;
  /** The User's metadata.name. */
  user: string;
  /** The synchronizer token every form of this session carries (CSRF). */
  csrf: string;
  /** Fingerprint of the user's password hash at sign-in: a new password ends the session. */
  passwordStamp: string;
  /**
   * The store's cut-off generation the user's record was read at when the session opened: a
   * removal or new password after it ends the session (controller/oauth/liveness.ts). Absent in
   * sessions opened before generations, which `createdAt` judges.
   */
  userGeneration?: number;
  /** Milliseconds since the epoch. */
  createdAt: number;
  expiresAt: number;
  lastSeenAt: number;
  /** A confirmation to show once on the next page (post/redirect/get). */
  flash?: Flash;
}

export interface SessionOptions {
  now: () => number;
  /** Absolute lifetime (12 h). */
  lifetimeMs: number;
  /** Ends after this long without a request (1 h). */
  idleMs: number;
  /**
   * Live sessions one user may hold at once (20): a sign-in past it ends that user's least
   * recently used one. Sign-ins that succeed are not throttled, so without a bound one account
   * could fill the store with sessions for as long as they stay live.
   */
  maxPerUser: number;
  /**
   * Waits for a write: the store's health (store/health.ts) turns a commit that fails (a full
   * disk) into StoreError('store.unwritable'), which the portal answers with 503.
   */
  guard: <T>(write: Promise<T>) => Promise<T>;
}

export const SESSION_DEFAULTS = { lifetimeMs: 12 * 3_600_000, idleMs: 3_600_000, maxPerUser: 20 } as const;

// lastSeenAt is written at most this often: a page view is not worth a disk write each time.
const TOUCH_EVERY_MS = 60_000;
const ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** 32 random bytes, base64url: session ids and CSRF tokens. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

function keyOf(id: string): string {
  return createHash('sha256').update(id, 'utf8').digest('base64url');
}

/** A short fingerprint of a password hash: equal hashes, equal stamps; it reveals nothing usable. */
export function passwordStamp(passwordHash: string): string {
  return createHash('sha256').update(`mergekey-portal-session\0${passwordHash}`, 'utf8').digest('base64url').slice(0, 22);
}

/** Constant-time comparison of two tokens (CSRF); false when either is missing. */
export function tokensEqual(a: string | undefined, b: string | undefined): boolean {
  if (typeof a !== 'string' || typeof b !== 'string') return false;
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

export class Sessions {
  readonly #db: Database<unknown, string>;
  readonly #options: SessionOptions;

  constructor(db: Database<unknown, string>, options: Partial<SessionOptions> = {}) {
    this.#db = db;
    this.#options = { now: Date.now, guard: (write) => write, ...SESSION_DEFAULTS, ...options };
  }

  /** A new session for `user`; the id is returned once, for the cookie, and stored only hashed. */
  async create(user: string, stamp: string, userGeneration?: number): Promise<{ id: string; session: SessionRecord }> {
    const now = this.#options.now();
    const id = newToken();
    const session: SessionRecord = {
      v: SESSION_VERSION,
      user,
      csrf: newToken(),
      passwordStamp: stamp,
      ...(userGeneration === undefined ? {} : { userGeneration }),
      createdAt: now,
      expiresAt: now + this.#options.lifetimeMs,
      lastSeenAt: now,
    };
    const ended = this.#oldestBeyondBound(user, now);
    await this.#options.guard(this.#db.transaction(() => {
      for (const key of ended) void this.#db.remove(key);
      void this.#db.put(keyOf(id), session);
    }));
    return { id, session };
  }

  /** The keys of `user`'s live sessions that a new one would put past maxPerUser, least recently used first. */
  #oldestBeyondBound(user: string, now: number): string[] {
    const live: { key: string; lastSeenAt: number }[] = [];
    for (const { key, value } of this.#db.getRange()) {
      const session = value as SessionRecord;
      if (session.v === SESSION_VERSION && session.user === user && now < session.expiresAt && now < session.lastSeenAt + this.#options.idleMs) {
        live.push({ key, lastSeenAt: session.lastSeenAt });
      }
    }
    live.sort((a, b) => a.lastSeenAt - b.lastSeenAt);
    return live.slice(0, Math.max(0, live.length - this.#options.maxPerUser + 1)).map((entry) => entry.key);
  }

  /** The live session with this id, or undefined (unknown, malformed, expired or idle too long). */
  find(id: string | undefined): SessionRecord | undefined {
    if (id === undefined || !ID_PATTERN.test(id)) return undefined;
    const session = this.#db.get(keyOf(id)) as SessionRecord | undefined;
    if (session === undefined || session.v !== SESSION_VERSION) return undefined;
    const now = this.#options.now();
    if (now >= session.expiresAt || now >= session.lastSeenAt + this.#options.idleMs) return undefined;
    return session;
  }

  /** Records activity (at most once a minute), which pushes the idle limit back. */
  async touch(id: string, session: SessionRecord): Promise<SessionRecord> {
    const now = this.#options.now();
    if (now - session.lastSeenAt < TOUCH_EVERY_MS) return session;
    const touched = { ...session, lastSeenAt: now };
    await this.#rewrite(id, touched);
    return touched;
  }

  async setFlash(id: string, session: SessionRecord, flash: Flash | undefined): Promise<void> {
    const { flash: _old, ...rest } = session;
    await this.#rewrite(id, flash === undefined ? rest : { ...rest, flash });
  }

  /**
   * Writes the record of a session that still exists, and nothing otherwise. A request holds the
   * record it loaded for as long as it runs (an approval waits seconds on GitHub); a plain put at
   * its end would bring back a session that a sign-out, or a removal of its user, ended meanwhile,
   * and the cookie a sign-out was meant to kill would work again (OWASP Session Management Cheat
   * Sheet: "the session ID must be invalidated on the server side" on logout).
   */
  async #rewrite(id: string, session: SessionRecord): Promise<void> {
    const key = keyOf(id);
    await this.#options.guard(this.#db.transaction(() => {
      if (this.#db.get(key) !== undefined) void this.#db.put(key, session);
    }));
  }

  async destroy(id: string): Promise<void> {
    if (ID_PATTERN.test(id)) await this.#options.guard(this.#db.remove(keyOf(id)));
  }

  /**
   * Removes every expired session; returns how many. All of them, not a budget per run: the
   * portal sweeps every ten minutes, and a signed-in user can open sessions faster than a fixed
   * budget removes them (one per password check, several a second), so a budget let the store
   * grow without bound until the disk was full. Removed in batches of `batch`, so one sweep does
   * not hold a single huge write.
   */
  async sweep(batch = 1000): Promise<number> {
    const now = this.#options.now();
    const expired: string[] = [];
    for (const { key, value } of this.#db.getRange()) {
      const session = value as SessionRecord;
      if (session.v !== SESSION_VERSION || now >= session.expiresAt || now >= session.lastSeenAt + this.#options.idleMs) expired.push(key);
    }
    for (let start = 0; start < expired.length; start += batch) {
      await this.#options.guard(Promise.all(expired.slice(start, start + batch).map((key) => this.#db.remove(key))));
    }
    return expired.length;
  }
}
