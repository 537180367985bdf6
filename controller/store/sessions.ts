// Portal sign-in sessions at rest. The portal (controller/portal/auth/) decides what a session is
// and how long it lives; this module only keeps the records, so that every worker sees them and a
// sign-out ends a session everywhere. The portal sees only `SessionStore`.
//
// Layout: the `sessions` db maps `<sha256(session id) base64url>` → SessionRecord. The id is the
// cookie's value; only its hash is a key, so a copy of the store (a backup) holds no usable cookie.
// Any other implementation must key by the same hash for the same reason.
//
// Every method returns a Promise, reads included: over a network database each one is a round
// trip, and an LMDB read answered through a resolved Promise costs the portal nothing it notices.
import { createHash } from 'node:crypto';
import type { StoreHandles } from './handles.ts';

export const SESSION_VERSION = 1;

/** A confirmation to show once on the next page (post/redirect/get). */
export interface Flash {
  kind: 'success' | 'error';
  message: string;
}

/**
 * Generate Token's answer, kept for the one page that shows it (post/redirect/get), sealed by the
 * portal under a key only the browser holds (controller/portal/generated.ts): opaque here.
 */
export interface SealedAnswer {
  /** The application's metadata.name. */
  app: string;
  sealed: string;
}

export interface SessionRecord {
  v: typeof SESSION_VERSION;
  /** The User's metadata.name. */
  user: string;
  /** The synchronizer token every form of this session carries (CSRF). */
  csrf: string;
  /** Fingerprint of the user's password hash at sign-in: a new password ends the session. */
  passwordStamp: string;
  /** Milliseconds since the epoch. */
  createdAt: number;
  expiresAt: number;
  lastSeenAt: number;
  /**
   * The store's cut-off generation the user's record was read at when the session opened: a
   * removal or new password after it ends the session (controller/oauth/liveness.ts). Absent in
   * sessions opened before generations, which `createdAt` judges.
   */
  userGeneration?: number;
  flash?: Flash;
  generated?: SealedAnswer;
}

/**
 * When sessions count as live: before their `expiresAt` and less than `idleMs` after their
 * `lastSeenAt`. The portal chooses the idle limit; the store applies it where it must count or
 * remove live sessions in one write.
 */
export interface Liveness {
  now: number;
  idleMs: number;
}

export interface SessionStore {
  /** The record of session `id`, live or not; undefined when there is none. */
  get(id: string): Promise<SessionRecord | undefined>;
  /**
   * Stores a new session and, in the same write, ends the user's least recently used live sessions
   * that would put them past `maxPerUser`.
   */
  create(id: string, record: SessionRecord, bound: Liveness & { maxPerUser: number }): Promise<void>;
  /**
   * Replaces the record of a session that still exists, and does nothing otherwise: a request
   * holds the record it loaded for as long as it runs (an approval waits seconds on GitHub), and a
   * plain put at its end would bring back a session that a sign-out, or a removal of its user,
   * ended meanwhile (OWASP Session Management Cheat Sheet: "the session ID must be invalidated on
   * the server side" on logout).
   */
  replace(id: string, record: SessionRecord): Promise<void>;
  delete(id: string): Promise<void>;
  /**
   * Removes every session not live at `liveness.now`; returns how many. All of them, not a budget
   * per run: a signed-in user can open sessions faster than a fixed budget removes them (one per
   * password check, several a second), so a budget let the store grow without bound until the
   * disk was full. Removed in batches of `batch`, so one sweep does not hold a single huge write.
   */
  sweep(liveness: Liveness, batch?: number): Promise<number>;
}

/** Whether `session` is live (see `Liveness`); a record of another version never is. */
export function isLive(session: SessionRecord, { now, idleMs }: Liveness): boolean {
  return session.v === SESSION_VERSION && now < session.expiresAt && now < session.lastSeenAt + idleMs;
}

function keyOf(id: string): string {
  return createHash('sha256').update(id, 'utf8').digest('base64url');
}

/** The sessions kept in the store's `sessions` db. */
export function sessionStore(store: StoreHandles): SessionStore {
  const db = store.sessions;

  /** The keys of `user`'s live sessions that a new one would put past maxPerUser, least recently used first. */
  const oldestBeyondBound = (user: string, bound: Liveness & { maxPerUser: number }): string[] => {
    const live: { key: string; lastSeenAt: number }[] = [];
    for (const { key, value } of db.getRange()) {
      const session = value as SessionRecord;
      if (session.user === user && isLive(session, bound)) live.push({ key, lastSeenAt: session.lastSeenAt });
    }
    live.sort((a, b) => a.lastSeenAt - b.lastSeenAt);
    return live.slice(0, Math.max(0, live.length - bound.maxPerUser + 1)).map((entry) => entry.key);
  };

  return {
    async get(id) {
      return db.get(keyOf(id)) as SessionRecord | undefined;
    },

    async create(id, record, bound) {
      const ended = oldestBeyondBound(record.user, bound);
      await db.transaction(() => {
        for (const key of ended) void db.remove(key);
        void db.put(keyOf(id), record);
      });
    },

    async replace(id, record) {
      const key = keyOf(id);
      await db.transaction(() => {
        if (db.get(key) !== undefined) void db.put(key, record);
      });
    },

    async delete(id) {
      await db.remove(keyOf(id));
    },

    async sweep(liveness, batch = 1000) {
      const ended: string[] = [];
      for (const { key, value } of db.getRange()) {
        if (!isLive(value as SessionRecord, liveness)) ended.push(key);
      }
      for (let start = 0; start < ended.length; start += batch) {
        await Promise.all(ended.slice(start, start + batch).map((key) => db.remove(key)));
      }
      return ended.length;
    },
  };
}
