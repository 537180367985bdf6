// Remembered consents in the shared PostgreSQL (issue 13): the same `Consents` as ../consents.ts,
// over the `consents` table (migrations/001-token-state.sql), so a consent given through one
// replica covers the next sign-in through any other. One statement per call; writes resolve once
// committed (synchronous_commit), so a withdrawal does not come back.
import { CONSENT_VERSION, type ConsentRecord, type Consents } from '../consents.ts';
import type { SharedDb } from './db.ts';

interface ConsentRow { user_name: string; app: string; scopes: string[]; granted_ms: string | number; user_generation: string | number; first_party: boolean }

function consentRecord(row: ConsentRow): ConsentRecord {
  return {
    v: CONSENT_VERSION, user: row.user_name, app: row.app, scopes: row.scopes, grantedAt: Number(row.granted_ms), userGeneration: Number(row.user_generation),
    ...(row.first_party ? { firstParty: true } : {}),
  };
}

export function postgresConsents(db: SharedDb): Consents {
  return {
    async get(user, app) {
      const [row] = await db.run((sql) => sql<ConsentRow[]>`SELECT user_name, app, scopes, granted_ms, user_generation, first_party
        FROM consents WHERE user_name = ${user} AND app = ${app}`);
      return row === undefined ? undefined : consentRecord(row);
    },

    async grant(user, app, scopes, at, userGeneration, firstParty = false) {
      const record: ConsentRecord = {
        v: CONSENT_VERSION, user, app, scopes: [...new Set(scopes)].sort(), grantedAt: at, userGeneration, ...(firstParty ? { firstParty: true } : {}),
      };
      // The set agreed to last replaces the one before, as in LMDB.
      await db.run((sql) => sql`INSERT INTO consents (user_name, app, scopes, granted_ms, user_generation, first_party)
        VALUES (${user}, ${app}, ${record.scopes}, ${at}, ${userGeneration}, ${firstParty})
        ON CONFLICT (user_name, app) DO UPDATE SET scopes = excluded.scopes, granted_ms = excluded.granted_ms,
          user_generation = excluded.user_generation, first_party = excluded.first_party`);
      return record;
    },

    async list(user) {
      const rows = await db.run((sql) => sql<ConsentRow[]>`SELECT user_name, app, scopes, granted_ms, user_generation, first_party
        FROM consents WHERE user_name = ${user} ORDER BY app`);
      return rows.map(consentRecord);
    },

    async withdraw(user, app) {
      const rows = await db.run((sql) => sql`DELETE FROM consents WHERE user_name = ${user} AND app = ${app} RETURNING app`);
      return rows.length > 0;
    },
  };
}
