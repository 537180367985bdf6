// What a portal sign-in session is and how long it lives. The records are kept by the store
// (store/sessions.ts: every worker sees them, sign-out ends them everywhere, only the id's hash is
// a key); this module holds the policy: a session ends at its absolute lifetime, after an idle
// period, on sign-out, or when the user's password changes (the record keeps a fingerprint of the
// password hash it was opened with), and a user holds a bounded number at once.
import { createHash } from 'node:crypto';
import { isLive, SESSION_VERSION, type Flash, type SealedAnswer, type SessionRecord, type SessionStore } from '../../store/sessions.ts';
import { newToken } from './csrf.ts';

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

const SESSION_DEFAULTS = { lifetimeMs: 12 * 3_600_000, idleMs: 3_600_000, maxPerUser: 20 } as const;

// lastSeenAt is written at most this often: a page view is not worth a disk write each time.
const TOUCH_EVERY_MS = 60_000;
const ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** A short fingerprint of a password hash: equal hashes, equal stamps; it reveals nothing usable. */
export function passwordStamp(passwordHash: string): string {
  return createHash('sha256').update(`mergekey-portal-session\0${passwordHash}`, 'utf8').digest('base64url').slice(0, 22);
}

export class Sessions {
  readonly #store: SessionStore;
  readonly #options: SessionOptions;

  constructor(store: SessionStore, options: Partial<SessionOptions> = {}) {
    this.#store = store;
    this.#options = { now: Date.now, guard: (write) => write, ...SESSION_DEFAULTS, ...options };
  }

  /** How long a session (and so its cookie) lives at most. */
  get lifetimeMs(): number {
    return this.#options.lifetimeMs;
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
      createdAt: now,
      expiresAt: now + this.#options.lifetimeMs,
      lastSeenAt: now,
      ...(userGeneration === undefined ? {} : { userGeneration }),
    };
    await this.#options.guard(this.#store.create(id, session, { now, idleMs: this.#options.idleMs, maxPerUser: this.#options.maxPerUser }));
    return { id, session };
  }

  /** The live session with this id, or undefined (unknown, malformed, expired or idle too long). */
  async find(id: string | undefined): Promise<SessionRecord | undefined> {
    if (id === undefined || !ID_PATTERN.test(id)) return undefined;
    const session = await this.#store.get(id);
    if (session === undefined || !isLive(session, this.#liveness())) return undefined;
    return session;
  }

  /** Records activity (at most once a minute), which pushes the idle limit back. */
  async touch(id: string, session: SessionRecord): Promise<SessionRecord> {
    const now = this.#options.now();
    if (now - session.lastSeenAt < TOUCH_EVERY_MS) return session;
    const touched = { ...session, lastSeenAt: now };
    await this.#options.guard(this.#store.replace(id, touched));
    return touched;
  }

  /** Keeps `flash` for the next page, or forgets the one shown; never revives an ended session. */
  async setFlash(id: string, session: SessionRecord, flash: Flash | undefined): Promise<void> {
    const { flash: _old, ...rest } = session;
    await this.#options.guard(this.#store.replace(id, flash === undefined ? rest : { ...rest, flash }));
  }

  /** Keeps Generate Token's sealed answer for the page that shows it once, or forgets the one shown. */
  async setGenerated(id: string, session: SessionRecord, generated: SealedAnswer | undefined): Promise<SessionRecord> {
    const { generated: _old, ...rest } = session;
    const next = generated === undefined ? rest : { ...rest, generated };
    await this.#options.guard(this.#store.replace(id, next));
    return next;
  }

  async destroy(id: string): Promise<void> {
    if (ID_PATTERN.test(id)) await this.#options.guard(this.#store.delete(id));
  }

  /** Removes every expired session; returns how many (the portal sweeps every ten minutes). */
  async sweep(): Promise<number> {
    return this.#options.guard(this.#store.sweep(this.#liveness()));
  }

  #liveness(): { now: number; idleMs: number } {
    return { now: this.#options.now(), idleMs: this.#options.idleMs };
  }
}
