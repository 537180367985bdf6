// An Api's state decides, at every check, whether the tokens issued for it live: removing the Api,
// giving it another audience or dropping a scope from it ends the tokens for what it published
// then. The reconciler writes a mark in the same transaction (store/config.ts): every access token
// for the audience, and every token carrying the scope, issued up to that second is dead for good,
// so restoring the manifest (a revert) or publishing the same audience or scope names again brings
// none of them back. The way a removed User works (user-state.ts), keyed by audience and by scope;
// one LMDB read per audience and per scope the token carries, no scan.
import type { TokenState } from '../store/token-state.ts';
import type { OAuthContext } from './context.ts';
import { OPEN_SCOPE, type ScopeAudiences } from './scopes.ts';

export type GrantMarks = Pick<TokenState, 'audienceRevokedBefore' | 'scopeRevokedBefore'>;

/**
 * Whether a token issued at `iat` (seconds) for `audiences` with `scope` (space-separated) may
 * still be live as far as the Apis go: none of its audiences and none of its scopes was withdrawn
 * at or after `iat`. A refresh token's audience is the issuer, which no Api takes away: pass [].
 */
export function grantLive(marks: GrantMarks, audiences: readonly string[], scope: string, iat: number): boolean {
  for (const audience of audiences) {
    const before = marks.audienceRevokedBefore(audience);
    if (before !== undefined && iat <= before) return false;
  }
  for (const name of scope.split(' ')) {
    if (name === OPEN_SCOPE || name === '') continue;
    const before = marks.scopeRevokedBefore(name);
    if (before !== undefined && iat <= before) return false;
  }
  return true;
}

/**
 * Before a grant dates its tokens, for the scopes it may grant (and their audiences, by the map it
 * read): returns true when that map may predate the withdrawal of one of them, having reloaded it,
 * so the caller grants from the store's state. The map is kept for up to a second
 * (slow-config.ts); without the reload, a token issued in the second after an Api was removed
 * could carry its scopes and postdate the mark, and come back alive when the Api is restored.
 *
 * Token times are whole seconds, so a token issued in the very second an audience or scope was
 * withdrawn would be dead on arrival. That second can only come round right after the Api was
 * restored or the scope published again; the grant waits it out here (under a second, once).
 */
export async function settleGrantMarks(ctx: Pick<OAuthContext, 'tokens' | 'slow' | 'now'>, scopes: readonly string[]): Promise<boolean> {
  const latest = latestMark(ctx.tokens, scopes, ctx.slow.published());
  if (latest === undefined) return false;
  const reloaded = latest >= Math.floor(ctx.slow.readSince() / 1000);
  if (reloaded) ctx.slow.reload();
  const wait = (latestMark(ctx.tokens, scopes, ctx.slow.published())! + 1) * 1000 - ctx.now();
  if (wait > 0 && wait <= 1000) await new Promise((resolve) => setTimeout(resolve, wait));
  return reloaded;
}

/** The latest mark of `scopes` and of their audiences in `published`, if any. */
function latestMark(marks: GrantMarks, scopes: readonly string[], published: ScopeAudiences): number | undefined {
  let latest: number | undefined;
  const note = (mark: number | undefined) => {
    if (mark !== undefined && (latest === undefined || mark > latest)) latest = mark;
  };
  const audiences = new Set<string>();
  for (const scope of scopes) {
    if (scope === OPEN_SCOPE) continue;
    note(marks.scopeRevokedBefore(scope));
    const audience = published.get(scope);
    if (audience !== undefined) audiences.add(audience);
  }
  for (const audience of audiences) note(marks.audienceRevokedBefore(audience));
  return latest;
}
