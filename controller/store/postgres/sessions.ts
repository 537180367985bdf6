// Portal sign-in sessions on the shared PostgreSQL (issue 13): SessionStore (../sessions.ts) over
// `portal_sessions`, so a session opened through one replica is found through every other and a
// sign-out ends it everywhere. Same semantics as the LMDB store: rows are keyed by the SHA-256 of
// the session id (a dump holds no usable cookie), a new session ends its user's least recently used
// live ones beyond the bound in the same transaction, and a replace never brings back an ended one.
//
// Every method is one statement, one round trip, but `create`, which first takes its user's lock;
// the portal writes last-seen at most once a minute (portal/auth/sessions.ts), so an ordinary page
// costs one lookup. The record is kept whole in `record`; the columns beside it are copies of the
// fields queries filter on.
import { createHash } from 'node:crypto';
import { SESSION_VERSION, type SessionRecord, type SessionStore } from '../sessions.ts';
import type { SharedDb } from './db.ts';

function keyOf(id: string): string {
  return createHash('sha256').update(id, 'utf8').digest('base64url');
}

/** The sessions kept in PostgreSQL's `portal_sessions`. */
export function postgresSessions(db: SharedDb): SessionStore {
  const json = (record: SessionRecord) => db.sql.json(JSON.parse(JSON.stringify(record)));

  return {
    async get(id) {
      const rows = await db.run((sql) => sql`SELECT record FROM portal_sessions WHERE id = ${keyOf(id)}`);
      return (rows[0] as { record: SessionRecord } | undefined)?.record;
    },

    async create(id, record, { now, idleMs, maxPerUser }) {
      // The user's live sessions but the most recently used maxPerUser - 1 end with this insert
      // (ties go by key, as the LMDB store's stable sort has them). The user's sign-ins take turns
      // on a lock of the transaction: under READ COMMITTED two at once (on two replicas) would each
      // count from a snapshot without the other's session and keep one too many, where LMDB's
      // write lock ordered them. The statement after the lock counts what those before it made.
      await db.run((sql) => sql.begin(async (tx) => {
        await tx`SELECT pg_advisory_xact_lock(hashtextextended(${`portal_sessions/${record.user}`}, 0))`;
        await tx`
        WITH beyond AS (
          SELECT id FROM portal_sessions
          WHERE user_name = ${record.user} AND expires_ms > ${now} AND last_seen_ms > ${now - idleMs}
            AND record -> 'v' = ${SESSION_VERSION}::text::jsonb
          ORDER BY last_seen_ms DESC, id DESC
          OFFSET ${Math.max(0, maxPerUser - 1)}
        ), ended AS (
          DELETE FROM portal_sessions WHERE id IN (SELECT id FROM beyond)
        )
        INSERT INTO portal_sessions (id, user_name, expires_ms, last_seen_ms, record)
        VALUES (${keyOf(id)}, ${record.user}, ${record.expiresAt}, ${record.lastSeenAt}, ${json(record)})
        ON CONFLICT (id) DO UPDATE SET user_name = EXCLUDED.user_name, expires_ms = EXCLUDED.expires_ms,
          last_seen_ms = EXCLUDED.last_seen_ms, record = EXCLUDED.record`;
      }));
    },

    async replace(id, record) {
      await db.run((sql) => sql`
        UPDATE portal_sessions SET user_name = ${record.user}, expires_ms = ${record.expiresAt}, last_seen_ms = ${record.lastSeenAt}, record = ${json(record)}
        WHERE id = ${keyOf(id)}`);
    },

    async delete(id) {
      await db.run((sql) => sql`DELETE FROM portal_sessions WHERE id = ${keyOf(id)}`);
    },

    async sweep({ now, idleMs }, batch = 1000) {
      // Not live (../sessions.ts isLive): past its expiry, idle too long, or of another record version.
      let removed = 0;
      for (;;) {
        const rows = await db.run((sql) => sql`
          DELETE FROM portal_sessions WHERE id IN (
            SELECT id FROM portal_sessions
            WHERE expires_ms <= ${now} OR last_seen_ms <= ${now - idleMs} OR record -> 'v' IS DISTINCT FROM ${SESSION_VERSION}::text::jsonb
            LIMIT ${batch})
          RETURNING 1`);
        removed += rows.length;
        if (rows.length < batch) return removed;
      }
    },
  };
}
