// Try sign-in: the portal as the client of one of the owner's applications, to show the
// authorization code flow end to end. What the client must remember between sending the browser
// to /oauth2/authorize and the callback (RFC 6749 `state`, OpenID Connect `nonce`, the RFC 7636
// code verifier) lives in a short-lived cookie signed with the session's own synchronizer token:
// forged or carried to another session, it does not verify, and nothing is kept on the server.
// The tokens the exchange gives are shown once and kept nowhere.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { tokensEqual } from './auth/csrf.ts';
import { BASE } from './pages/layout.ts';

/** How long an attempt may take, from the details page to the callback (ms). */
export const ATTEMPT_MS = 10 * 60_000;

export const CALLBACK_PATH = `${BASE}/try-sign-in/callback`;

export interface Attempt {
  app: string;
  state: string;
  nonce: string;
  verifier: string;
  /** ms */
  expiresAt: number;
}

/** The redirect URI the portal's callback has under `issuer`; undefined without an issuer. */
export function callbackUrl(issuer: string | undefined): string | undefined {
  return issuer === undefined ? undefined : `${issuer.replace(/\/+$/, '')}${CALLBACK_PATH}`;
}

export function newAttempt(app: string, now: number): Attempt {
  const random = () => randomBytes(32).toString('base64url');
  return { app, state: random(), nonce: random(), verifier: random(), expiresAt: now + ATTEMPT_MS };
}

/** RFC 7636 4.2: BASE64URL(SHA256(ASCII(code_verifier))). */
export function challengeOf(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

const mac = (key: string, payload: string) => createHmac('sha256', key).update(payload).digest('base64url');

/** The cookie's value: the attempt, and its MAC under the session's CSRF token. */
export function sealAttempt(attempt: Attempt, sessionCsrf: string): string {
  const payload = Buffer.from(JSON.stringify(attempt)).toString('base64url');
  return `${payload}.${mac(sessionCsrf, payload)}`;
}

/** The attempt in the cookie, when it was made in this session and has not expired. */
export function openAttempt(value: string | undefined, sessionCsrf: string, now: number): Attempt | undefined {
  if (value === undefined || value.length > 2048) return undefined;
  const [payload, tag, ...rest] = value.split('.');
  if (payload === undefined || tag === undefined || rest.length > 0 || !tokensEqual(tag, mac(sessionCsrf, payload))) return undefined;
  try {
    const attempt = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Attempt;
    return typeof attempt.expiresAt === 'number' && now < attempt.expiresAt ? attempt : undefined;
  } catch {
    return undefined;
  }
}

/** A JWT's claims, decoded for display only (the token endpoint just issued it; nothing is decided on them but the nonce's echo). */
export function claimsOf(jwt: string | undefined): Record<string, unknown> | undefined {
  const payload = jwt?.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    return claims !== null && typeof claims === 'object' && !Array.isArray(claims) ? (claims as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
