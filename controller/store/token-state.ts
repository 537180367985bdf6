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
//                  `cut-off-generation`                → the store's cut-off generation (a counter)
//                  `app/<app>`                         → CutOff: the application's last deactivation
//                  `user/<name>`                       → CutOff: the user's last removal or change of
//                                                        password (or creation), whatever application
//                                                        holds its tokens
//                  `aud/<sha256(audience) base64url>`  → CutOff: the audience's last withdrawal; hashed,
//                                                        since an audience may be longer than an LMDB key
//                  `scope/<scope>`                     → CutOff: the scope's last withdrawal
//   expiries       `[exp, db code, key]`               → 0, written in the transaction that writes
//                                                        the record, for the sweeper (sweeper.ts)
// Times are seconds since the epoch, like JWT claims, except the keyring's and a cut-off's `at`
// (milliseconds).
//
// Cut-offs (what liveness.ts in controller/oauth reads): the reconciler's apply writes them, and
// nothing else does, in the transaction that deactivates an application, removes a User or
// changes its password, or withdraws an Api's audience or scopes. Each write moves the store's
// cut-off generation on by one and records it in the cut-off; a token records the generation its
// issuer read together with the state it relied on (`issuedUnder`), so "issued from state older
// than the cut-off" is a comparison of two counters: no clock, no whole seconds, no wait. Cut-offs are never
// swept: an application reactivated, a User restored or an Api published again starts with none
// of the old tokens. A store written before generations holds whole-second numbers under these
// keys (read as generation 0, `at` the last millisecond of that second) and tokens without
// `issuedUnder`; both are judged by time, as that release judged them.
//
// Durability: refresh rotations, family starts and every revocation resolve only once committed
// and flushed to disk, so not even a machine crash brings back a used or revoked token.
//
// Access token records (kept for listing) are not waited for. They are gathered for a few
// milliseconds and written in one transaction: every commit costs a flush to disk, and with
// lmdb's per-event-turn batching a busy token endpoint made a commit every few requests, which
// cost more CPU than signing the token. A token is active unless revoked (a revocation is a
// durable tombstone that does not need the record) or cut off, so a record still gathering in
// another process, or lost with the process, only leaves the token unlisted, and judged against
// the cut-offs by its issue time rather than its generations (controller/oauth/liveness.ts).
//
// Every write goes through the store's health (health.ts): a commit that fails (a full disk)
// rejects with StoreError('store.unwritable') and never takes the process down.
//
// Shaped for a second implementation on a network database (issue 13: PostgreSQL): every lookup of
// a token's own state (a record, a tombstone, a family, a page of the listing, since when the used
// assertion ids are known) returns a Promise, as a round trip would there; here each is a
// memory-mapped read that resolves at once. The client_credentials and password grants await none
// of them (an access token's record is queued). `cutOffs` and `unwritable` stay synchronous: the
// grants and the liveness rule read a cut-off in the same synchronous step as the configuration
// record or generation it is compared with (controller/oauth/liveness.ts), and the token endpoint
// asks `unwritable` before every grant. A network implementation reads its cut-offs from the
// replica's LMDB too: with several replicas the reconciler's apply takes them, under the one
// generation counter of all replicas, from the shared database (config-head.ts) and writes them
// here in the transaction that applies the commit (`writeSettledCutOffs`), so a replica serves a
// commit's configuration with its cut-offs. It answers `unwritable` from memory as well: the
// outcome of its latest write and the state of its connections, never a query per call.
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
  /** The cut-off generations of the state it was issued from; absent in records of an older release. */
  issuedUnder?: IssuedUnder;
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
  /** The cut-off generations of the state it was issued from; absent in records of an older release. */
  issuedUnder?: IssuedUnder;
}

/**
 * The store's cut-off generation at each read a token's issue relied on: a cut-off written at a
 * later generation ends the token (controller/oauth/liveness.ts).
 */
export interface IssuedUnder {
  /** When the application record was read (client authentication). */
  application: number;
  /** When the Apis were read, from which the token's audiences and scopes came. */
  grants: number;
  /** When the user record was read (the password grant) or the user's cut-offs last checked (a refresh); a user's tokens only. */
  user?: number;
}

/** Every token of its target issued from state read at an earlier generation is dead. */
export interface CutOff {
  /** The cut-off generation it was written at; 0 for a mark written before generations existed. */
  generation: number;
  /** When it was written (ms): judges the tokens that carry no `issuedUnder`. */
  at: number;
}

/** What cut-offs a transaction of the reconciler writes: names of applications and users, audiences, scope names. */
export interface CutOffTargets {
  applications?: readonly string[];
  users?: readonly string[];
  audiences?: readonly string[];
  scopes?: readonly string[];
}

/** Reads cut-offs; safe from any process that opened the store. */
export interface CutOffs {
  /** The store's cut-off generation now: 0 until the first cut-off is written. */
  generation(): number;
  application(name: string): CutOff | undefined;
  user(name: string): CutOff | undefined;
  audience(audience: string): CutOff | undefined;
  scope(scope: string): CutOff | undefined;
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

/**
 * What liveness reads of an access token, read at once (`TokenState.accessTokenState`): one round
 * trip on a shared database instead of three (issue 13, introspection).
 */
export interface AccessTokenState {
  /** As `accessToken`. */
  record: AccessTokenRecord | undefined;
  /** As `accessTokenRevoked`. */
  revoked: boolean;
  /** The family the record names, as `family`; undefined without a record, a family, or when the family is gone. */
  family: FamilyRecord | undefined;
}

/** A refresh token's record and its family's, read at once (`TokenState.refreshTokenWithFamily`). */
export interface RefreshTokenWithFamily {
  record: RefreshTokenRecord;
  /** Undefined when the family is gone. */
  family: FamilyRecord | undefined;
}

export interface TokenState {
  /**
   * Records an access token for listing; the grant awaits it before answering. Resolves once the
   * record is as safe as this store makes it before a client has the token: here, queued, and
   * written within `recordDelay` ms (see Durability above); on the shared database, committed
   * (postgres/token-state.ts, a group commit).
   */
  recordAccessToken(app: string, record: AccessTokenRecord): Promise<void>;
  /** Writes the queued access token records now; resolves once they are committed. */
  flushAccessTokens(): Promise<void>;
  /** The access token's record, one this process is still gathering included. */
  accessToken(app: string, jti: string): Promise<AccessTokenRecord | undefined>;
  /**
   * Revokes the access token until `exp` (seconds), when the tombstone may be swept, and forgets
   * its record. False when it was already revoked.
   */
  revokeAccessToken(app: string, jti: string, exp: number): Promise<boolean>;
  accessTokenRevoked(app: string, jti: string): Promise<boolean>;
  /** `accessToken`, `accessTokenRevoked` and the record's `family` in one read, as one step. */
  accessTokenState(app: string, jti: string): Promise<AccessTokenState>;
  /** Starts a family with its first refresh token and access token. */
  startFamily(app: string, family: FamilyRecord, refresh: RefreshTokenRecord, access: AccessTokenRecord): Promise<void>;
  refreshToken(app: string, id: string): Promise<RefreshTokenRecord | undefined>;
  family(app: string, id: string): Promise<FamilyRecord | undefined>;
  /** `refreshToken` and its `family` in one read, as one step; undefined when there is no such token. */
  refreshTokenWithFamily(app: string, id: string): Promise<RefreshTokenWithFamily | undefined>;
  /**
   * Exchanges the refresh token `id` for `next` and `access`, atomically: of any number of
   * concurrent calls with one token, exactly one rotates. `now` in seconds.
   */
  rotateRefreshToken(app: string, id: string, now: number, next: RefreshTokenRecord, access: AccessTokenRecord): Promise<RotationOutcome>;
  revokeFamily(app: string, family: string, now: number): Promise<boolean>;
  /** The cut-offs of applications, users, audiences and scopes, as the reconciler wrote them. */
  cutOffs: CutOffs;
  /** Records a client assertion's `jti` until `exp`; false when it was already used and has not expired. */
  useAssertionId(app: string, jti: string, exp: number, now: number): Promise<boolean>;
  /**
   * Since when (ms) the store has recorded every used assertion id: the time of its rebuild from
   * git (`--rebuild-store`), which lost those used before; undefined for a store never rebuilt.
   */
  assertionIdsKnownSince(): Promise<number | undefined>;
  /** A page of an application's token records, in key order, starting after `after`. */
  listTokens(app: string, options: { limit: number; after?: string }): Promise<TokenPage>;
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

const GENERATION_KEY = 'cut-off-generation';

/**
 * Inside a write transaction: ends every token of `targets` issued from state read before it.
 * The reconciler calls it, and nothing else does, in the transaction that deactivates an
 * application, removes a User or changes its password, or withdraws an Api's audience or scopes:
 * the cut-off never depends on someone presenting a token, and a reader never writes one. The
 * generation moves on by one; `at` (ms) only judges tokens that carry no generations.
 */
export function writeCutOffs(store: StoreHandles, targets: CutOffTargets, at: number): void {
  const generation = readGeneration(store) + 1;
  store.revocations.put(GENERATION_KEY, generation);
  const keys = [
    ...(targets.applications ?? []).map(applicationKey),
    ...(targets.users ?? []).map(userKey),
    ...(targets.audiences ?? []).map(audienceKey),
    ...(targets.scopes ?? []).map(scopeKey),
  ];
  for (const key of keys) {
    // A clock set back must not make the cut-off count for fewer of the tokens without generations.
    const before = readCutOff(store, key);
    store.revocations.put(key, { generation, at: Math.max(at, before?.at ?? 0) } satisfies CutOff);
  }
}

/** The four kinds of cut-off target. */
export type CutOffKind = 'application' | 'user' | 'audience' | 'scope';

/** A cut-off as the shared database keeps it (issue 13): its target in the clear. */
export interface CutOffEntry {
  kind: CutOffKind;
  target: string;
  cutOff: CutOff;
}

/**
 * What the shared database settled for one commit (store/config-head.ts): the cut-offs a replica's
 * LMDB takes in the transaction that applies the commit, under the one generation counter of
 * every replica.
 */
export interface SettledCutOffs {
  /**
   * The generation tokens issued from the commit's configuration carry: the shared one. Undefined
   * when the commit is older than the newest any replica applied: the store keeps its own, lower
   * one, so that a token issued from the older configuration dies by every cut-off written since.
   */
  generation?: number;
  /** The shared cut-offs written at a generation above the store's own. */
  cutOffs: CutOffEntry[];
}

/**
 * Inside a write transaction: takes the shared cut-offs (`--state postgres://…`), instead of the
 * store's own counter moving on (`writeCutOffs`). A cut-off already here at a later generation or
 * time stays so (a store that ran alone before may hold one): the safer side.
 */
export function writeSettledCutOffs(store: StoreHandles, settled: SettledCutOffs): void {
  for (const { kind, target, cutOff } of settled.cutOffs) {
    const key = CUT_OFF_KEYS[kind](target);
    const before = readCutOff(store, key);
    store.revocations.put(key, {
      generation: Math.max(cutOff.generation, before?.generation ?? 0),
      at: Math.max(cutOff.at, before?.at ?? 0),
    } satisfies CutOff);
  }
  if (settled.generation !== undefined) store.revocations.put(GENERATION_KEY, settled.generation);
}

/** Reads the cut-offs of `store`. */
export function cutOffs(store: StoreHandles): CutOffs {
  return {
    generation: () => readGeneration(store),
    application: (name) => readCutOff(store, applicationKey(name)),
    user: (name) => readCutOff(store, userKey(name)),
    audience: (audience) => readCutOff(store, audienceKey(audience)),
    scope: (scope) => readCutOff(store, scopeKey(scope)),
  };
}

function readGeneration(store: StoreHandles): number {
  return (store.revocations.get(GENERATION_KEY) as number | undefined) ?? 0;
}

function readCutOff(store: StoreHandles, key: string): CutOff | undefined {
  const value = store.revocations.get(key) as CutOff | number | undefined;
  // A whole-second mark of an older release: every token issued in that second or before.
  return typeof value === 'number' ? { generation: 0, at: value * 1000 + 999 } : value;
}

const applicationKey = (name: string) => `app/${name}`;
const userKey = (name: string) => `user/${name}`;

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

const CUT_OFF_KEYS: Record<CutOffKind, (target: string) => string> = {
  application: applicationKey,
  user: userKey,
  audience: audienceKey,
  scope: scopeKey,
};

const accessKey = (app: string, jti: string) => `${app}/${jti}`;
const refreshKey = (app: string, id: string) => `${app}/r/${id}`;
const familyKey = (app: string, id: string) => `${app}/f/${id}`;

/** What one grant writes: an access token, and a refresh token starting its family when there is one. */
export interface GrantWrite {
  family?: FamilyRecord;
  refresh?: RefreshTokenRecord;
  access: AccessTokenRecord;
}

/**
 * Inside a write transaction: the records of a new grant, each with its expiry entry. Shared with
 * the authorization codes (authorization-codes.ts), whose redemption writes them in the
 * transaction that spends the code.
 */
export function writeGrant(store: StoreHandles, app: string, { family, refresh, access }: GrantWrite): void {
  const { tokens, refreshTokens, expiries } = store;
  if (family !== undefined) {
    refreshTokens.put(familyKey(app, family.id), family);
    expiries.put(expiryKey('refreshTokens', familyKey(app, family.id), family.exp), 0);
  }
  if (refresh !== undefined) {
    refreshTokens.put(refreshKey(app, refresh.id), refresh);
    expiries.put(expiryKey('refreshTokens', refreshKey(app, refresh.id), refresh.exp), 0);
  }
  tokens.put(accessKey(app, access.jti), access);
  expiries.put(expiryKey('tokens', accessKey(app, access.jti), access.exp), 0);
}

/** Inside a write transaction: revokes an access token until `exp`; false when it already was. */
export function revokeAccessTokenIn(store: StoreHandles, app: string, jti: string, exp: number): boolean {
  const key = accessKey(app, jti);
  const tombstone = `at/${key}`;
  store.tokens.remove(key);
  if (store.revocations.get(tombstone) !== undefined) return false;
  store.revocations.put(tombstone, exp);
  store.expiries.put(expiryKey('revocations', tombstone, exp), 0);
  return true;
}

/** Inside a write transaction: revokes a family (every token of it); false when there is none or it already was. */
export function revokeFamilyIn(store: StoreHandles, app: string, id: string, now: number): boolean {
  const family = store.refreshTokens.get(familyKey(app, id)) as FamilyRecord | undefined;
  if (family === undefined || family.revokedAt !== undefined) return false;
  store.refreshTokens.put(familyKey(app, id), { ...family, revokedAt: now });
  return true;
}

export function tokenState(store: StoreHandles, options: TokenStateOptions = {}): TokenState {
  const { root, tokens, refreshTokens, jtis, revocations, expiries } = store;
  const health = storeHealth(store);
  const durable = durableWrite(store);
  const recordDelay = options.recordDelay ?? 10;
  const onError = options.onError ?? ((err: unknown) => { throw err; });
  // Inside a write transaction: the sweeper deletes the record once `exp` has passed (and the
  // record still says so: a family's expiry moves with its rotations, an assertion id is reused).
  const expires = (db: keyof typeof EXPIRY_DB, key: string, exp: number) => expiries.put(expiryKey(db, key, exp), 0);

  // Keyed, so that this process finds a record it is still gathering (liveness reads it).
  let queued = new Map<string, AccessTokenRecord>();
  let timer: NodeJS.Timeout | undefined;
  // The latest batch written: lmdb commits in order, so once it is committed all earlier ones are.
  let lastBatch: Promise<unknown> = Promise.resolve();
  const flushAccessTokens = async (): Promise<void> => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    const batch = queued;
    queued = new Map();
    if (batch.size > 0) {
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
      queued.set(accessKey(app, record.jti), record);
      if (queued.size >= MAX_QUEUED_RECORDS) {
        void flushAccessTokens();
      } else if (timer === undefined) {
        timer = setTimeout(() => void flushAccessTokens(), recordDelay);
        timer.unref();
      }
      return Promise.resolve();
    },

    flushAccessTokens,

    async accessToken(app, jti) {
      const key = accessKey(app, jti);
      return queued.get(key) ?? tokens.get(key);
    },

    revokeAccessToken(app, jti, exp) {
      // A record still gathering here would otherwise be written (and listed) after its revocation.
      queued.delete(accessKey(app, jti));
      return durable(() => revokeAccessTokenIn(store, app, jti, exp));
    },

    accessTokenRevoked: async (app, jti) => revocations.get(`at/${accessKey(app, jti)}`) !== undefined,

    async accessTokenState(app, jti) {
      const key = accessKey(app, jti);
      const record = queued.get(key) ?? tokens.get(key) as AccessTokenRecord | undefined;
      return {
        record,
        revoked: revocations.get(`at/${key}`) !== undefined,
        family: record?.family === undefined ? undefined : refreshTokens.get(familyKey(app, record.family)) as FamilyRecord | undefined,
      };
    },

    async startFamily(app, family, refresh, access) {
      await durable(() => writeGrant(store, app, { family, refresh, access }));
    },

    refreshToken: async (app, id) => refreshTokens.get(refreshKey(app, id)) as RefreshTokenRecord | undefined,

    family: async (app, id) => refreshTokens.get(familyKey(app, id)) as FamilyRecord | undefined,

    async refreshTokenWithFamily(app, id) {
      const record = refreshTokens.get(refreshKey(app, id)) as RefreshTokenRecord | undefined;
      return record === undefined ? undefined : { record, family: refreshTokens.get(familyKey(app, record.family)) as FamilyRecord | undefined };
    },

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
      return durable(() => revokeFamilyIn(store, app, id, now));
    },

    cutOffs: cutOffs(store),

    async assertionIdsKnownSince() {
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

    async listTokens(app, { limit, after }) {
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
