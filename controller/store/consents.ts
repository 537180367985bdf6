// Remembered consents at rest: which scopes a person let an application have when it signed them in
// through /oauth2/authorize. The portal (controller/portal/consent.ts) decides when a consent
// covers a request and revokes the tokens when one is withdrawn; this module only keeps the
// records, so every worker sees them. The portal sees only `Consents`.
//
// Layout: the `consents` db maps `<user>/<app>` → ConsentRecord. Both are metadata.names (DNS
// labels, never a `/`), so one user's consents are one contiguous range and `list` is a range read.
// A record holds exactly the set the user agreed to last, not the union of every grant: a later
// request for a subset is covered by it, one for a scope outside it asks again, and agreeing then
// replaces it with the new set.
//
// Every method returns a Promise, reads included, as SessionStore's do: over a network database
// each is a round trip. Writes resolve once flushed to disk (a withdrawal must not come back after a crash) and go through
// the store's health, so a full disk refuses with StoreError('store.unwritable').
import type { StoreHandles } from './handles.ts';
import { durableWrite } from './health.ts';

export const CONSENT_VERSION = 1;

export interface ConsentRecord {
  v: typeof CONSENT_VERSION;
  /** The User's metadata.name. */
  user: string;
  /** The Application's metadata.name. */
  app: string;
  /** The scopes agreed to, sorted, without duplicates. */
  scopes: string[];
  /** When (ms since the epoch). */
  grantedAt: number;
  /**
   * The store's cut-off generation when it was given: a removal (or new password) of the user
   * written after it voids it, so a User restored by a revert, or a new person of the same name,
   * inherits nothing (as sessions: controller/oauth/liveness.ts `sessionUserLive`).
   */
  userGeneration: number;
  /**
   * Recorded when a first-party application (`consent: skip`) signed the person in without
   * asking: listed under Authorized applications so it can be withdrawn, but no consent the
   * person gave, so it covers nothing once the application is no longer first-party.
   */
  firstParty?: true;
}

export interface Consents {
  /** The consent `user` gave `app`; undefined when there is none (or in another record version). */
  get(user: string, app: string): Promise<ConsentRecord | undefined>;
  /**
   * Remembers that `user` agreed to exactly `scopes` for `app` at `at` (ms), replacing what was
   * remembered; `firstParty`: signed in without being asked (see ConsentRecord).
   */
  grant(user: string, app: string, scopes: readonly string[], at: number, userGeneration: number, firstParty?: boolean): Promise<ConsentRecord>;
  /** Every consent `user` gave, by application name. */
  list(user: string): Promise<ConsentRecord[]>;
  /** Forgets the consent; false when there was none. Revoking its tokens is the caller's (token state). */
  withdraw(user: string, app: string): Promise<boolean>;
}

function keyOf(user: string, app: string): string {
  return `${user}/${app}`;
}

function current(value: unknown): ConsentRecord | undefined {
  return value !== null && typeof value === 'object' && (value as ConsentRecord).v === CONSENT_VERSION ? (value as ConsentRecord) : undefined;
}

/** The consents kept in the store's `consents` db. */
export function consentStore(store: StoreHandles): Consents {
  const db = store.consents;
  const write = durableWrite(store);
  return {
    async get(user, app) {
      return current(db.get(keyOf(user, app)));
    },

    async grant(user, app, scopes, at, userGeneration, firstParty = false) {
      const record: ConsentRecord = {
        v: CONSENT_VERSION, user, app, scopes: [...new Set(scopes)].sort(), grantedAt: at, userGeneration, ...(firstParty ? { firstParty: true } : {}),
      };
      await write(() => void db.put(keyOf(user, app), record));
      return record;
    },

    async list(user) {
      const out: ConsentRecord[] = [];
      // `/` sorts before every character of a name, and `0` right after it: the range is this user's alone.
      for (const { value } of db.getRange({ start: `${user}/`, end: `${user}0` })) {
        const record = current(value);
        if (record !== undefined) out.push(record);
      }
      return out;
    },

    async withdraw(user, app) {
      const key = keyOf(user, app);
      return write(() => {
        if (db.get(key) === undefined) return false;
        void db.remove(key);
        return true;
      });
    },
  };
}
