// A user's state decides, at every check, whether the tokens issued to the user (subject
// `user:<name>`) live: removing the User, or changing its password, ends them in every
// application. The reconciler writes a mark in the same transaction (store/config.ts): every
// token of the user issued up to that second is dead, for good, so restoring the manifest (a
// revert) or giving the name to someone else brings none of them back. The way application
// deactivation works (app-state.ts), keyed by user; one LMDB read per check, no scan.
import type { TokenState } from '../store/token-state.ts';
import { USER_SUBJECT_PREFIX } from './defaults.ts';

export interface SubjectSources {
  tokens: Pick<TokenState, 'userRevokedBefore'>;
  /** Whether the User manifest `name` exists now. */
  userExists(name: string): boolean;
}

/**
 * Whether a token of subject `sub` issued at `iat` (seconds) may still be live as far as its
 * resource owner goes: true for an application's own tokens; for a user's, the user must exist
 * and the token be issued after the user's last removal or password change.
 */
export function subjectLive({ tokens, userExists }: SubjectSources, sub: string, iat: number): boolean {
  if (!sub.startsWith(USER_SUBJECT_PREFIX)) return true;
  const name = sub.slice(USER_SUBJECT_PREFIX.length);
  if (!userExists(name)) return false;
  const before = tokens.userRevokedBefore(name);
  return before === undefined || iat > before;
}

/**
 * Token times are whole seconds, so a token (or portal session) issued in the very second of the
 * user's mark would be dead on arrival. That second can only come round right after the user was
 * restored or given a new password; the caller waits it out (under a second, once). `nowMs` in
 * milliseconds.
 */
export async function leaveUserMarkSecond(tokens: Pick<TokenState, 'userRevokedBefore'>, name: string, nowMs: number): Promise<void> {
  const before = tokens.userRevokedBefore(name);
  if (before === undefined) return;
  const wait = (before + 1) * 1000 - nowMs;
  if (wait > 0 && wait <= 1000) await new Promise((resolve) => setTimeout(resolve, wait));
}
