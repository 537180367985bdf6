// Deletes expired rows of the shared PostgreSQL (issue 13), so the database stops growing at any
// sustained issuance rate: the PostgreSQL counterpart of ../sweeper.ts, with the same public shape
// (start, stop, sweep, and the SweepStats that metrics.ts scrapes).
//
// Each table of migration 001 with an expiry has an index on it, so a batch is a range of that
// index: at most `batch` rows a table, deleted in one short transaction, and the sweeper yields
// between batches so the token endpoint's writes are never held behind a long one. A row is
// deleted only while the row itself says it has expired (the condition is in the DELETE, which
// PostgreSQL checks again on a row another transaction changed meanwhile: a family whose expiry a
// rotation moved later stays). Tables and what "expired" means there:
//   access_tokens, revoked_access_tokens, used_assertion_ids, refresh_tokens, refresh_families:
//     `exp` passed (seconds; a family's tokens go with it, ON DELETE CASCADE);
//   authorization_codes: `keep_until` passed (seconds);
//   portal_sessions: `expires_ms` passed; sessions idle too long are the portal's own sweep
//     (SessionStore.sweep), which knows the idle limit;
//   cut_offs, consents, the keyring and the generation counter never expire.
// onSwept reports by the LMDB store's names (families count as refreshTokens); portal sessions,
// which the LMDB sweeper does not keep, count only in sweep()'s total.
//
// One replica sweeps at a time: every batch's transaction first takes the advisory lock "mksw"
// with pg_try_advisory_xact_lock, so no two batches run at once, and a replica that finds it taken
// skips this round (the holder is sweeping). The lock belongs to the transaction, so a replica
// killed mid-batch holds nothing: its connection closes, its transaction rolls back whole, and the
// next round of any replica sweeps. (A lock held for a whole sweep would need one long transaction
// or a session lock on a connection kept aside; a batch is short, so the lock is taken per batch.)
//
// The stats are synchronous (a scrape does not wait on the network): each round of the loop ends
// with one statement measuring what is due and not yet swept, and the getters read that.
import type { TransactionSql } from 'postgres';
import type { ExpiringDb, SweepStats, SweeperOptions } from '../sweeper.ts';
import { BACKLOG_COUNT_LIMIT, SWEEP_BATCH, SWEEP_IDLE_MS } from '../sweeper.ts';
import { SweepLoop } from '../sweep-loop.ts';
import type { SharedDb } from './db.ts';

/** "mksw": the advisory lock every sweeping transaction takes. */
export const SWEEP_LOCK = 0x6d6b7377;

export type PostgresSweeperOptions = SweeperOptions;

/** A batch's deletions by table, and the LMDB store's name each is reported under (none: not reported). */
const REPORTED_AS = {
  accessTokens: 'tokens', revokedAccessTokens: 'revocations', usedAssertionIds: 'jtis', refreshTokens: 'refreshTokens',
  refreshFamilies: 'refreshTokens', authorizationCodes: 'authorizationCodes', portalSessions: undefined,
} as const satisfies Record<string, ExpiringDb | undefined>;
type Counts = Record<keyof typeof REPORTED_AS, number>;

export class PostgresSweeper implements SweepStats {
  readonly #db: SharedDb;
  readonly #now: () => number;
  readonly #batch: number;
  readonly #onSwept: (db: ExpiringDb, count: number) => void;
  // An unreachable server fails a batch whole (rolled back); the loop reports it and the next
  // round tries again. A round sweeps, then measures for the stats.
  readonly #loop: SweepLoop;
  /** Seconds: when the oldest row due at the last measure expired; undefined when none was due. */
  #oldestDue: number | undefined;
  #backlog = 0;

  constructor(db: SharedDb, options: PostgresSweeperOptions = {}) {
    this.#db = db;
    this.#now = options.now ?? Date.now;
    this.#batch = options.batch ?? SWEEP_BATCH;
    this.#onSwept = options.onSwept ?? (() => {});
    this.#loop = new SweepLoop(async () => {
      const now = this.#now() / 1000;
      await this.sweep(now);
      await this.measure(now);
    }, options.idleMs ?? SWEEP_IDLE_MS, options.onError ?? (() => {}));
  }

  /** Sweeps in the background until `stop`. */
  start(): void {
    this.#loop.start();
  }

  /** Stops after the batch in flight (its transaction commits or rolls back whole). */
  async stop(): Promise<void> {
    await this.#loop.stop();
  }

  /**
   * Deletes everything expired at `now` (seconds), batch by batch, unless another replica holds
   * the sweep lock (then it deletes nothing this time). Resolves with how many rows it deleted.
   */
  async sweep(now: number): Promise<number> {
    let deleted = 0;
    for (;;) {
      const counts = await this.#db.run((sql) => sql.begin((tx) => this.#sweepBatch(tx, now)));
      if (counts === undefined) return deleted;
      let fullest = 0;
      for (const [table, count] of Object.entries(counts) as [keyof Counts, number][]) {
        deleted += count;
        fullest = Math.max(fullest, count);
        const reportedAs = REPORTED_AS[table];
        if (count > 0 && reportedAs !== undefined) this.#onSwept(reportedAs, count);
      }
      if (fullest < this.#batch || this.#loop.stopped) return deleted;
      // Let requests run between two batches.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Measures what is due at `now` (seconds) and not yet swept, for the stats; one round trip. */
  async measure(at: number): Promise<void> {
    // Expiries are whole seconds: the same rows are due at the second as at any fraction of it.
    const now = Math.floor(at);
    const nowMs = now * 1000;
    const limit = BACKLOG_COUNT_LIMIT;
    const [row] = await this.#db.run((sql) => sql`
      SELECT
        LEAST(
          (SELECT min(exp) FROM access_tokens), (SELECT min(exp) FROM revoked_access_tokens),
          (SELECT min(exp) FROM used_assertion_ids), (SELECT min(exp) FROM refresh_tokens),
          (SELECT min(exp) FROM refresh_families), (SELECT min(keep_until) FROM authorization_codes),
          (SELECT min(expires_ms) / 1000 FROM portal_sessions)
        )::float8 AS oldest,
        ((SELECT count(*) FROM (SELECT FROM access_tokens WHERE exp <= ${now} LIMIT ${limit}) t)
          + (SELECT count(*) FROM (SELECT FROM revoked_access_tokens WHERE exp <= ${now} LIMIT ${limit}) t)
          + (SELECT count(*) FROM (SELECT FROM used_assertion_ids WHERE exp <= ${now} LIMIT ${limit}) t)
          + (SELECT count(*) FROM (SELECT FROM refresh_tokens WHERE exp <= ${now} LIMIT ${limit}) t)
          + (SELECT count(*) FROM (SELECT FROM refresh_families WHERE exp <= ${now} LIMIT ${limit}) t)
          + (SELECT count(*) FROM (SELECT FROM authorization_codes WHERE keep_until <= ${now} LIMIT ${limit}) t)
          + (SELECT count(*) FROM (SELECT FROM portal_sessions WHERE expires_ms <= ${nowMs} LIMIT ${limit}) t)
        )::float8 AS backlog`) as unknown as [{ oldest: number | null; backlog: number }];
    this.#oldestDue = row.oldest !== null && row.oldest <= at ? row.oldest : undefined;
    this.#backlog = Math.min(row.backlog, limit);
  }

  /** Seconds since the oldest row not yet swept expired, as last measured; 0 when none was due. */
  oldestExpiredAge(): number {
    return this.#oldestDue === undefined ? 0 : Math.max(0, Math.floor(this.#now() / 1000 - this.#oldestDue));
  }

  /** Rows due and not yet swept at the last measure, counted up to BACKLOG_COUNT_LIMIT. */
  backlog(): number {
    return this.#backlog;
  }

  /** One batch in the transaction `tx`; undefined when another replica holds the sweep lock. */
  async #sweepBatch(tx: TransactionSql, at: number): Promise<Counts | undefined> {
    const [{ locked }] = await tx`SELECT pg_try_advisory_xact_lock(${SWEEP_LOCK}) AS locked` as unknown as [{ locked: boolean }];
    if (!locked) return undefined;
    const batch = this.#batch;
    const now = Math.floor(at);
    const nowMs = now * 1000;
    // Sent together (pipelined on the transaction's connection); refresh tokens before their families.
    const [accessTokens, revokedAccessTokens, usedAssertionIds, refreshTokens, refreshFamilies, authorizationCodes, portalSessions] = await Promise.all([
      tx`DELETE FROM access_tokens WHERE (app, jti) IN (SELECT app, jti FROM access_tokens WHERE exp <= ${now} LIMIT ${batch}) AND exp <= ${now} RETURNING 1`,
      tx`DELETE FROM revoked_access_tokens WHERE (app, jti) IN (SELECT app, jti FROM revoked_access_tokens WHERE exp <= ${now} LIMIT ${batch}) AND exp <= ${now} RETURNING 1`,
      tx`DELETE FROM used_assertion_ids WHERE (app, jti) IN (SELECT app, jti FROM used_assertion_ids WHERE exp <= ${now} LIMIT ${batch}) AND exp <= ${now} RETURNING 1`,
      tx`DELETE FROM refresh_tokens WHERE (app, id) IN (SELECT app, id FROM refresh_tokens WHERE exp <= ${now} LIMIT ${batch}) AND exp <= ${now} RETURNING 1`,
      tx`DELETE FROM refresh_families WHERE (app, id) IN (SELECT app, id FROM refresh_families WHERE exp <= ${now} LIMIT ${batch}) AND exp <= ${now} RETURNING 1`,
      tx`DELETE FROM authorization_codes WHERE id IN (SELECT id FROM authorization_codes WHERE keep_until <= ${now} LIMIT ${batch}) AND keep_until <= ${now} RETURNING 1`,
      tx`DELETE FROM portal_sessions WHERE id IN (SELECT id FROM portal_sessions WHERE expires_ms <= ${nowMs} LIMIT ${batch}) AND expires_ms <= ${nowMs} RETURNING 1`,
    ]);
    return {
      accessTokens: accessTokens.length,
      revokedAccessTokens: revokedAccessTokens.length,
      usedAssertionIds: usedAssertionIds.length,
      refreshTokens: refreshTokens.length,
      refreshFamilies: refreshFamilies.length,
      authorizationCodes: authorizationCodes.length,
      portalSessions: portalSessions.length,
    };
  }
}

/** A sweeper of the shared database's expired rows (not started). */
export function postgresSweeper(db: SharedDb, options?: PostgresSweeperOptions): PostgresSweeper {
  return new PostgresSweeper(db, options);
}
