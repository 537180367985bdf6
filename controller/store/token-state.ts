// The token server's state in LMDB: issued access tokens, refresh tokens and their families, used
// client assertion ids and revocations. The OAuth code sees only `TokenState` (the signing keyring
// is `keyring.ts`).
//
// Keys put the application first, so one application's tokens are one contiguous range (listing
// is a range read) and a token can only be found through the application it was issued to:
//   tokens         `<app>/<jti>`                      → AccessTokenRecord
//   refreshTokens  `<app>/r/<sha256(token) base64url>` → RefreshTokenRecord
//                  `<app>/f/<family id>`               → FamilyRecord
//   jtis           `<app>/<assertion jti>`             → expiry (seconds)
//   revocations    `at/<app>/<jti>`                    → the revoked access token's expiry (seconds)
//                  `app/<app>`                         → every token issued up to then is dead (seconds)
//                  `user/<name>`                       → every token of `user:<name>` issued up to then
//                                                        is dead, whatever application holds it (seconds)
//                  `aud/<sha256(audience) base64url>`  → every access token for that audience issued up
//                                                        to then is dead (seconds); hashed, since an
//                                                        audience may be longer than an LMDB key
//                  `scope/<scope>`                     → every token carrying that scope issued up to
//                                                        then is dead (seconds)
//   expiries       `[exp, db code, key]`               → 0, written in the transaction that writes
//                                                        the record, for the sweeper (sweeper.ts)
// Times are seconds since the epoch, like JWT claims.
//
// Durability: refresh rotations, family starts and every revocation resolve only once committed
// and flushed to disk, so not even a machine crash brings back a used or revoked token.
//
// Access token records (kept for listing) are not waited for. They are gathered for a few
// milliseconds and written in one transaction: every commit costs a flush to disk, and with
// lmdb's per-event-turn batching a busy token endpoint made a commit every few requests, which
// cost more CPU than signing the token. A token is active unless revoked (a revocation is a
// durable tombstone that does not need the record), so a record still gathering, or lost with
// the process, only leaves the token unlisted.
//
// Every write goes through the store's health (health.ts): a commit that fails (a full disk)
// rejects with StoreError('store.unwritable') and never takes the process down.
import { createHash } from 'node:crypto';
import { readStoreRebuild } from './check.ts';
import type { StoreHandles } from './handles.ts';
import { durableWrite, storeHealth } from './health.ts';
import { EXPIRY_DB, expiryKey } from './sweeper.ts';

export const TOKEN_STATE_VERSION = 1;

export interface AccessTokenRecord {
  v: typeof TOKEN_STATE_VERSION;
  jti: string;
  clientId: string;
  sub: string;
  scope: string;
  aud: string[];
  iat: number;
  exp: number;
  /** The refresh token family the token came from, if any: revoking the family revokes it. */
  family?: string;
}

export interface RefreshTokenRecord {
  v: typeof TOKEN_STATE_VERSION;
  /** base64url SHA-256 of the token: the token itself is never stored. */
  id: string;
  clientId: string;
  sub: string;
  scope: string;
  iat: number;
  exp: number;
  family: string;
  /** Set when the token was exchanged; presenting it again revokes the family. */
  usedAt?: number;
}

/** One grant: the chain of refresh tokens rotated from a password grant, and the access tokens they gave. */
export interface FamilyRecord {
  v: typeof TOKEN_STATE_VERSION;
  id: string;
  sub: string;
  iat: number;
  /** No token of the family lives past it, so the record may be swept then. */
  exp: number;
  revokedAt?: number;
}

export type RotationOutcome =
  | { outcome: 'rotated' }
  | { outcome: 'unknown' | 'expired' | 'revoked' }
  /** The token had been used before: its family is now revoked. */
  | { outcome: 'reused' };

export interface TokenPage {
  access: AccessTokenRecord[];
  refresh: RefreshTokenRecord[];
  /** Pass back as `after` for the next page; absent on the last page. */
  next?: string;
}

export interface TokenState {
  /** Queues the record; it is written within `recordDelay` ms (see Durability above). */
  recordAccessToken(app: string, record: AccessTokenRecord): void;
  /** Writes the queued access token records now; resolves once they are committed. */
  flushAccessTokens(): Promise<void>;
  accessToken(app: string, jti: string): AccessTokenRecord | undefined;
  /**
   * Revokes the access token until `exp` (seconds), when the tombstone may be swept, and forgets
   * its record. False when it was already revoked.
   */
  revokeAccessToken(app: string, jti: string, exp: number): Promise<boolean>;
  accessTokenRevoked(app: string, jti: string): boolean;
  /** Starts a family with its first refresh token and access token. */
  startFamily(app: string, family: FamilyRecord, refresh: RefreshTokenRecord, access: AccessTokenRecord): Promise<void>;
  refreshToken(app: string, id: string): RefreshTokenRecord | undefined;
  family(app: string, id: string): FamilyRecord | undefined;
  /**
   * Exchanges the refresh token `id` for `next` and `access`, atomically: of any number of
   * concurrent calls with one token, exactly one rotates. `now` in seconds.
   */
  rotateRefreshToken(app: string, id: string, now: number, next: RefreshTokenRecord, access: AccessTokenRecord): Promise<RotationOutcome>;
  revokeFamily(app: string, family: string, now: number): Promise<boolean>;
  /** Tokens of the application issued at or before this time (seconds) are revoked. */
  revokedBefore(app: string): number | undefined;
  /** Revokes every token the application holds now; tokens issued later are not affected. */
  revokeAllBefore(app: string, now: number): Promise<void>;
  /**
   * Tokens of the user `name` (subject `user:<name>`) issued at or before this time (seconds) are
   * revoked: the reconciler marks it when the User is removed or its password changes.
   */
  userRevokedBefore(name: string): number | undefined;
  /**
   * Access tokens for `audience` issued at or before this time (seconds) are revoked: the
   * reconciler marks it when the Api with that audience is removed or takes another audience.
   */
  audienceRevokedBefore(audience: string): number | undefined;
  /**
   * Tokens carrying `scope` issued at or before this time (seconds) are revoked: the reconciler
   * marks it when no Api publishes the scope any more.
   */
  scopeRevokedBefore(scope: string): number | undefined;
  /** Records a client assertion's `jti` until `exp`; false when it was already used and has not expired. */
  useAssertionId(app: string, jti: string, exp: number, now: number): Promise<boolean>;
  /**
   * Since when (ms) the store has recorded every used assertion id: the time of its rebuild from
   * git (`--rebuild-store`), which lost those used before; undefined for a store never rebuilt.
   */
  assertionIdsKnownSince(): number | undefined;
  /** A page of an application's token records, in key order, starting after `after`. */
  listTokens(app: string, options: { limit: number; after?: string }): TokenPage;
  /** Undefined while the store can write; otherwise why it cannot (a full disk), until a write commits again. */
  unwritable(): string | undefined;
}
// `0` sorts right after `/`: `<app>/` … `<app>0` is exactly one application's range.
const rangeOf = (prefix: string) => ({ start: `${prefix}/`, end: `${prefix}0` });

export interface TokenStateOptions {
  /** How long access token records gather before they are written (ms). */
  recordDelay?: number;
  /** Reports a failed write of queued records. */
  onError?: (err: unknown) => void;
}

// Written at once past this many queued records, whatever the delay.
const MAX_QUEUED_RECORDS = 2000;

/**
 * Inside a write transaction: every token `app` was issued up to second `now` is revoked. The
 * reconciler calls it in the transaction that deactivates an application, so the mark never
 * depends on someone presenting a token while the application is inactive.
 */
export function markRevokedBefore(store: StoreHandles, app: string, now: number): void {
  const key = `app/${app}`;
  const before = store.revocations.get(key) as number | undefined;
  if (before === undefined || before < now) store.revocations.put(key, now);
}

/**
 * Inside a write transaction: every token of the user `name` issued up to second `now` is revoked,
 * in every application. The reconciler calls it in the transaction that removes the User or
 * changes its password. The mark is one key per user name, read with one lookup, and is never
 * swept: a later User of the same name (the same person restored by a revert, or another person)
 * starts with none of the old tokens, however long ago they were issued.
 */
export function markUserRevokedBefore(store: StoreHandles, name: string, now: number): void {
  const key = `user/${name}`;
  const before = store.revocations.get(key) as number | undefined;
  if (before === undefined || before < now) store.revocations.put(key, now);
}

/**
 * Inside a write transaction: every access token for `audiences`, and every token carrying
 * `scopes`, issued up to second `now` is revoked, in every application. The reconciler calls it in
 * the transaction that removes an Api, changes its audience or drops scopes from it. One key per
 * audience and per scope, read with one lookup each, never swept: an Api restored by a revert, or
 * another Api given the audience or scope names, starts with none of the old tokens.
 */
export function markGrantRevokedBefore(store: StoreHandles, grant: { audiences: readonly string[]; scopes: readonly string[] }, now: number): void {
  const keys = [...grant.audiences.map(audienceKey), ...grant.scopes.map(scopeKey)];
  for (const key of keys) {
    const before = store.revocations.get(key) as number | undefined;
    if (before === undefined || before < now) store.revocations.put(key, now);
  }
}

function audienceKey(audience: string): string {
  let key = audienceKeys.get(audience);
  if (key === undefined) {
    // Audiences are few (one per Api), and every token request asks for its own: hash each once.
    if (audienceKeys.size >= AUDIENCE_KEYS_KEPT) audienceKeys.clear();
    key = `aud/${createHash('sha256').update(audience, 'utf8').digest('base64url')}`;
    audienceKeys.set(audience, key);
  }
  return key;
}

const AUDIENCE_KEYS_KEPT = 1024;
const audienceKeys = new Map<string, string>();

function scopeKey(scope: string): string {
  return `scope/${scope}`;
}

/** The user's mark (seconds), if any: see `markUserRevokedBefore`. */
export function userRevokedBefore(store: StoreHandles, name: string): number | undefined {
  return store.revocations.get(`user/${name}`) as number | undefined;
}

export function tokenState(store: StoreHandles, options: TokenStateOptions = {}): TokenState {
  const { root, tokens, refreshTokens, jtis, revocations, expiries } = store;
  const health = storeHealth(store);
  const durable = durableWrite(store);
  const recordDelay = options.recordDelay ?? 10;
  const onError = options.onError ?? ((err: unknown) => { throw err; });
  const accessKey = (app: string, jti: string) => `${app}/${jti}`;
  const refreshKey = (app: string, id: string) => `${app}/r/${id}`;
  const familyKey = (app: string, id: string) => `${app}/f/${id}`;
  // Inside a write transaction: the sweeper deletes the record once `exp` has passed (and the
  // record still says so: a family's expiry moves with its rotations, an assertion id is reused).
  const expires = (db: keyof typeof EXPIRY_DB, key: string, exp: number) => expiries.put(expiryKey(db, key, exp), 0);

  let queued: [string, AccessTokenRecord][] = [];
  let timer: NodeJS.Timeout | undefined;
  // The latest batch written: lmdb commits in order, so once it is committed all earlier ones are.
  let lastBatch: Promise<unknown> = Promise.resolve();
  const flushAccessTokens = async (): Promise<void> => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    const batch = queued;
    queued = [];
    if (batch.length > 0) {
      // A failed write is reported, not kept: later flushes (and listings) carry on.
      lastBatch = health.guard(root.transaction(() => {
        for (const [key, record] of batch) {
          tokens.put(key, record);
          expires('tokens', key, record.exp);
        }
      })).then(undefined, onError);
    }
    await lastBatch;
  };

  return {
    recordAccessToken(app, record) {
      queued.push([accessKey(app, record.jti), record]);
      if (queued.length >= MAX_QUEUED_RECORDS) {
        void flushAccessTokens();
      } else if (timer === undefined) {
        timer = setTimeout(() => void flushAccessTokens(), recordDelay);
        timer.unref();
      }
    },

    flushAccessTokens,

    accessToken: (app, jti) => tokens.get(accessKey(app, jti)),

    revokeAccessToken(app, jti, exp) {
      return durable(() => {
        const key = accessKey(app, jti);
        const tombstone = `at/${key}`;
        tokens.remove(key);
        if (revocations.get(tombstone) !== undefined) return false;
        revocations.put(tombstone, exp);
        expires('revocations', tombstone, exp);
        return true;
      });
    },

    accessTokenRevoked: (app, jti) => revocations.get(`at/${accessKey(app, jti)}`) !== undefined,

    async startFamily(app, family, refresh, access) {
      await durable(() => {
        refreshTokens.put(familyKey(app, family.id), family);
        expires('refreshTokens', familyKey(app, family.id), family.exp);
        refreshTokens.put(refreshKey(app, refresh.id), refresh);
        expires('refreshTokens', refreshKey(app, refresh.id), refresh.exp);
        tokens.put(accessKey(app, access.jti), access);
        expires('tokens', accessKey(app, access.jti), access.exp);
      });
    },

    refreshToken: (app, id) => refreshTokens.get(refreshKey(app, id)) as RefreshTokenRecord | undefined,

    family: (app, id) => refreshTokens.get(familyKey(app, id)) as FamilyRecord | undefined,

    rotateRefreshToken(app, id, now, next, access) {
      // Runs inside lmdb's write transaction: reads see every earlier committed rotation, and no
      // other write interleaves, so the usedAt check and its update are one atomic step.
      return durable((): RotationOutcome => {
        const presented = refreshTokens.get(refreshKey(app, id)) as RefreshTokenRecord | undefined;
        if (presented === undefined) return { outcome: 'unknown' };
        if (presented.exp <= now) return { outcome: 'expired' };
        const family = refreshTokens.get(familyKey(app, presented.family)) as FamilyRecord | undefined;
        if (family === undefined || family.revokedAt !== undefined) return { outcome: 'revoked' };
        if (presented.usedAt !== undefined) {
          // RFC 9700 section 4.14.2: "If a refresh token is compromised and subsequently used by
          // both the attacker and the legitimate client, one of them will present an invalidated
          // refresh token, which will inform the authorization server of the breach." The family
          // goes: every refresh token and every access token issued from it.
          refreshTokens.put(familyKey(app, family.id), { ...family, revokedAt: now });
          return { outcome: 'reused' };
        }
        // The used token is kept until it expires, to recognise a replay.
        refreshTokens.put(refreshKey(app, id), { ...presented, usedAt: now });
        refreshTokens.put(refreshKey(app, next.id), next);
        expires('refreshTokens', refreshKey(app, next.id), next.exp);
        tokens.put(accessKey(app, access.jti), access);
        expires('tokens', accessKey(app, access.jti), access.exp);
        const exp = Math.max(family.exp, next.exp, access.exp);
        if (exp !== family.exp) {
          refreshTokens.put(familyKey(app, family.id), { ...family, exp });
          expires('refreshTokens', familyKey(app, family.id), exp);
        }
        return { outcome: 'rotated' };
      });
    },

    revokeFamily(app, id, now) {
      return durable(() => {
        const family = refreshTokens.get(familyKey(app, id)) as FamilyRecord | undefined;
        if (family === undefined || family.revokedAt !== undefined) return false;
        refreshTokens.put(familyKey(app, id), { ...family, revokedAt: now });
        return true;
      });
    },

    revokedBefore: (app) => revocations.get(`app/${app}`) as number | undefined,

    revokeAllBefore(app, now) {
      return durable(() => markRevokedBefore(store, app, now));
    },

    userRevokedBefore: (name) => userRevokedBefore(store, name),

    audienceRevokedBefore: (audience) => revocations.get(audienceKey(audience)) as number | undefined,

    scopeRevokedBefore: (scope) => revocations.get(scopeKey(scope)) as number | undefined,

    assertionIdsKnownSince() {
      const rebuilt = readStoreRebuild(store);
      const at = rebuilt === undefined ? Number.NaN : Date.parse(rebuilt.at);
      return Number.isNaN(at) ? undefined : at;
    },

    useAssertionId(app, jti, exp, now) {
      return durable(() => {
        const key = accessKey(app, jti);
        const until = jtis.get(key);
        if (until !== undefined && until > now) return false;
        jtis.put(key, exp);
        expires('jtis', key, exp);
        return true;
      });
    },

    listTokens(app, { limit, after }) {
      const page: TokenPage = { access: [], refresh: [] };
      // One cursor over two ranges: `a:<jti>` within access tokens, then `r:<id>` within refresh
      // tokens. `next` names the last record returned; the next page starts after it.
      const [kind, from] = after === undefined ? ['a', undefined] : [after.slice(0, 1), after.slice(2)];
      let last = '';
      if (kind === 'a') {
        const range = rangeOf(app);
        const start = from === undefined ? range.start : `${accessKey(app, from)}\u0000`;
        for (const { value: record } of tokens.getRange({ ...range, start, limit: limit + 1 })) {
          if (page.access.length === limit) {
            page.next = last;
            return page;
          }
          page.access.push(record);
          last = `a:${record.jti}`;
        }
      }
      const range = rangeOf(`${app}/r`);
      const start = kind === 'r' && from !== undefined ? `${refreshKey(app, from)}\u0000` : range.start;
      const room = limit - page.access.length;
      for (const { value } of refreshTokens.getRange({ ...range, start, limit: room + 1 })) {
        const record = value as RefreshTokenRecord;
        if (page.refresh.length === room) {
          page.next = last;
          return page;
        }
        page.refresh.push(record);
        last = `r:${record.id}`;
      }
      return page;
    },

    unwritable: () => health.problem(),
  };
}
