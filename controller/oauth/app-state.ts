// An application's state decides, at every check, whether its tokens live: deactivating it makes
// every token it holds inactive at once. Reactivating it does not bring them back: the first time
// a process sees the application inactive it records "every token issued until now is revoked",
// so only tokens issued after reactivation work.
//
// Once per process and per version of the inactive record (its `commit`), not again while the
// state lasts: token times are whole seconds, so a mark moved forward by a client that keeps
// asking while inactive could land in the very second of the reactivation and kill the first
// tokens issued after it. While the application is inactive no token is issued, so the first mark
// of the period already covers every token there is.
import type { ApplicationRecord } from '../store/records.ts';
import type { OAuthContext } from './context.ts';
import { seconds } from './issue.ts';

/** Per process: application name → the commit of the inactive record it marked. */
const noted = new WeakMap<OAuthContext, Map<string, string>>();

/** True when the application is active; when it is not, records that its tokens so far are revoked. */
export function applicationActive(ctx: OAuthContext, app: ApplicationRecord): boolean {
  if (app.spec.state === 'active') {
    // Seen active again: its next inactive period gets a mark of its own, even from the same commit.
    noted.get(ctx)?.delete(app.name);
    return true;
  }
  noteInactive(ctx, app);
  return false;
}

export function noteInactive(ctx: OAuthContext, app: ApplicationRecord): void {
  let seen = noted.get(ctx);
  if (seen === undefined) noted.set(ctx, seen = new Map());
  if (seen.get(app.name) === app.commit) return;
  seen.set(app.name, app.commit);
  ctx.tokens.revokeAllBefore(app.name, seconds(ctx.now())).catch((err: unknown) => {
    // Not recorded: the next sighting tries again.
    if (seen.get(app.name) === app.commit) seen.delete(app.name);
    ctx.onBackgroundError(err);
  });
}

/**
 * A token issued in the very second of the application's last deactivation mark would count as
 * revoked at once, since token times are whole seconds. That second can only come round again
 * right after a reactivation; the token endpoint waits it out (under a second, once) rather than
 * hand out a token that is dead on arrival.
 */
export async function leaveDeactivationSecond(ctx: OAuthContext, app: ApplicationRecord): Promise<void> {
  const before = ctx.tokens.revokedBefore(app.name);
  if (before === undefined) return;
  const wait = (before + 1) * 1000 - ctx.now();
  if (wait > 0 && wait <= 1000) await new Promise((resolve) => setTimeout(resolve, wait));
}

/** Whether a token issued at `iat` (seconds) predates the application's last deactivation. */
export function revokedByDeactivation(ctx: OAuthContext, app: ApplicationRecord, iat: number): boolean {
  const before = ctx.tokens.revokedBefore(app.name);
  return before !== undefined && iat <= before;
}

/** Maintenance: marks every inactive application, including those nobody presented a token of. */
export function noteInactiveApplications(ctx: OAuthContext): void {
  for (const app of ctx.config.applications()) if (app.spec.state !== 'active') noteInactive(ctx, app);
}
