// The portal's cookies (session, sign-in form, device, a Try sign-in attempt, the key to a generated
// token's answer) and their attributes, decided in one place:
// HttpOnly, SameSite=Lax, Path=/; under an https issuer also Secure and `__Host-` prefixed.
export type CookieBase = 'session' | 'signin' | 'device' | 'try-sign-in' | 'generated';

export interface PortalCookies {
  name(base: CookieBase): string;
  /** The attributes of a cookie that lives `maxAgeMs`. */
  options(maxAgeMs: number): { path: string; httpOnly: boolean; sameSite: 'lax'; secure: boolean; maxAge: number };
  /** The attributes that clear a cookie: the same as it was set with, less its age. */
  clearOptions(): { path: string; httpOnly: boolean; sameSite: 'lax'; secure: boolean };
}

/** The cookies under `issuer()`, asked on every use: the server may learn its issuer after start. */
export function portalCookies(issuer: () => string | undefined): PortalCookies {
  const secure = () => /^https:/i.test(issuer() ?? '');
  // `__Host-` cookies are only accepted over HTTPS, from this host, for every path.
  const name = (base: string) => (secure() ? `__Host-mergekey-${base}` : `mergekey-${base}`);
  const options = (maxAgeMs: number) => ({ path: '/', httpOnly: true, sameSite: 'lax' as const, secure: secure(), maxAge: Math.floor(maxAgeMs / 1000) });
  // A cookie is only replaced (here: emptied) by one with the same attributes; a browser refuses a
  // `__Host-` cookie without Secure, so a bare clear would leave the old one in place.
  const clearOptions = () => { const { maxAge: _, ...rest } = options(0); return rest; };
  return { name, options, clearOptions };
}
