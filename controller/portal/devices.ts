// Device cookies (OWASP, "Slow Down Online Guessing Attacks with Device Cookies"): a browser in
// which a user signed in gets a cookie that proves it, so the sign-in throttles can tell the
// user's own browser from a guesser's. A guesser spread over many addresses can make every
// unknown client of a user wait; the user's own browser keeps its own limit and signs in.
//
// The cookie is `user.issuedAt.mac`, mac = HMAC-SHA256 over the user and the time, keyed with the
// user's stored password hash: only the server can make one (every worker reads the same hash from
// the store, so nothing new is stored or shared), and a password change voids every device cookie
// of that user, as it ends every session.
import { createHmac } from 'node:crypto';
import type { ConfigReader } from '../store/config.ts';
import { tokensEqual } from './auth/csrf.ts';

const LABEL = 'mergekey portal device v1';
const NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

function mac(passwordHash: string, user: string, issuedAt: number): string {
  return createHmac('sha256', passwordHash).update(`${LABEL}\u0000${user}\u0000${issuedAt}`).digest('base64url');
}

/** The cookie value for a browser in which `user` just signed in. */
export function deviceCookie(user: string, passwordHash: string, issuedAt: number): string {
  return `${user}.${issuedAt}.${mac(passwordHash, user, issuedAt)}`;
}

/**
 * The device's id (its mac) when `value` is a device cookie the server issued to `user`, under the
 * user's current password, less than `forMs` ago; undefined otherwise (absent, forged, another
 * user's, stale).
 */
export function trustedDevice(config: Pick<ConfigReader, 'user'>, value: string | undefined, user: string, now: number, forMs: number): string | undefined {
  if (value === undefined || value.length > 200) return undefined;
  const [owner, issued, given, ...rest] = value.split('.');
  if (rest.length > 0 || owner !== user || !NAME.test(user) || issued === undefined || !/^\d{1,15}$/.test(issued)) return undefined;
  const issuedAt = Number(issued);
  if (issuedAt > now || now - issuedAt >= forMs) return undefined;
  const hash = config.user(user)?.passwordHash;
  if (hash === undefined) return undefined;
  const expected = mac(hash, user, issuedAt);
  return tokensEqual(given, expected) ? expected : undefined;
}
