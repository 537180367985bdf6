// The one answer to "is this token live?", for every reader: introspection and revocation
// (token-lookup.ts), the refresh grant, the token listing (live-tokens.ts, app-tokens.ts), the
// portal's token views, and the portal session's user check. A token, access or refresh, is live
// unless it has expired, was revoked (alone or with its family), was spent, or was cut off since
// it was issued: its application is inactive or was deactivated, its user was removed or changed,
// one of its audiences or scopes was withdrawn.
//
// Cut-offs are written only by the reconciler's apply, in its transaction (store/config.ts →
// store/token-state.ts `writeCutOffs`), each at a new value of the store's cut-off generation. A
// token carries the generation of each read its issue relied on (`issuedUnder`): the application
// record at client authentication, the Apis behind the scope map, the user record. A cut-off
// written at a later generation ends it, so:
// - a token issued from an application record read before its deactivation is dead after it,
//   whenever the token was signed, and stays dead after a reactivation;
// - a token issued right after a reactivation, a restore or a new password is live at once: no
//   whole-second ambiguity, so nothing in the token path or the sign-in waits;
// - nothing here writes: reading a token's state never moves a cut-off.
//
// A token without generations is judged by its issue time against the cut-off's `at` instead:
// tokens and marks of a release before generations (its whole-second marks read as the last
// millisecond of their second, which is the rule that release applied), and an access token whose
// batched record another process has not written yet, or lost in a crash (token-state.ts).
import type { ApplicationRecord } from '../store/records.ts';
import type { AccessTokenRecord, CutOff, CutOffs, FamilyRecord, IssuedUnder, RefreshTokenRecord, TokenState } from '../store/token-state.ts';
import type { OAuthContext } from './context.ts';
import { USER_SUBJECT_PREFIX } from './defaults.ts';
import { isBuiltInScope } from './scopes.ts';
import type { ScopeMap, SlowConfig } from './slow-config.ts';

/** Why a token is not live. */
export type DeathReason =
  | 'expired'
  | 'revoked'
  | 'family-revoked'
  | 'spent'
  | 'application-inactive'
  | 'application-deactivated'
  | 'user-removed'
  | 'user-changed'
  | 'audience-withdrawn'
  | 'scope-withdrawn';

export type Liveness = { live: true } | { live: false; reason: DeathReason };

/** What liveness needs of a token, however it was found (a JWT and its record, a refresh token record). */
export interface TokenFacts {
  type: 'access_token' | 'refresh_token';
  /** The application it was issued to, as its record is now. */
  app: ApplicationRecord;
  /** An access token's `jti`: its revocation is a tombstone under it. */
  jti?: string;
  sub: string;
  /** Space-separated. */
  scope: string;
  /** The Apis' audiences it is for: none for a refresh token, whose audience is the issuer. */
  aud: readonly string[];
  /** Seconds. */
  iat: number;
  exp: number;
  family?: string;
  usedAt?: number;
  issuedUnder?: IssuedUnder;
  /**
   * Whether it was revoked, when that was read with its record (`TokenState.accessTokenState`);
   * otherwise liveness asks the store.
   */
  revoked?: boolean;
  /**
   * Its family as read with it (`accessTokenState`, `refreshTokenWithFamily`: `record` undefined
   * when the family is gone); otherwise liveness asks the store. One read instead of two or three:
   * one round trip on a shared database.
   */
  familyRead?: { record: FamilyRecord | undefined };
}

export interface LivenessSources {
  tokens: Pick<TokenState, 'cutOffs' | 'family' | 'accessTokenRevoked'>;
  /** Whether the User manifest `name` exists now: a user's tokens die with the user. */
  userExists(name: string): boolean;
}

/** What liveness reads, from the OAuth server's context. */
export function livenessSources(ctx: Pick<OAuthContext, 'tokens' | 'config'>): LivenessSources {
  return { tokens: ctx.tokens, userExists: (name) => ctx.config.user(name) !== undefined };
}

/** A stored access token's facts: its record holds every claim liveness reads. */
export function accessTokenFacts(app: ApplicationRecord, record: AccessTokenRecord): TokenFacts {
  return {
    type: 'access_token', app, jti: record.jti, sub: record.sub, scope: record.scope, aud: record.aud, iat: record.iat, exp: record.exp,
    family: record.family, issuedUnder: record.issuedUnder,
  };
}

/**
 * A refresh token's facts: its own audience is the issuer, so none of an Api's. `familyRead`: its
 * family as read with it (`TokenState.refreshTokenWithFamily`), if it was.
 */
export function refreshTokenFacts(app: ApplicationRecord, record: RefreshTokenRecord, familyRead?: { record: FamilyRecord | undefined }): TokenFacts {
  return {
    type: 'refresh_token', app, sub: record.sub, scope: record.scope, aud: [], iat: record.iat, exp: record.exp,
    family: record.family, usedAt: record.usedAt, issuedUnder: record.issuedUnder, ...(familyRead === undefined ? {} : { familyRead }),
  };
}

const LIVE: Liveness = Object.freeze({ live: true });
const dead = (reason: DeathReason): Liveness => ({ live: false, reason });

/**
 * Whether `token` is live at `now` (seconds), and if not, why. The family and spent checks come
 * last: the refresh grant leaves those two to the rotation itself, which tells a replay apart
 * (it revokes the family, RFC 9700 section 4.14.2).
 *
 * The token's revocation and its family are awaited (a round trip on a shared database); the
 * configuration and the cut-offs are read synchronously. For a refresh token (no `jti`) every
 * check before the family runs before the first await, so in the caller's synchronous step: the
 * refresh grant reads the generation its new tokens carry in that same step. For an access token
 * the cut-offs are read after its revocation, so later than the application record its caller
 * read: harmless, since a token once dead stays dead (whatever ends it also writes a cut-off,
 * and cut-offs are never removed), so the later read gives the later state's answer.
 */
export async function liveness(sources: LivenessSources, token: TokenFacts, now: number): Promise<Liveness> {
  const { tokens } = sources;
  const cuts = tokens.cutOffs;
  const under = token.issuedUnder;
  const since = (cut: CutOff | undefined, generation: number | undefined) =>
    cut !== undefined && (generation === undefined ? cut.at >= issuedAtMs(token) : cut.generation > generation);
  if (token.exp <= now) return dead('expired');
  if (token.app.spec.state !== 'active') return dead('application-inactive');
  if (token.jti !== undefined && (token.revoked ?? await tokens.accessTokenRevoked(token.app.name, token.jti))) return dead('revoked');
  if (since(cuts.application(token.app.name), under?.application)) return dead('application-deactivated');
  if (token.sub.startsWith(USER_SUBJECT_PREFIX)) {
    const name = token.sub.slice(USER_SUBJECT_PREFIX.length);
    if (!sources.userExists(name)) return dead('user-removed');
    if (since(cuts.user(name), under?.user)) return dead('user-changed');
  }
  for (const audience of token.aud) {
    if (since(cuts.audience(audience), under?.grants)) return dead('audience-withdrawn');
  }
  for (const scope of token.scope.split(' ')) {
    if (isBuiltInScope(scope) || scope === '') continue;
    if (since(cuts.scope(scope), under?.grants)) return dead('scope-withdrawn');
  }
  if (token.family !== undefined) {
    const family = token.familyRead !== undefined ? token.familyRead.record : await tokens.family(token.app.name, token.family);
    if (family === undefined || family.revokedAt !== undefined) return dead('family-revoked');
  }
  if (token.usedAt !== undefined) return dead('spent');
  return LIVE;
}

/**
 * When a token was issued (ms), for a token without generations: an access token's `jti` is a
 * UUIDv7 that starts with its signing time in milliseconds (issue.ts), bounded by its `iat`, since
 * a grant may date its tokens before a slow check (the password grant); otherwise the start of
 * its `iat` second, which a cut-off in that second covers, as the whole-second rule did.
 */
function issuedAtMs(token: TokenFacts): number {
  const start = token.iat * 1000;
  const jti = token.jti;
  if (jti === undefined || jti.length !== 36 || jti[14] !== '7') return start;
  const ms = Number.parseInt(`${jti.slice(0, 8)}${jti.slice(9, 13)}`, 16);
  return Number.isNaN(ms) ? start : Math.min(ms, start + 999);
}

/**
 * Whether the user `name` was removed, restored or given a new password since its record was read
 * at `generation`: the password grant and the portal sign-in refuse a password checked against a
 * record no longer in force.
 */
export function userChangedSince(cuts: CutOffs, name: string, generation: number): boolean {
  const cut = cuts.user(name);
  return cut !== undefined && cut.generation > generation;
}

/** What a portal session records of its user (controller/portal/sessions.ts). */
export interface SessionUser {
  user: string;
  /** ms */
  createdAt: number;
  /** The cut-off generation the user was read at when the session opened; absent in older sessions. */
  userGeneration?: number;
}

/**
 * A portal session ends with its user's tokens: a user removed (and perhaps restored by a revert,
 * or its name given to someone else) or given a new password since the session opened.
 */
export function sessionUserLive(cuts: Pick<CutOffs, 'user'>, session: SessionUser): boolean {
  const cut = cuts.user(session.user);
  if (cut === undefined) return true;
  return session.userGeneration === undefined ? cut.at < session.createdAt : cut.generation <= session.userGeneration;
}

/**
 * Before a grant names the scopes (and so the audiences) of its tokens from the scope map, which
 * is kept for up to a second (slow-config.ts): reloads the map when one of `scopes`, or its
 * audience, was withdrawn since the map was read, and returns the map to grant from. Without the
 * reload, a token would carry a scope withdrawn (and perhaps published again) since, and be dead
 * at once; with it, a token never carries what was withdrawn before it was issued. One read of
 * the store's generation when nothing was withdrawn since the map was read.
 */
export function currentScopeMap(ctx: { tokens: Pick<TokenState, 'cutOffs'>; slow: SlowConfig }, scopes: readonly string[]): ScopeMap {
  const map = ctx.slow.scopeMap();
  const cuts = ctx.tokens.cutOffs;
  if (cuts.generation() === map.generation) return map;
  const newer = (cut: CutOff | undefined) => cut !== undefined && cut.generation > map.generation;
  for (const scope of scopes) {
    if (isBuiltInScope(scope)) continue;
    const audience = map.published.get(scope);
    if (newer(cuts.scope(scope)) || (audience !== undefined && newer(cuts.audience(audience)))) {
      ctx.slow.reload();
      return ctx.slow.scopeMap();
    }
  }
  return map;
}
