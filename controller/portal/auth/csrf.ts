// Cross-site request forgery, refused twice: every form carries a synchronizer token (the
// session's, or the sign-in form's double-submit cookie) compared in constant time, and a browser's
// own word on where a POST comes from (Sec-Fetch-Site, Origin) is checked beside it.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';

/** 32 random bytes, base64url: session ids and CSRF tokens. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Constant-time comparison of two tokens (CSRF); false when either is missing. */
export function tokensEqual(a: string | undefined, b: string | undefined): boolean {
  if (typeof a !== 'string' || typeof b !== 'string') return false;
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Defence in depth beside the CSRF token: a browser says where a POST comes from. A cross-site
 * `Sec-Fetch-Site`, or an `Origin` naming another host, is refused; clients that send neither
 * (old browsers, tools), or an opaque `null` origin, still need the token.
 */
export function sameSite(request: FastifyRequest): boolean {
  const site = request.headers['sec-fetch-site'];
  if (site === 'cross-site' || site === 'same-site') return false;
  const origin = request.headers.origin;
  if (origin === undefined || origin === 'null') return true;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}
