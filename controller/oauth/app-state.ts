// An application's state decides, at every check, whether its tokens live: deactivating it makes
// every token it holds inactive at once. Reactivating it does not bring them back: the first time
// a process sees the application inactive it records "every token issued until now is revoked"
// (and refreshes that mark while the state lasts), so only tokens issued after reactivation work.
import type { ApplicationRecord } from '../store/records.ts';
import type { OAuthContext } from './context.ts';
import { seconds } from './issue.ts';

// How often one process refreshes the mark of an application it keeps seeing inactive (seconds).
const NOTE_EVERY = 60;

const noted = new WeakMap<OAuthContext, Map<string, number>>();

/** True when the application is active; when it is not, records that its tokens so far are revoked. */
export function applicationActive(ctx: OAuthContext, app: ApplicationRecord): boolean {
  if (app.spec.state === 'active') return true;
  noteInactive(ctx, app.name);
  return false;
}

export function noteInactive(ctx: OAuthContext, name: string): void {
  let seen = noted.get(ctx);
  if (seen === undefined) noted.set(ctx, seen = new Map());
  const now = seconds(ctx.now());
  const last = seen.get(name);
  if (last !== undefined && now - last < NOTE_EVERY) return;
  seen.set(name, now);
  ctx.tokens.revokeAllBefore(name, now).catch(ctx.onBackgroundError);
}

/** Whether a token issued at `iat` (seconds) predates the application's last deactivation. */
export function revokedByDeactivation(ctx: OAuthContext, app: ApplicationRecord, iat: number): boolean {
  const before = ctx.tokens.revokedBefore(app.name);
  return before !== undefined && iat <= before;
}

/** Maintenance: marks every inactive application, including those nobody presented a token of. */
export function noteInactiveApplications(ctx: OAuthContext): void {
  for (const app of ctx.config.applications()) if (app.spec.state !== 'active') noteInactive(ctx, app.name);
}
