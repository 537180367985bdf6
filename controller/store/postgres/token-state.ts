// Token state in the shared PostgreSQL (issue 13): the same `TokenState` as ../token-state.ts, over
// the tables of migrations/001-token-state.sql, so every replica sees one set of tokens. Each call
// is one round trip through `db.run` (a single statement; CTEs where a decision and its writes must
// be one step), except the reuse of a spent refresh token, whose family revocation is a second.
//
// Atomicity comes from row locks, not from a process-wide write lock as in LMDB: a rotation locks
// the family row (SELECT … FOR UPDATE) and then updates the refresh token only WHERE used_at IS
// NULL; under READ COMMITTED, a rotation that waited for another re-reads both rows as committed
// and finds the token used, so of any number of concurrent rotations on any replicas exactly one
// rotates. The statement's own snapshot (taken before it waited) tells a loser what it presented:
// unused then means it lost a race with another holder of the same token, which is a reuse.
//
// Durability: PostgreSQL's default synchronous_commit, so every awaited write is on the server's
// disk before it resolves. That includes access token records, which a grant awaits before it
// answers (every token is recorded, so listable, before its client has it), without a round trip
// each: a group commit. The records of the grants that arrive in one turn, or while a batch is in
// flight, go in the next batch, one statement; under load a batch carries many tokens, alone it
// carries one and costs no waiting. A batch that fails rejects every grant waiting on it (503):
// no token whose record was not committed is answered.
//
// Cut-offs are the replica's own, read synchronously from its LMDB (`options.cutOffs`), and
// `unwritable()` answers from memory: the database's reachability as the last round trip found it.
import { createHash } from 'node:crypto';
import type { AccessTokenRecord, AccessTokenState, CutOffs, FamilyRecord, RefreshTokenRecord, RefreshTokenWithFamily, RotationOutcome, TokenPage, TokenState } from '../token-state.ts';
import type { SharedDb } from './db.ts';

export interface PostgresTokenStateOptions {
  /** The replica's cut-offs (its LMDB), passed through unchanged. */
  cutOffs: CutOffs;
  /** How long access token records gather before a batch when none is in flight (ms; default 0, the next turn). */
  recordDelay?: number;
  /** Reports a failed write of queued records (the grants waiting for it also reject with it). */
  onError?: (err: unknown) => void;
}

// Sent at once past this many reads asked in one turn of the event loop.
const MAX_BATCHED_READS = 500;

/**
 * Reads asked within one turn of the event loop (the requests that arrived together) go to the
 * server as one statement, `read(keys)`, answering each key in its position: one round trip for
 * all of them. None waits for another: the statement leaves in the next turn, after the requests
 * that asked, so it reads what was committed before each of them arrived (a revocation answered
 * before an introspection was asked is seen by it).
 */
function batchedReads<K, R>(read: (keys: K[]) => Promise<R[]>): (key: K) => Promise<R> {
  let pending: { key: K; resolve(result: R): void; reject(error: unknown): void }[] = [];
  const send = () => {
    const batch = pending;
    pending = [];
    if (batch.length === 0) return;
    read(batch.map(({ key }) => key)).then(
      (results) => batch.forEach(({ resolve }, i) => resolve(results[i]!)),
      (error: unknown) => batch.forEach(({ reject }) => reject(error)),
    );
  };
  return (key) => new Promise<R>((resolve, reject) => {
    pending.push({ key, resolve, reject });
    if (pending.length === 1) setImmediate(send);
    else if (pending.length >= MAX_BATCHED_READS) send();
  });
}

/** Columns of access_tokens and refresh_tokens as the client returns them (bigint as a string). */
type Bigint = string | number;
interface AccessRow {
  jti: string; client_id: string; sub: string; scope: string; aud: string[]; iat: Bigint; exp: Bigint;
  family: string | null; issued_under: AccessTokenRecord['issuedUnder'] | null;
}
interface RefreshRow {
  id: string; client_id: string; sub: string; scope: string; iat: Bigint; exp: Bigint; family: string;
  used_at: Bigint | null; issued_under: RefreshTokenRecord['issuedUnder'] | null;
}
interface FamilyRow { id: string; sub: string; iat: Bigint; exp: Bigint; revoked_at: Bigint | null }
/** A row of a LEFT JOIN that found nothing: every column null. */
type Nullable<T> = { [K in keyof T]: T[K] | null };

// Rows back into the records LMDB keeps: absent fields stay absent, not null.
function accessRecord(row: AccessRow): AccessTokenRecord {
  return {
    v: 1, jti: row.jti, clientId: row.client_id, sub: row.sub, scope: row.scope, aud: row.aud, iat: Number(row.iat), exp: Number(row.exp),
    ...(row.family === null ? {} : { family: row.family }),
    ...(row.issued_under === null ? {} : { issuedUnder: row.issued_under }),
  };
}

function refreshRecord(row: RefreshRow): RefreshTokenRecord {
  return {
    v: 1, id: row.id, clientId: row.client_id, sub: row.sub, scope: row.scope, iat: Number(row.iat), exp: Number(row.exp), family: row.family,
    ...(row.used_at === null ? {} : { usedAt: Number(row.used_at) }),
    ...(row.issued_under === null ? {} : { issuedUnder: row.issued_under }),
  };
}

function familyRecord(row: FamilyRow): FamilyRecord {
  return { v: 1, id: row.id, sub: row.sub, iat: Number(row.iat), exp: Number(row.exp), ...(row.revoked_at === null ? {} : { revokedAt: Number(row.revoked_at) }) };
}

/** A family's columns beside a token's, as `FAMILY_COLUMNS` names them (all null when there is no family row). */
interface JoinedFamily { family_id: string | null; family_sub: string; family_iat: Bigint; family_exp: Bigint; family_revoked_at: Bigint | null }
const joinedFamily = (row: JoinedFamily): FamilyRecord | undefined => (row.family_id === null ? undefined : familyRecord({
  id: row.family_id, sub: row.family_sub, iat: row.family_iat, exp: row.family_exp, revoked_at: row.family_revoked_at,
}));

/** An access token record as a row of access_tokens, for jsonb_to_recordset (batched inserts). */
function accessRow(app: string, record: AccessTokenRecord) {
  return {
    app, jti: record.jti, client_id: record.clientId, sub: record.sub, scope: record.scope, aud: record.aud, iat: record.iat, exp: record.exp,
    family: record.family ?? null, issued_under: record.issuedUnder ?? null,
  };
}

export function postgresTokenState(db: SharedDb, options: PostgresTokenStateOptions): TokenState {
  const recordDelay = options.recordDelay ?? 0;
  // Never throw from a timer: a failed batch must not take the process down.
  const onError = options.onError ?? ((err: unknown) => console.error(`mergekey: access token records not written: ${err instanceof Error ? err.message : String(err)}`));

  // Keyed, so that this process finds a record it is still gathering (liveness reads it).
  let queued = new Map<string, { app: string; record: AccessTokenRecord }>();
  // The grants waiting for the queued records to commit.
  let waiting: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  let timer: NodeJS.Timeout | undefined;
  // The one batch in flight: while it is, new records gather for the next (a group commit).
  let writing: Promise<void> | undefined;
  const keyOf = (app: string, jti: string) => `${app}/${jti}`;
  // When migration 1 was applied (ms), once read.
  let knownSince: number | undefined;

  // One statement for the whole batch: its rows travel as one jsonb parameter.
  const writeBatch = (batch: { app: string; record: AccessTokenRecord }[]) =>
    db.run((sql) => sql`INSERT INTO access_tokens (app, jti, client_id, sub, scope, aud, iat, exp, family, issued_under)
      SELECT app, jti, client_id, sub, scope, aud, iat, exp, family, issued_under
      FROM jsonb_to_recordset(${sql.json(batch.map(({ app, record }) => accessRow(app, record)))}::jsonb)
        AS r(app text, jti text, client_id text, sub text, scope text, aud text[], iat bigint, exp bigint, family text, issued_under jsonb)
      ON CONFLICT (app, jti) DO NOTHING`);

  // What introspection and revocation read of an access token, batched (batchedReads): each key
  // with the family of its record if still gathering here ('' for none), numbered by position.
  // Each key is looked up by its primary key (LATERAL … LIMIT 1): however few keys the planner
  // expects from unnest and however small a table looked when the plan was cached, never a scan.
  const readAccessTokenStates = batchedReads<{ app: string; jti: string; gathering: AccessTokenRecord | undefined }, AccessTokenState>(async (keys) => {
    const rows = await db.run((sql) => sql<(Nullable<AccessRow> & JoinedFamily & { revoked: boolean })[]>`SELECT
        a.jti, a.client_id, a.sub, a.scope, a.aud, a.iat, a.exp, a.family, a.issued_under,
        EXISTS (SELECT 1 FROM revoked_access_tokens r WHERE r.app = k.app AND r.jti = k.jti) AS revoked,
        f.id AS family_id, f.sub AS family_sub, f.iat AS family_iat, f.exp AS family_exp, f.revoked_at AS family_revoked_at
      FROM unnest(${keys.map((k) => k.app)}::text[], ${keys.map((k) => k.jti)}::text[], ${keys.map((k) => k.gathering?.family ?? '')}::text[])
        WITH ORDINALITY AS k(app, jti, family_hint, n)
      LEFT JOIN LATERAL (SELECT * FROM access_tokens WHERE app = k.app AND jti = k.jti LIMIT 1) a ON true
      LEFT JOIN LATERAL (SELECT * FROM refresh_families WHERE app = k.app AND id = COALESCE(a.family, NULLIF(k.family_hint, '')) LIMIT 1) f ON true
      ORDER BY k.n`);
    return rows.map((row, i) => ({
      record: keys[i]!.gathering ?? (row.jti === null ? undefined : accessRecord(row as AccessRow)),
      revoked: row.revoked,
      family: joinedFamily(row),
    }));
  });

  // What the refresh grant reads of a refresh token, batched likewise.
  const readRefreshTokens = batchedReads<{ app: string; id: string }, RefreshTokenWithFamily | undefined>(async (keys) => {
    const rows = await db.run((sql) => sql<(Nullable<RefreshRow> & JoinedFamily)[]>`SELECT
        r.id, r.client_id, r.sub, r.scope, r.iat, r.exp, r.family, r.used_at, r.issued_under,
        f.id AS family_id, f.sub AS family_sub, f.iat AS family_iat, f.exp AS family_exp, f.revoked_at AS family_revoked_at
      FROM unnest(${keys.map((k) => k.app)}::text[], ${keys.map((k) => k.id)}::text[]) WITH ORDINALITY AS k(app, id, n)
      LEFT JOIN LATERAL (SELECT * FROM refresh_tokens WHERE app = k.app AND id = k.id LIMIT 1) r ON true
      LEFT JOIN LATERAL (SELECT * FROM refresh_families WHERE app = k.app AND id = r.family LIMIT 1) f ON true
      ORDER BY k.n`);
    return rows.map((row) => (row.id === null ? undefined : { record: refreshRecord(row as RefreshRow), family: joinedFamily(row) }));
  });

  const startBatch = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (writing !== undefined || queued.size === 0) return;
    const batch = [...queued.values()];
    const waiters = waiting;
    queued = new Map();
    waiting = [];
    writing = writeBatch(batch).then(
      () => waiters.forEach((waiter) => waiter.resolve()),
      (err: unknown) => {
        // Each grant answers 503 with it; the log hears it once.
        onError(err);
        waiters.forEach((waiter) => waiter.reject(err));
      },
    ).finally(() => {
      writing = undefined;
      // What gathered meanwhile goes at once: the next batch of the group commit.
      if (queued.size > 0) startBatch();
    });
  };

  const flushAccessTokens = async (): Promise<void> => {
    while (writing !== undefined || queued.size > 0) {
      startBatch();
      await writing?.catch(() => undefined);
    }
  };

  return {
    recordAccessToken(app, record) {
      queued.set(keyOf(app, record.jti), { app, record });
      const committed = new Promise<void>((resolve, reject) => waiting.push({ resolve, reject }));
      if (writing === undefined && timer === undefined) {
        timer = setTimeout(startBatch, recordDelay);
        timer.unref();
      }
      return committed;
    },

    flushAccessTokens,

    async accessToken(app, jti) {
      const gathering = queued.get(keyOf(app, jti));
      if (gathering !== undefined) return gathering.record;
      const [row] = await db.run((sql) => sql<AccessRow[]>`SELECT jti, client_id, sub, scope, aud, iat, exp, family, issued_under
        FROM access_tokens WHERE app = ${app} AND jti = ${jti}`);
      return row === undefined ? undefined : accessRecord(row);
    },

    async revokeAccessToken(app, jti, exp) {
      // A record still gathering here would otherwise be written after its own revocation.
      queued.delete(keyOf(app, jti));
      const [row] = await db.run((sql) => sql<{ revoked: boolean }[]>`WITH
        forgotten AS (DELETE FROM access_tokens WHERE app = ${app} AND jti = ${jti}),
        tombstone AS (INSERT INTO revoked_access_tokens (app, jti, exp) VALUES (${app}, ${jti}, ${exp}) ON CONFLICT (app, jti) DO NOTHING RETURNING 1)
        SELECT EXISTS (SELECT 1 FROM tombstone) AS revoked`);
      return row?.revoked === true;
    },

    async accessTokenRevoked(app, jti) {
      const [row] = await db.run((sql) => sql<{ revoked: boolean }[]>`SELECT EXISTS (SELECT 1 FROM revoked_access_tokens WHERE app = ${app} AND jti = ${jti}) AS revoked`);
      return row?.revoked === true;
    },

    accessTokenState: (app, jti) => readAccessTokenStates({ app, jti, gathering: queued.get(keyOf(app, jti))?.record }),

    async startFamily(app, family, refresh, access) {
      await db.run((sql) => sql`WITH
        family AS (INSERT INTO refresh_families (app, id, sub, iat, exp) VALUES (${app}, ${family.id}, ${family.sub}, ${family.iat}, ${family.exp})),
        refresh AS (INSERT INTO refresh_tokens (app, id, client_id, sub, scope, iat, exp, family, issued_under)
          VALUES (${app}, ${refresh.id}, ${refresh.clientId}, ${refresh.sub}, ${refresh.scope}, ${refresh.iat}, ${refresh.exp}, ${refresh.family}, ${refresh.issuedUnder === undefined ? null : sql.json(refresh.issuedUnder)}))
        INSERT INTO access_tokens (app, jti, client_id, sub, scope, aud, iat, exp, family, issued_under)
          VALUES (${app}, ${access.jti}, ${access.clientId}, ${access.sub}, ${access.scope}, ${access.aud}, ${access.iat}, ${access.exp}, ${access.family ?? null}, ${access.issuedUnder === undefined ? null : sql.json(access.issuedUnder)})
          ON CONFLICT (app, jti) DO NOTHING`);
    },

    async refreshToken(app, id) {
      const [row] = await db.run((sql) => sql<RefreshRow[]>`SELECT id, client_id, sub, scope, iat, exp, family, used_at, issued_under
        FROM refresh_tokens WHERE app = ${app} AND id = ${id}`);
      return row === undefined ? undefined : refreshRecord(row);
    },

    async family(app, id) {
      const [row] = await db.run((sql) => sql<FamilyRow[]>`SELECT id, sub, iat, exp, revoked_at FROM refresh_families WHERE app = ${app} AND id = ${id}`);
      return row === undefined ? undefined : familyRecord(row);
    },

    refreshTokenWithFamily: (app, id) => readRefreshTokens({ app, id }),

    async rotateRefreshToken(app, id, now, next, access): Promise<RotationOutcome> {
      const exp = Math.max(next.exp, access.exp);
      // `presented` reads the statement's snapshot: what the token and its family were before
      // this statement waited for any lock. `live` locks the family unless revoked; `used` spends
      // the token only if still unused and unexpired once that lock is held; the rest is written
      // only when it did.
      const [row] = await db.run((sql) => sql<{ rotated: boolean; found: boolean; exp: Bigint | null; used_at: Bigint | null; family_live: boolean }[]>`WITH
        presented AS (
          SELECT t.exp, t.used_at, (f.id IS NOT NULL AND f.revoked_at IS NULL) AS family_live
          FROM refresh_tokens t LEFT JOIN refresh_families f ON f.app = t.app AND f.id = t.family
          WHERE t.app = ${app} AND t.id = ${id}),
        live AS (
          SELECT f.id FROM refresh_families f
          WHERE f.app = ${app} AND f.id = (SELECT family FROM refresh_tokens WHERE app = ${app} AND id = ${id}) AND f.revoked_at IS NULL
          FOR UPDATE),
        used AS (
          UPDATE refresh_tokens t SET used_at = ${now} FROM live
          WHERE t.app = ${app} AND t.id = ${id} AND t.family = live.id AND t.used_at IS NULL AND t.exp > ${now}
          RETURNING t.family),
        grown AS (UPDATE refresh_families f SET exp = ${exp} FROM used WHERE f.app = ${app} AND f.id = used.family AND f.exp < ${exp}),
        refresh AS (INSERT INTO refresh_tokens (app, id, client_id, sub, scope, iat, exp, family, issued_under)
          SELECT ${app}, ${next.id}, ${next.clientId}, ${next.sub}, ${next.scope}, ${next.iat}, ${next.exp}, ${next.family}, ${next.issuedUnder === undefined ? null : sql.json(next.issuedUnder)}::jsonb FROM used),
        access AS (INSERT INTO access_tokens (app, jti, client_id, sub, scope, aud, iat, exp, family, issued_under)
          SELECT ${app}, ${access.jti}, ${access.clientId}, ${access.sub}, ${access.scope}, ${access.aud}::text[], ${access.iat}, ${access.exp}, ${access.family ?? null}, ${access.issuedUnder === undefined ? null : sql.json(access.issuedUnder)}::jsonb FROM used
          ON CONFLICT (app, jti) DO NOTHING)
        SELECT EXISTS (SELECT 1 FROM used) AS rotated, presented.exp IS NOT NULL AS found, presented.exp, presented.used_at, coalesce(presented.family_live, false) AS family_live
        FROM (SELECT 1) AS one LEFT JOIN presented ON true`);
      if (row?.rotated === true) return { outcome: 'rotated' };
      if (row === undefined || !row.found) return { outcome: 'unknown' };
      if (Number(row.exp) <= now) return { outcome: 'expired' };
      if (!row.family_live) return { outcome: 'revoked' };
      // Used before, or spent by a concurrent rotation while this one waited: either way a second
      // holder presented it. RFC 9700 section 4.14.2: "If a refresh token is compromised and
      // subsequently used by both the attacker and the legitimate client, one of them will present
      // an invalidated refresh token, which will inform the authorization server of the breach."
      // The family goes; whoever revokes it reports the reuse, the others find it revoked.
      const [family] = await db.run((sql) => sql`UPDATE refresh_families f SET revoked_at = ${now}
        FROM refresh_tokens t WHERE t.app = ${app} AND t.id = ${id} AND f.app = t.app AND f.id = t.family AND f.revoked_at IS NULL
        RETURNING f.id`);
      return family === undefined ? { outcome: 'revoked' } : { outcome: 'reused' };
    },

    async revokeFamily(app, id, now) {
      const rows = await db.run((sql) => sql`UPDATE refresh_families SET revoked_at = ${now} WHERE app = ${app} AND id = ${id} AND revoked_at IS NULL RETURNING id`);
      return rows.length > 0;
    },

    cutOffs: options.cutOffs,

    async useAssertionId(app, jti, exp, now) {
      // Accepted when new, or when the id's earlier use has expired; the conflict's row lock
      // makes concurrent uses on any replicas take turns, so exactly one is accepted.
      // Kept as its SHA-256: the id is whatever the client signed, and text cannot hold U+0000.
      const kept = createHash('sha256').update(jti, 'utf8').digest('base64url');
      const rows = await db.run((sql) => sql`INSERT INTO used_assertion_ids (app, jti, exp) VALUES (${app}, ${kept}, ${exp})
        ON CONFLICT (app, jti) DO UPDATE SET exp = excluded.exp WHERE used_assertion_ids.exp <= ${now}
        RETURNING 1`);
      return rows.length > 0;
    },

    async assertionIdsKnownSince() {
      // Ids used before the shared database existed (in a replica's LMDB) are unknown to it. The
      // time never changes for a database: read once, not on every client assertion.
      if (knownSince === undefined) {
        const [row] = await db.run((sql) => sql<{ at: number }[]>`SELECT floor(extract(epoch FROM applied_at) * 1000)::float8 AS at FROM schema_migrations WHERE version = 1`);
        knownSince = row?.at;
      }
      return knownSince;
    },

    async listTokens(app, { limit, after }) {
      // One cursor over two ranges, as in LMDB: `a:<jti>` within access tokens, then `r:<id>`
      // within refresh tokens; `next` names the last record returned. One statement reads at most
      // limit + 1 of each, in key order (identifiers collate "C": LMDB's byte order).
      const [kind, from] = after === undefined ? ['a', null] : [after.slice(0, 1), after.slice(2)];
      const rows = await db.run((sql) => sql<(AccessRow & { kind: 'a' | 'r'; key: string; used_at: Bigint | null })[]>`
        (SELECT 'a' AS kind, jti AS key, client_id, sub, scope, aud, iat, exp, family, NULL::bigint AS used_at, issued_under
          FROM access_tokens WHERE ${kind} = 'a' AND app = ${app} AND (${from}::text IS NULL OR jti > ${from}::text)
          ORDER BY jti LIMIT ${limit + 1})
        UNION ALL
        (SELECT 'r' AS kind, id AS key, client_id, sub, scope, NULL::text[] AS aud, iat, exp, family, used_at, issued_under
          FROM refresh_tokens WHERE app = ${app} AND (${kind} <> 'r' OR ${from}::text IS NULL OR id > ${from}::text)
          ORDER BY id LIMIT ${limit + 1})
        ORDER BY kind, key`);
      const page: TokenPage = { access: [], refresh: [] };
      let last = '';
      for (const row of rows) {
        if (page.access.length + page.refresh.length === limit) {
          page.next = last;
          return page;
        }
        if (row.kind === 'a') {
          page.access.push(accessRecord({ ...row, jti: row.key }));
          last = `a:${row.key}`;
        } else {
          page.refresh.push(refreshRecord({ ...row, id: row.key, family: row.family ?? '' }));
          last = `r:${row.key}`;
        }
      }
      return page;
    },

    unwritable: () => db.unavailable(),
  };
}
