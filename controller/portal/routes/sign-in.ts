// Signing in and out. Sign-in is where the portal is attacked: the form carries its own token (a
// double-submit cookie, against login CSRF), failures are throttled per (user, address or device),
// per address and per user (throttle.ts, devices.ts), and a success starts a new session id.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { accountNamed, checkPassword, throttleName } from '../accounts.ts';
import { newToken, sameSite, tokensEqual } from '../auth/csrf.ts';
import { passwordStamp } from '../auth/sessions.ts';
import type { PortalContext } from '../context.ts';
import { deviceCookie, trustedDevice } from '../devices.ts';
import { field, MAX_NEXT_LENGTH } from '../input.ts';
import { BASE } from '../pages/layout.ts';
import { signInPage } from '../pages/sign-in.ts';
import { sendPage } from '../responses.ts';
import { allowAuthorizeTarget } from './authorize.ts';

const SWEEP_EVERY_MS = 10 * 60_000;
// The sign-in form's own token lives this long.
const SIGN_IN_FORM_MS = 30 * 60_000;

export function signInRoutes(app: FastifyInstance, ctx: PortalContext): void {
  const { deps, now, sessions, cookies, throttles, limits, userCutOffs } = ctx;
  let lastSweep = 0;

  const signInForm = (reply: FastifyReply, request: FastifyRequest, form: { name?: string; error?: string; retryAfter?: string; next?: string }, status = 200) => {
    // The pre-session token: a double-submit cookie that ties the form to this browser (login CSRF).
    const token = newToken();
    reply.setCookie(cookies.name('signin'), token, cookies.options(SIGN_IN_FORM_MS));
    const signingInTo = allowAuthorizeTarget(ctx, reply, form.next);
    return sendPage(reply, signInPage(ctx.page(request), { token, ...form, ...(signingInTo === undefined ? {} : { signingInTo }) }), status);
  };

  app.get(`/sign-in`, async (request, reply) => {
    // A `next` given twice is no place to go: signing in lands on My Applications.
    const nexts = (request.query as Record<string, unknown>).next;
    const next = safeNext(typeof nexts === 'string' ? nexts : undefined);
    const flash = (request.query as Record<string, unknown>)['signed-out'] === undefined ? undefined : ({ kind: 'success', message: 'You are signed out.' } as const);
    const token = newToken();
    reply.setCookie(cookies.name('signin'), token, cookies.options(SIGN_IN_FORM_MS));
    const signingInTo = allowAuthorizeTarget(ctx, reply, next);
    return sendPage(reply, signInPage(ctx.page(request, flash === undefined ? {} : { flash }), { token, ...(next === undefined ? {} : { next }), ...(signingInTo === undefined ? {} : { signingInTo }) }));
  });

  app.post(`/sign-in`, async (request, reply) => {
    const name = (field(request, 'name') ?? '').trim().toLowerCase();
    const password = field(request, 'password') ?? '';
    const next = safeNext(field(request, 'next'));
    const keep = { ...(name === '' ? {} : { name }), ...(next === undefined ? {} : { next }) };
    if (!sameSite(request) || !tokensEqual(field(request, '_csrf'), request.cookies[cookies.name('signin')])) {
      return signInForm(reply, request, { ...keep, error: 'The sign-in form expired or did not come from this portal. Try again.' }, 403);
    }
    const at = now();
    // request.ip: the peer, or the client a trusted proxy names (never a header parsed here).
    const address = request.ip;
    const counted = throttleName(name);
    // This user's own browser, if it says so with a device cookie the server made (devices.ts).
    const device = trustedDevice(deps.store.config, request.cookies[cookies.name('device')], name, at, limits.knownForMs);
    const wait = throttles.blockedFor(counted, address, at, device);
    if (wait > 0) {
      reply.header('retry-after', String(Math.ceil(wait / 1000)));
      return signInForm(reply, request, { ...keep, error: 'Too many failed sign-ins.', retryAfter: `Try again in ${Math.ceil(wait / 60_000)} minute${wait > 60_000 ? 's' : ''}.` }, 429);
    }
    // Read in the same synchronous step as the user record (checkPassword reads it before its
    // first await): the session records it, and ends with a cut-off written after it.
    const userGeneration = userCutOffs.generation();
    const record = await checkPassword(deps.store.config, name, password);
    if (record === undefined) {
      throttles.failed(counted, address, at, device);
      // Never the name as typed: people type their password into it. Whether it names an account, and which.
      const account = accountNamed(deps.store.config, name);
      request.log.info(account === undefined ? { accountExists: false } : { accountExists: true, user: account }, 'portal sign-in failed');
      return signInForm(reply, request, { ...keep, error: 'The user name or password is wrong.' }, 401);
    }
    throttles.signedIn(counted, address, at, device);
    // A new id at every sign-in: a session id planted before it is worthless after it.
    const old = request.cookies[cookies.name('session')];
    if (old !== undefined) await sessions.destroy(old);
    const { id } = await sessions.create(record.name, passwordStamp(record.passwordHash!), userGeneration);
    reply.setCookie(cookies.name('session'), id, cookies.options(sessions.lifetimeMs));
    // Kept after sign-out: it says only that this browser is one the user signed in from.
    reply.setCookie(cookies.name('device'), deviceCookie(record.name, record.passwordHash!, at), cookies.options(limits.knownForMs));
    reply.clearCookie(cookies.name('signin'), cookies.clearOptions());
    if (at - lastSweep > SWEEP_EVERY_MS) {
      lastSweep = at;
      void sessions.sweep().catch((err: unknown) => request.log.warn({ err }, 'sweeping expired portal sessions failed'));
    }
    return reply.redirect(next ?? `${BASE}/apps`, 303);
  });

  app.post(`/sign-out`, ctx.auth, async (request, reply) => {
    await sessions.destroy(request.portal!.id);
    reply.clearCookie(cookies.name('session'), cookies.clearOptions());
    return reply.redirect(`${BASE}/sign-in?signed-out=1`, 303);
  });
}

/**
 * Only a plain path inside the portal: never another site (an open redirect), never `//host`,
 * no dot segments (a browser resolves `/portal/../x`, and `%2e%2e` alike, to outside the portal),
 * nothing a Location header cannot carry as is (RFC 3986 path and query characters only), not
 * the sign-in pages themselves, and not a novel.
 */
function safeNext(next: string | undefined): string | undefined {
  if (next === undefined || next.length > MAX_NEXT_LENGTH || !NEXT.test(next) || next.startsWith(`${BASE}/sign-`)) return undefined;
  if (/(^|\/)(\.|%2e){1,2}(\/|\?|$)/i.test(next.split('?')[0]!) || next.includes('//')) return undefined;
  return next;
}
const NEXT = /^\/portal\/[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]*$/;
