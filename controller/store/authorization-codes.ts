// Authorization codes at rest (RFC 6749 section 4.1.2): what a code was issued for, until it is
// redeemed at the token endpoint, and after that, what its redemption issued, so that a replay can
// revoke it. The OAuth server sees only `AuthorizationCodes` (`store.codes`).
//
// Layout: the `authorization-codes` db maps `<sha256(code) base64url>` → AuthorizationCodeRecord.
// The code itself is never stored: a copy of the store (a backup) holds no usable code. Each record
// has an entry in `expiries` (sweeper.ts) at `keepUntil`: the code's own expiry while unused; once
// redeemed, the latest expiry of what it issued, so that a replay is recognised (and revokes them)
// for as long as those tokens could live.
//
// Redemption is one write transaction, committed and flushed before it resolves: it checks that
// the code is unused and unexpired, marks it redeemed, and writes the grant's records (its access
// token, and the refresh token starting its family) with it. Of any number of concurrent
// redemptions of one code exactly one wins; every later one finds it redeemed and, in its own
// transaction, revokes what the first one issued: "If an authorization code is used more than
// once, the authorization server MUST deny the request and SHOULD revoke (when possible) all tokens
// previously issued based on that authorization code" (RFC 6749 section 4.1.2). The grant's records
// and the mark are written together, so a replay can never come between them and miss a family
// that is about to exist.
//
// Every method returns a Promise, as a network database would need a round trip for each.
import { createHash } from 'node:crypto';
import type { StoreHandles } from './handles.ts';
import { durableWrite } from './health.ts';
import { expiryKey } from './sweeper.ts';
import { revokeAccessTokenIn, revokeFamilyIn, writeGrant, type GrantWrite, type IssuedUnder } from './token-state.ts';

export const AUTHORIZATION_CODE_VERSION = 1;

/** What a code was issued for. Times in seconds since the epoch. */
export interface AuthorizationCodeRecord {
  v: typeof AUTHORIZATION_CODE_VERSION;
  /** base64url SHA-256 of the code. */
  id: string;
  /** The application's metadata.name. */
  app: string;
  clientId: string;
  /** The redirect URI of the authorization request, exactly as it was sent. */
  redirectUri: string;
  /** The PKCE S256 challenge (RFC 7636). */
  codeChallenge: string;
  /** `user:<name>`. */
  sub: string;
  /** Space-separated scopes the user granted. */
  scope: string;
  /** The audiences of the Apis behind the scopes when the code was issued. */
  aud: string[];
  nonce?: string;
  /** When the user authenticated. */
  authTime: number;
  iat: number;
  /** The code is refused from this second on. */
  exp: number;
  /** The sweeper deletes the record after this second (see the header). */
  keepUntil: number;
  /** The cut-off generations of the state the authorization read (controller/oauth/liveness.ts). */
  issuedUnder: IssuedUnder;
  redeemedAt?: number;
  /** What the redemption issued: revoked if the code is presented again. */
  issued?: { app: string; jti: string; exp: number; family?: string };
}

export type RedeemOutcome =
  | { outcome: 'redeemed' }
  | { outcome: 'unknown' | 'expired' }
  /** Redeemed before: what that redemption issued is now revoked. */
  | { outcome: 'replayed' };

export interface AuthorizationCodes {
  /** Stores a new code's record. */
  issue(record: AuthorizationCodeRecord): Promise<void>;
  /** The record of the code whose SHA-256 is `id`, redeemed or not. */
  find(id: string): Promise<AuthorizationCodeRecord | undefined>;
  /**
   * Spends the code and writes what it grants (`grant`, for application `app`) in one transaction;
   * `now` in seconds. A code redeemed before is refused, and what it issued revoked.
   */
  redeem(id: string, now: number, app: string, grant: GrantWrite): Promise<RedeemOutcome>;
  /** A code presented again after its redemption: revokes what it issued. False when there was nothing to revoke. */
  revokeIssued(id: string, now: number): Promise<boolean>;
  /**
   * Forgets every code `sub` gave `app` that is not redeemed yet (the person withdrew their
   * consent): presented afterwards, each is unknown. Returns how many were forgotten.
   */
  forgetUnredeemed(sub: string, app: string): Promise<number>;
}

/** The key of a code: its SHA-256, base64url. */
export function authorizationCodeId(code: string): string {
  return createHash('sha256').update(code, 'utf8').digest('base64url');
}

export function authorizationCodes(store: StoreHandles): AuthorizationCodes {
  const db = store.authorizationCodes;
  const durable = durableWrite(store);
  const keep = (record: AuthorizationCodeRecord) => {
    db.put(record.id, record);
    store.expiries.put(expiryKey('authorizationCodes', record.id, record.keepUntil), 0);
  };
  // Inside a write transaction.
  const revoke = (record: AuthorizationCodeRecord, now: number): boolean => {
    const issued = record.issued;
    if (issued === undefined) return false;
    const family = issued.family === undefined ? false : revokeFamilyIn(store, issued.app, issued.family, now);
    const access = revokeAccessTokenIn(store, issued.app, issued.jti, issued.exp);
    return family || access;
  };

  return {
    async issue(record) {
      await durable(() => keep(record));
    },

    find: async (id) => db.get(id),

    redeem(id, now, app, grant) {
      // Inside lmdb's write transaction: no other write interleaves, so the check and the mark are one step.
      return durable((): RedeemOutcome => {
        const record = db.get(id);
        if (record === undefined) return { outcome: 'unknown' };
        if (record.redeemedAt !== undefined) {
          revoke(record, now);
          return { outcome: 'replayed' };
        }
        if (record.exp <= now) return { outcome: 'expired' };
        const access = grant.access;
        const issued = { app, jti: access.jti, exp: access.exp, ...(grant.family === undefined ? {} : { family: grant.family.id }) };
        const keepUntil = Math.max(record.keepUntil, access.exp, grant.refresh?.exp ?? 0, grant.family?.exp ?? 0);
        keep({ ...record, redeemedAt: now, issued, keepUntil });
        writeGrant(store, app, grant);
        return { outcome: 'redeemed' };
      });
    },

    revokeIssued(id, now) {
      return durable(() => {
        const record = db.get(id);
        return record === undefined ? false : revoke(record, now);
      });
    },

    forgetUnredeemed(sub, app) {
      // A scan, in the write transaction that a redemption would also need: a code is either
      // redeemed before it (its tokens exist, for the caller to revoke) or unknown after it.
      // Redeemed codes are kept while their tokens may live, so this reads every sign-in of that
      // period: acceptable for something as rare as a withdrawal; an index by subject would make
      // it read only the person's own.
      return durable(() => {
        const forgotten = [...db.getRange()]
          .map(({ value }) => value)
          .filter((record) => record.redeemedAt === undefined && record.sub === sub && record.app === app);
        for (const record of forgotten) {
          db.remove(record.id);
          store.expiries.remove(expiryKey('authorizationCodes', record.id, record.keepUntil));
        }
        return forgotten.length;
      });
    },
  };
}
