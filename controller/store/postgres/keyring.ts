// The signing keyring on the shared PostgreSQL (issue 13): KeyringStore (../keyring.ts) over the
// one-row `signing_keyring` table of migration 001. Every replica reads the same ring; a
// replacement is one statement guarded by the version it was read at (a compare-and-swap), so when
// several replicas rotate at once exactly one write lands and the others, told `false`, read the
// winner's ring again (oauth/signing-keys.ts `maintain`).
//
// Private keys are only ever stored sealed (`sealedPrivateJwk`, encrypted with a key derived from
// the data directory's keys/, which every replica shares and the database never sees): the
// table's CHECK refuses a `privateJwk`, and this module refuses one before it is sent, so a dump
// or a backup of the database cannot sign tokens.
import type { Keyring, KeyringStore } from '../keyring.ts';
import type { SharedDb } from './db.ts';

/** The keyring kept in PostgreSQL's `signing_keyring`; every call is one round trip. */
export function postgresKeyring(db: SharedDb): KeyringStore {
  return {
    async keyring() {
      const rows = await db.run((sql) => sql`SELECT version::text AS version, keyring FROM signing_keyring`);
      const row = rows[0] as { version: string; keyring: Keyring } | undefined;
      // The column is what the compare-and-swap reads: it is the version, whatever the JSON says.
      return row === undefined ? undefined : { ...row.keyring, version: Number(row.version) };
    },

    async replaceKeyring(expectedVersion, keyring) {
      const clear = keyring.keys.find((key) => key.privateJwk !== undefined);
      if (clear !== undefined) {
        // A bug, not an operational condition: signing-keys.ts seals every key before it writes.
        throw new Error(`signing key ${clear.kid} is not sealed: PostgreSQL keeps private keys only encrypted`);
      }
      const ring = db.sql.json(JSON.parse(JSON.stringify(keyring)));
      const rows = await db.run((sql) =>
        expectedVersion === undefined
          // No row yet: of several replicas creating the first ring at once, one inserts.
          ? sql`INSERT INTO signing_keyring (version, keyring) VALUES (${keyring.version}, ${ring}) ON CONFLICT DO NOTHING RETURNING version`
          // The row lock orders concurrent updates; the one that waited re-reads the version and matches nothing.
          : sql`UPDATE signing_keyring SET version = ${keyring.version}, keyring = ${ring} WHERE version = ${expectedVersion} RETURNING version`);
      return rows.length === 1;
    },
  };
}
