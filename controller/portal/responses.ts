// What every response under /portal carries, and the pages that answer what no route does: the
// security headers (a strict CSP among them), the error page for a refusal or a failure, and the
// 404 and 405 pages. Set on the portal's context, so they answer its requests and nothing outside.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { PortalContext } from './context.ts';
import { errorPage } from './pages/confirm.ts';
import { BASE } from './pages/layout.ts';
import { PortalError, toPortalError } from './portal-errors.ts';

export const CSP = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export const NOT_FOUND = 'There is no such page in the portal.';

export function sendPage(reply: FastifyReply, page: string, status = 200) {
  return reply.code(status).type('text/html; charset=utf-8').send(page);
}

// Where a page's forms may lead besides the portal itself, per response (see `allowFormTarget`).
const formTargets = new WeakMap<FastifyReply, string>();

/**
 * Lets the forms of the page `reply` sends end at `url`'s origin: the redirect URI of the
 * authorization request a consent (or sign-in) page finishes. Chrome and Safari check
 * `form-action` against every redirect a form submission leads to, not only the form's action
 * (w3c/webappsec-csp#8), so with `form-action 'self'` alone Allow would post, issue the code, and
 * then be refused the 303 that carries it to the client. Only the origin of a redirect URI the
 * authorization request was validated against (registered exactly in the manifest) comes here;
 * anything that is not a plain http(s) origin is left out.
 */
export function allowFormTarget(reply: FastifyReply, url: string): void {
  let origin: string;
  try {
    origin = new URL(url).origin;
  } catch {
    return;
  }
  if (/^https?:\/\/[A-Za-z0-9.\-[\]:]+$/.test(origin)) formTargets.set(reply, origin);
}

/** The CSP of a response whose forms may also end at `origin`. */
export function cspWithFormTarget(origin: string | undefined): string {
  return origin === undefined ? CSP : CSP.replace("form-action 'self'", `form-action 'self' ${origin}`);
}

/**
 * The one place the portal's security headers are set: on sending, so that whatever answers a
 * request under /portal (a page, a redirect, the error or not-found handler, an asset, a hook
 * that failed before any route ran) carries them.
 */
export function securityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('content-security-policy', cspWithFormTarget(formTargets.get(reply)));
    reply.header('x-content-type-options', 'nosniff');
    // same-origin: links out (to GitHub) carry no referrer, and form posts keep their Origin header.
    reply.header('referrer-policy', 'same-origin');
    reply.header('x-frame-options', 'DENY');
    reply.header('cross-origin-opener-policy', 'same-origin');
    // Only versioned assets say otherwise.
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    return payload;
  });
}

/**
 * Error pages for refusals (a PortalError says its status and words), unreadable requests and
 * failures, and 404 or 405 pages for paths and methods the portal does not have. Register it
 * before the routes: it learns each path's methods as they are added.
 */
export function errorPages(app: FastifyInstance, ctx: PortalContext): void {
  // The methods each route path answers, for a 405 with its Allow header (RFC 9110 section 15.5.6).
  const methodsByPath: { pattern: RegExp; methods: Set<string> }[] = [];
  app.addHook('onRoute', (route) => {
    const pattern = new RegExp(`^${route.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[A-Za-z]+/g, '[^/]+')}/?$`);
    let entry = methodsByPath.find((candidate) => candidate.pattern.source === pattern.source);
    if (entry === undefined) methodsByPath.push(entry = { pattern, methods: new Set() });
    for (const method of [route.method].flat()) entry.methods.add(method);
    if (entry.methods.has('GET')) entry.methods.add('HEAD');
  });

  // A path or a method the portal does not have. The page names neither: nothing typed is echoed.
  app.setNotFoundHandler(async (request, reply) => {
    const path = request.url.split('?')[0]!;
    const allowed = methodsByPath.find((entry) => entry.pattern.test(path))?.methods;
    if (allowed === undefined) return sendPage(reply, errorPage(ctx.page(request), 404, NOT_FOUND, undefined, `${BASE}/apps`), 404);
    // "The origin server MUST generate an Allow header field in a 405 response" (RFC 9110 section 15.5.6).
    reply.header('allow', [...allowed].sort().join(', '));
    return sendPage(reply, errorPage(ctx.page(request), 405, 'This page cannot be used that way.', undefined, `${BASE}/apps`), 405);
  });

  app.setErrorHandler((error: FastifyError | PortalError, request, reply) => {
    const known = toPortalError(error);
    if (known instanceof PortalError) {
      if (known.retryAfter !== undefined) reply.header('retry-after', String(known.retryAfter));
      return sendPage(reply, errorPage(ctx.page(request), known.status, known.message, known.hint, backFor(request)), known.status);
    }
    const status = (error as FastifyError).statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      return sendPage(reply, errorPage(ctx.page(request), 400, 'The request could not be read.', undefined, backFor(request)), status);
    }
    request.log.error({ err: error }, 'portal request failed');
    return sendPage(reply, errorPage(ctx.page(request), 500, 'Something failed on the server.', 'Try again; the operator can find the details in the server’s log.', backFor(request)), 500);
  });
}

/** Where an error page's "back" link leads: the application or the queue the request was about, or the list. */
function backFor(request: FastifyRequest): string {
  const match = /^\/portal\/apps\/([a-z0-9-]+)/.exec(request.url);
  if (match !== null && match[1] !== 'new') return `${BASE}/apps/${match[1]}`;
  if (request.url.startsWith(`${BASE}/review`)) return `${BASE}/review`;
  if (request.url.startsWith(`${BASE}/authorized`)) return `${BASE}/authorized`;
  return `${BASE}/apps`;
}
