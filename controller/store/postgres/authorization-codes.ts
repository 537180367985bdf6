// Authorization codes in the shared PostgreSQL (issue 13): the same `AuthorizationCodes` as
// ../authorization-codes.ts, over the `authorization_codes` table (migrations/001-token-state.sql),
// so a code issued through one replica is redeemed once, through any. The whole record is kept in
// `record` (jsonb); the columns beside it are what statements decide on.
//
// Redemption is one statement: it spends the code (UPDATE … WHERE redeemed_at IS NULL AND exp >
// now) and, in CTEs reading what that UPDATE returned, writes the grant's family, refresh token
// and access token, so the mark and the grant commit together and a replay can never come between
// them and miss a family about to exist. Of concurrent redemptions on any replicas the row lock
// lets exactly one spend the code; a loser waited for the winner's commit, and its statement's
// snapshot still shows the code unspent: it was presented twice, so, as for a code redeemed
// before, a second statement revokes what the winner issued (RFC 6749 section 4.1.2: "If an
// authorization code is used more than once, the authorization server MUST deny the request and
// SHOULD revoke (when possible) all tokens previously issued based on that authorization code").
import type { AuthorizationCodeRecord, AuthorizationCodes, RedeemOutcome } from '../authorization-codes.ts';
import type { SharedDb } from './db.ts';

/** The record as `record` keeps it: the nonce base64url-encoded (`nonce64`), see `atRest`. */
type StoredRecord = Omit<AuthorizationCodeRecord, 'nonce'> & { nonce64?: string };

/**
 * The nonce is whatever the client sent, and jsonb cannot hold U+0000 (PostgreSQL refuses the
 * escape \u0000): kept as is, a nonce holding one would fail the code's issue where LMDB keeps
 * it. So it is kept encoded, and decoded when read.
 */
function atRest(record: AuthorizationCodeRecord): StoredRecord {
  const { nonce, ...rest } = record;
  return nonce === undefined ? rest : { ...rest, nonce64: Buffer.from(nonce, 'utf8').toString('base64url') };
}

function fromRest(stored: StoredRecord): AuthorizationCodeRecord {
  const { nonce64, ...rest } = stored;
  return nonce64 === undefined ? rest : { ...rest, nonce: Buffer.from(nonce64, 'base64url').toString('utf8') };
}

export function postgresAuthorizationCodes(db: SharedDb): AuthorizationCodes {
  /** Revokes what the code's redemption issued: its family and its access token (a tombstone, the record forgotten). */
  const revokeIssued = async (id: string, now: number): Promise<{ found: boolean; revoked: boolean }> => {
    const [row] = await db.run((sql) => sql<{ found: boolean; revoked: boolean }[]>`WITH
      code AS (SELECT record->'issued' AS issued FROM authorization_codes WHERE id = ${id}),
      issued AS (SELECT issued->>'app' AS app, issued->>'jti' AS jti, (issued->>'exp')::bigint AS exp, issued->>'family' AS family
        FROM code WHERE issued IS NOT NULL AND jsonb_typeof(issued) = 'object'),
      family AS (UPDATE refresh_families f SET revoked_at = ${now} FROM issued
        WHERE f.app = issued.app AND f.id = issued.family AND f.revoked_at IS NULL RETURNING 1),
      forgotten AS (DELETE FROM access_tokens a USING issued WHERE a.app = issued.app AND a.jti = issued.jti),
      tombstone AS (INSERT INTO revoked_access_tokens (app, jti, exp) SELECT app, jti, exp FROM issued
        ON CONFLICT (app, jti) DO NOTHING RETURNING 1)
      SELECT EXISTS (SELECT 1 FROM code) AS found, EXISTS (SELECT 1 FROM family) OR EXISTS (SELECT 1 FROM tombstone) AS revoked`);
    return { found: row?.found === true, revoked: row?.revoked === true };
  };

  return {
    async issue(record) {
      await db.run((sql) => sql`INSERT INTO authorization_codes (id, app, sub, exp, keep_until, redeemed_at, record)
        VALUES (${record.id}, ${record.app}, ${record.sub}, ${record.exp}, ${record.keepUntil}, ${record.redeemedAt ?? null}, ${sql.json(atRest(record) as never)})
        ON CONFLICT (id) DO UPDATE SET app = excluded.app, sub = excluded.sub, exp = excluded.exp, keep_until = excluded.keep_until,
          redeemed_at = excluded.redeemed_at, record = excluded.record`);
    },

    async find(id) {
      const [row] = await db.run((sql) => sql<{ record: StoredRecord }[]>`SELECT record FROM authorization_codes WHERE id = ${id}`);
      return row === undefined ? undefined : fromRest(row.record);
    },

    async redeem(id, now, app, { family, refresh, access }): Promise<RedeemOutcome> {
      const issued = { app, jti: access.jti, exp: access.exp, ...(family === undefined ? {} : { family: family.id }) };
      // Kept while what it issued may live, so that a replay is recognised (and revokes them).
      const keep = Math.max(access.exp, refresh?.exp ?? 0, family?.exp ?? 0);
      const [row] = await db.run((sql) => sql<{ redeemed: boolean; found: boolean; exp: string | null; was_redeemed: boolean }[]>`WITH
        code AS (SELECT exp, redeemed_at FROM authorization_codes WHERE id = ${id}),
        spent AS (UPDATE authorization_codes SET redeemed_at = ${now}, keep_until = greatest(keep_until, ${keep}),
            record = record || jsonb_build_object('redeemedAt', ${now}::bigint, 'issued', ${sql.json(issued)}::jsonb, 'keepUntil', greatest(keep_until, ${keep}::bigint))
          WHERE id = ${id} AND redeemed_at IS NULL AND exp > ${now}
          RETURNING id),
        family AS (INSERT INTO refresh_families (app, id, sub, iat, exp)
          SELECT ${app}, ${family?.id ?? null}::text, ${family?.sub ?? null}::text, ${family?.iat ?? null}::bigint, ${family?.exp ?? null}::bigint
          FROM spent WHERE ${family?.id ?? null}::text IS NOT NULL),
        refresh AS (INSERT INTO refresh_tokens (app, id, client_id, sub, scope, iat, exp, family, issued_under)
          SELECT ${app}, ${refresh?.id ?? null}::text, ${refresh?.clientId ?? null}::text, ${refresh?.sub ?? null}::text, ${refresh?.scope ?? null}::text,
            ${refresh?.iat ?? null}::bigint, ${refresh?.exp ?? null}::bigint, ${refresh?.family ?? null}::text, ${refresh?.issuedUnder === undefined ? null : sql.json(refresh?.issuedUnder)}::jsonb
          FROM spent WHERE ${refresh?.id ?? null}::text IS NOT NULL),
        access AS (INSERT INTO access_tokens (app, jti, client_id, sub, scope, aud, iat, exp, family, issued_under)
          SELECT ${app}, ${access.jti}, ${access.clientId}, ${access.sub}, ${access.scope}, ${access.aud}::text[], ${access.iat}, ${access.exp},
            ${access.family ?? null}::text, ${access.issuedUnder === undefined ? null : sql.json(access.issuedUnder)}::jsonb
          FROM spent ON CONFLICT (app, jti) DO NOTHING)
        SELECT EXISTS (SELECT 1 FROM spent) AS redeemed, code.exp IS NOT NULL AS found, code.exp, code.redeemed_at IS NOT NULL AS was_redeemed
        FROM (SELECT 1) AS one LEFT JOIN code ON true`);
      if (row?.redeemed === true) return { outcome: 'redeemed' };
      if (row === undefined || !row.found) return { outcome: 'unknown' };
      if (!row.was_redeemed && Number(row.exp) <= now) return { outcome: 'expired' };
      // Redeemed before, or by a concurrent redemption this one waited for.
      const { found } = await revokeIssued(id, now);
      return found ? { outcome: 'replayed' } : { outcome: 'unknown' };
    },

    async revokeIssued(id, now) {
      return (await revokeIssued(id, now)).revoked;
    },

    async forgetUnredeemed(sub, app) {
      // The partial index on (sub, app) of unredeemed codes: only the person's own are read. A
      // redemption holding a code's row lock finishes first; the code is then redeemed and kept.
      const rows = await db.run((sql) => sql`DELETE FROM authorization_codes WHERE sub = ${sub} AND app = ${app} AND redeemed_at IS NULL RETURNING id`);
      return rows.length;
    },
  };
}
