// The signed-in user on a request. Routes that need one run `signedIn` first (as `ctx.auth`): it
// loads the session from its cookie, checks it still belongs to the user as they are now (same
// password, not removed since), refuses a POST from another site or without the session's CSRF
// token, and leaves the session and the user on `request.portal`. Also the flash: a confirmation
// kept in the session for the next page (post/redirect/get).
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { sessionUserLive } from '../../oauth/liveness.ts';
import type { UserRecord } from '../../store/records.ts';
import type { Flash, SessionRecord } from '../../store/sessions.ts';
import { portalUser, type PortalUser } from '../accounts.ts';
import type { PortalContext } from '../context.ts';
import { field } from '../input.ts';
import { errorPage } from '../pages/confirm.ts';
import { BASE } from '../pages/layout.ts';
import { sendPage } from '../responses.ts';
import { sameSite, tokensEqual } from './csrf.ts';
import { passwordStamp } from './sessions.ts';

interface Signed {
  /** The session id, from its cookie. */
  id: string;
  session: SessionRecord;
  user: PortalUser;
}

declare module 'fastify' {
  interface FastifyRequest {
    portal: Signed | null;
  }
}

/**
 * The request's session, checked against its user as they are now; undefined when there is none
 * (an ended one is destroyed). Touches nothing: `signedIn` does, once the request is let in.
 */
export async function sessionOf(ctx: Omit<PortalContext, 'auth'>, request: FastifyRequest): Promise<{ id: string; session: SessionRecord; record: UserRecord } | undefined> {
  const { deps, sessions, cookies, userCutOffs } = ctx;
  const id = request.cookies[cookies.name('session')];
  const session = await sessions.find(id);
  const record = session === undefined ? undefined : deps.store.config.user(session.user);
  const valid = session !== undefined && record?.passwordHash !== undefined && passwordStamp(record.passwordHash) === session.passwordStamp
    // A session opened before its user was last removed or given a new password has ended, as
    // the user's tokens have: a User restored by a revert, or a new person of the same name, gets
    // no session of the old one, whatever the password stamp says.
    && sessionUserLive(userCutOffs, session);
  if (!valid) {
    if (id !== undefined && session !== undefined) await sessions.destroy(id);
    return undefined;
  }
  return { id: id!, session, record: record! };
}

/** Loads the session; without one, GETs go to sign-in and everything else is refused. On POST, checks the CSRF token. */
export function signedIn(ctx: Omit<PortalContext, 'auth'>): preHandlerAsyncHookHandler {
  const { sessions } = ctx;
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const found = await sessionOf(ctx, request);
    if (found === undefined) {
      if (request.method === 'GET') {
        const next = encodeURIComponent(request.url);
        return reply.redirect(`${BASE}/sign-in?next=${next}`, 303);
      }
      return sendPage(reply, errorPage(ctx.page(request), 401, 'You are not signed in (or your session ended).', 'Sign in again, then repeat what you were doing.', `${BASE}/sign-in`), 401);
    }
    const { id, session, record } = found;
    if (request.method === 'POST' && !sameSite(request)) {
      return sendPage(reply, errorPage(ctx.page(request), 403, 'This form was not sent from the portal.', undefined), 403);
    }
    if (request.method === 'POST' && !tokensEqual(field(request, '_csrf'), session.csrf)) {
      return sendPage(reply, errorPage(ctx.page(request), 403, 'The form expired or did not come from this portal, so nothing was done.', 'Reload the page and try again.'), 403);
    }
    request.portal = { id, session: await sessions.touch(id, session), user: portalUser(record) };
    return undefined;
  };
}

/** The signed-in user of a route behind `ctx.auth`. */
export function user(request: FastifyRequest): PortalUser {
  return request.portal!.user;
}

/** The confirmation kept for this page, forgotten once read. */
export async function withFlash(ctx: PortalContext, request: FastifyRequest): Promise<Flash | undefined> {
  const signed = request.portal!;
  const flash = signed.session.flash;
  if (flash !== undefined) await ctx.sessions.setFlash(signed.id, signed.session, undefined);
  return flash;
}

/** Keeps `flash` for the next page and redirects to it (post/redirect/get). */
export async function redirectWith(ctx: PortalContext, request: FastifyRequest, reply: FastifyReply, to: string, flash: Flash) {
  const signed = request.portal!;
  await ctx.sessions.setFlash(signed.id, signed.session, flash);
  return reply.redirect(to, 303);
}
