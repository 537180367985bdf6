// The developer portal as a Fastify plugin, served by `mergekey serve` under /portal:
//
//   await app.register(portalPlugin({ store, workspace, issuer: () => issuer }));
//
// Server-rendered pages (see README.md for why), signed-in through the User manifests, with
// every form protected by a synchronizer token and every response by a strict CSP. Register it
// without fastify-plugin: its body parser, cookie handling, hooks and error handler stay inside.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyCookie from '@fastify/cookie';
import fastifyFormbody from '@fastify/formbody';
import type { FastifyError, FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { APP_STATUSES, isRequestAllowed, type AppStatus, type RequestKind } from '../requests/index.ts';
import { sessionUserLive } from '../oauth/liveness.ts';
import { storeHealth } from '../store/health.ts';
import type { Store } from '../store/open.ts';
import { cutOffs } from '../store/token-state.ts';
import { accountNamed, checkPassword, hasRole, portalUser, throttleName, type PortalUser } from './accounts.ts';
import { deviceCookie, trustedDevice } from './devices.ts';
import { html } from './html.ts';
import { appFormPage, createdPage, EMPTY_FORM, editConfirmPage, formValues, rotatedPage, validateAppForm, valuesOf } from './pages/app-form.ts';
import { detailsPage, tokenResultPage } from './pages/app-details.ts';
import { appsPage } from './pages/apps.ts';
import { confirmPage, errorPage } from './pages/confirm.ts';
import { BASE, type PageContext } from './pages/layout.ts';
import { reviewPage } from './pages/review.ts';
import { signInPage } from './pages/sign-in.ts';
import { NO_SUCH_REQUEST, PortalError, PortalService, refusalMessage, toPortalError, type AppDetail } from './service.ts';
import { newToken, passwordStamp, Sessions, tokensEqual, type Flash, type SessionOptions, type SessionRecord } from './sessions.ts';
import { SIGN_IN_LIMITS, SignInThrottles, type SignInLimits, type SignInPeers } from './throttle.ts';
import { AppTokens, requestToken, tokenEndpointAt, type PortalGrant, type TokenEndpointCall } from './tokens.ts';
import type { Workspace } from './workspace.ts';

export interface PortalDeps {
  store: Store;
  workspace: Workspace;
  /** The issuer: an https issuer makes the cookies Secure (and `__Host-` prefixed). */
  issuer: () => string | undefined;
  /** The token endpoint the portal calls (default: this server's own /oauth2/token, in-process). */
  tokenEndpoint?: string;
  /** Asks the controller to sync now, after a publisher approved a request here. */
  sync?: (reason: string) => unknown;
  now?: () => number;
  sessions?: Partial<Omit<SessionOptions, 'now'>>;
  limits?: Partial<SignInLimits>;
  /** The other workers of `--workers N`, which count this worker's sign-in failures and it theirs. */
  signInPeers?: SignInPeers;
}

export const CSP = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
/** A git commit id, SHA-1 or SHA-256. */
const COMMIT = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const NOT_FOUND = 'There is no such page in the portal.';
const SWEEP_EVERY_MS = 10 * 60_000;

interface Signed {
  id: string;
  session: SessionRecord;
  user: PortalUser;
}

declare module 'fastify' {
  interface FastifyRequest {
    portal: Signed | null;
  }
}

/** The files under assets/, read once, served with a content hash in their URL so browsers may cache them for good. */
function loadAssets(): Map<string, { body: Buffer; type: string; version: string }> {
  const assets = new Map<string, { body: Buffer; type: string; version: string }>();
  for (const [file, type] of [
    ['portal.css', 'text/css; charset=utf-8'],
    ['portal.js', 'text/javascript; charset=utf-8'],
    ['favicon.svg', 'image/svg+xml'],
  ] as const) {
    const body = readFileSync(fileURLToPath(new URL(`./assets/${file}`, import.meta.url)));
    assets.set(file, { body, type, version: createHash('sha256').update(body).digest('base64url').slice(0, 12) });
  }
  return assets;
}

export function portalPlugin(deps: PortalDeps): FastifyPluginAsync {
  // Everything lives in one context prefixed with /portal, so that its hooks, error handler and
  // not-found handler answer every request under /portal (an unknown path or method included),
  // and nothing outside it.
  return async function portal(root: FastifyInstance): Promise<void> {
    await root.register(async (app) => routes(app, deps), { prefix: BASE });
  };
}

async function routes(app: FastifyInstance, deps: PortalDeps): Promise<void> {
  const now = deps.now ?? Date.now;
  const health = storeHealth(deps.store);
  const sessions = new Sessions(deps.store.sessions, { now, guard: (write) => health.guard(write), ...deps.sessions });
  const service = new PortalService({ workspace: deps.workspace, store: deps.store, now });
  const tokens = new AppTokens(deps.store, now);
  const limits = { ...SIGN_IN_LIMITS, ...deps.limits };
  const throttles = new SignInThrottles(limits, deps.signInPeers);
  app.addHook('onClose', async () => throttles.close());
  const assets = loadAssets();
  const url = (file: string) => `${BASE}/assets/${file}?v=${assets.get(file)!.version}`;
  const assetUrls = { css: url('portal.css'), js: url('portal.js'), icon: url('favicon.svg') };
  let lastSweep = 0;

  await app.register(fastifyCookie);
  await app.register(fastifyFormbody, { bodyLimit: 64 * 1024, parser: parseForm });
  app.decorateRequest('portal', null);

  // The methods each route path answers, for a 405 with its Allow header (RFC 9110 section 15.5.6).
  const methodsByPath: { pattern: RegExp; methods: Set<string> }[] = [];
  app.addHook('onRoute', (route) => {
    const pattern = new RegExp(`^${route.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[A-Za-z]+/g, '[^/]+')}/?$`);
    let entry = methodsByPath.find((candidate) => candidate.pattern.source === pattern.source);
    if (entry === undefined) methodsByPath.push(entry = { pattern, methods: new Set() });
    for (const method of [route.method].flat()) entry.methods.add(method);
    if (entry.methods.has('GET')) entry.methods.add('HEAD');
  });

  const secure = () => /^https:/i.test(deps.issuer() ?? '');
  // `__Host-` cookies are only accepted over HTTPS, from this host, for every path.
  const cookieName = (base: string) => (secure() ? `__Host-mergekey-${base}` : `mergekey-${base}`);
  const cookieOptions = (maxAgeMs: number) => ({ path: '/', httpOnly: true, sameSite: 'lax' as const, secure: secure(), maxAge: Math.floor(maxAgeMs / 1000) });
  // A cookie is only replaced (here: emptied) by one with the same attributes; a browser refuses a
  // `__Host-` cookie without Secure, so a bare clear would leave the old one in place.
  const clearOptions = () => { const { maxAge: _, ...rest } = cookieOptions(0); return rest; };
  const lifetimeMs = deps.sessions?.lifetimeMs ?? 12 * 3_600_000;

  // The one place the portal's security headers are set: on sending, so that whatever answers a
  // request under /portal (a page, a redirect, the error or not-found handler, an asset, a hook
  // that failed before any route ran) carries them.
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('content-security-policy', CSP);
    reply.header('x-content-type-options', 'nosniff');
    // same-origin: links out (to GitHub) carry no referrer, and form posts keep their Origin header.
    reply.header('referrer-policy', 'same-origin');
    reply.header('x-frame-options', 'DENY');
    reply.header('cross-origin-opener-policy', 'same-origin');
    // Only versioned assets say otherwise.
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    return payload;
  });

  const context = (request: FastifyRequest, extra: Partial<PageContext> = {}): PageContext => ({
    assets: assetUrls,
    ...(request.portal === null ? {} : { user: request.portal.user, csrf: request.portal.session.csrf }),
    ...extra,
  });

  const sendPage = (reply: FastifyReply, page: string, status = 200) => reply.code(status).type('text/html; charset=utf-8').send(page);

  // A path or a method the portal does not have. The page names neither: nothing typed is echoed.
  app.setNotFoundHandler(async (request, reply) => {
    const path = request.url.split('?')[0]!;
    const allowed = methodsByPath.find((entry) => entry.pattern.test(path))?.methods;
    if (allowed === undefined) return sendPage(reply, errorPage(context(request), 404, NOT_FOUND, undefined, `${BASE}/apps`), 404);
    // "The origin server MUST generate an Allow header field in a 405 response" (RFC 9110 section 15.5.6).
    reply.header('allow', [...allowed].sort().join(', '));
    return sendPage(reply, errorPage(context(request), 405, 'This page cannot be used that way.', undefined, `${BASE}/apps`), 405);
  });

  app.setErrorHandler((error: FastifyError | PortalError, request, reply) => {
    const known = toPortalError(error);
    if (known instanceof PortalError) {
      return sendPage(reply, errorPage(context(request), known.status, known.message, known.hint, backFor(request)), known.status);
    }
    const status = (error as FastifyError).statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      return sendPage(reply, errorPage(context(request), 400, 'The request could not be read.', undefined, backFor(request)), status);
    }
    request.log.error({ err: error }, 'portal request failed');
    return sendPage(reply, errorPage(context(request), 500, 'Something failed on the server.', 'Try again; the operator can find the details in the server’s log.', backFor(request)), 500);
  });

  // A session opened before its user was last removed or given a new password has ended, as the
  // user's tokens have (oauth/liveness.ts): a User restored by a revert, or a new person of the
  // same name, gets no session of the old one, whatever the password stamp says.
  const userCutOffs = cutOffs(deps.store);

  /** Loads the session; without one, GETs go to sign-in and everything else is refused. On POST, checks the CSRF token. */
  const signedIn = async (request: FastifyRequest, reply: FastifyReply) => {
    const id = request.cookies[cookieName('session')];
    const session = sessions.find(id);
    const record = session === undefined ? undefined : deps.store.users.get(session.user);
    const valid = session !== undefined && record?.passwordHash !== undefined && passwordStamp(record.passwordHash) === session.passwordStamp
      && sessionUserLive(userCutOffs, session);
    if (!valid) {
      if (id !== undefined && session !== undefined) await sessions.destroy(id);
      if (request.method === 'GET') {
        const next = encodeURIComponent(request.url);
        return reply.redirect(`${BASE}/sign-in?next=${next}`, 303);
      }
      return sendPage(reply, errorPage(context(request), 401, 'You are not signed in (or your session ended).', 'Sign in again, then repeat what you were doing.', `${BASE}/sign-in`), 401);
    }
    if (request.method === 'POST' && !sameSite(request)) {
      return sendPage(reply, errorPage(context(request), 403, 'This form was not sent from the portal.', undefined), 403);
    }
    if (request.method === 'POST' && !tokensEqual(field(request, '_csrf'), session.csrf)) {
      return sendPage(reply, errorPage(context(request), 403, 'The form expired or did not come from this portal, so nothing was done.', 'Reload the page and try again.'), 403);
    }
    request.portal = { id: id!, session: await sessions.touch(id!, session), user: portalUser(record!) };
    return undefined;
  };

  const withFlash = async (request: FastifyRequest): Promise<Flash | undefined> => {
    const signed = request.portal!;
    const flash = signed.session.flash;
    if (flash !== undefined) await sessions.setFlash(signed.id, signed.session, undefined);
    return flash;
  };

  const redirectWith = async (request: FastifyRequest, reply: FastifyReply, to: string, flash: Flash) => {
    const signed = request.portal!;
    await sessions.setFlash(signed.id, signed.session, flash);
    return reply.redirect(to, 303);
  };

  const user = (request: FastifyRequest) => request.portal!.user;
  const auth = { preHandler: signedIn };

  // Assets and the landing page.

  app.get<{ Params: { file: string }; Querystring: { v?: string } }>(`/assets/:file`, async (request, reply) => {
    const asset = assets.get(request.params.file);
    if (asset === undefined) throw new PortalError(404, NOT_FOUND);
    reply.header('cache-control', request.query.v === asset.version ? 'public, max-age=31536000, immutable' : 'no-cache');
    return reply.type(asset.type).send(asset.body);
  });

  // With the prefix, '/' is both /portal and /portal/.
  app.get('/', async (_request, reply) => reply.redirect(`${BASE}/apps`, 303));

  // Signing in and out.

  const signInForm = (reply: FastifyReply, request: FastifyRequest, form: { name?: string; error?: string; retryAfter?: string; next?: string }, status = 200) => {
    // The pre-session token: a double-submit cookie that ties the form to this browser (login CSRF).
    const token = newToken();
    reply.setCookie(cookieName('signin'), token, cookieOptions(30 * 60_000));
    return sendPage(reply, signInPage(context(request), { token, ...form }), status);
  };

  app.get<{ Querystring: { next?: string; 'signed-out'?: string } }>(`/sign-in`, async (request, reply) => {
    const next = safeNext(request.query.next);
    const flash = request.query['signed-out'] === undefined ? undefined : ({ kind: 'success', message: 'You are signed out.' } as const);
    const token = newToken();
    reply.setCookie(cookieName('signin'), token, cookieOptions(30 * 60_000));
    return sendPage(reply, signInPage(context(request, flash === undefined ? {} : { flash }), { token, ...(next === undefined ? {} : { next }) }));
  });

  app.post(`/sign-in`, async (request, reply) => {
    const name = (field(request, 'name') ?? '').trim().toLowerCase();
    const password = field(request, 'password') ?? '';
    const next = safeNext(field(request, 'next'));
    const keep = { ...(name === '' ? {} : { name }), ...(next === undefined ? {} : { next }) };
    if (!sameSite(request) || !tokensEqual(field(request, '_csrf'), request.cookies[cookieName('signin')])) {
      return signInForm(reply, request, { ...keep, error: 'The sign-in form expired or did not come from this portal. Try again.' }, 403);
    }
    const at = now();
    // request.ip: the peer, or the client a trusted proxy names (never a header parsed here).
    const address = request.ip;
    const counted = throttleName(name);
    // This user's own browser, if it says so with a device cookie the server made (devices.ts).
    const device = trustedDevice(deps.store, request.cookies[cookieName('device')], name, at, limits.knownForMs);
    const wait = throttles.blockedFor(counted, address, at, device);
    if (wait > 0) {
      reply.header('retry-after', String(Math.ceil(wait / 1000)));
      return signInForm(reply, request, { ...keep, error: 'Too many failed sign-ins.', retryAfter: `Try again in ${Math.ceil(wait / 60_000)} minute${wait > 60_000 ? 's' : ''}.` }, 429);
    }
    // Read in the same synchronous step as the user record (checkPassword reads it before its
    // first await): the session records it, and ends with a cut-off written after it.
    const userGeneration = userCutOffs.generation();
    const record = await checkPassword(deps.store, name, password);
    if (record === undefined) {
      throttles.failed(counted, address, at, device);
      // Never the name as typed: people type their password into it. Whether it names an account, and which.
      const account = accountNamed(deps.store, name);
      request.log.info(account === undefined ? { accountExists: false } : { accountExists: true, user: account }, 'portal sign-in failed');
      return signInForm(reply, request, { ...keep, error: 'The user name or password is wrong.' }, 401);
    }
    throttles.signedIn(counted, address, at, device);
    // A new id at every sign-in: a session id planted before it is worthless after it.
    const old = request.cookies[cookieName('session')];
    if (old !== undefined) await sessions.destroy(old);
    const { id } = await sessions.create(record.name, passwordStamp(record.passwordHash!), userGeneration);
    reply.setCookie(cookieName('session'), id, cookieOptions(lifetimeMs));
    // Kept after sign-out: it says only that this browser is one the user signed in from.
    reply.setCookie(cookieName('device'), deviceCookie(record.name, record.passwordHash!, at), cookieOptions(limits.knownForMs));
    reply.clearCookie(cookieName('signin'), clearOptions());
    if (at - lastSweep > SWEEP_EVERY_MS) {
      lastSweep = at;
      void sessions.sweep().catch((err: unknown) => request.log.warn({ err }, 'sweeping expired portal sessions failed'));
    }
    return reply.redirect(next ?? `${BASE}/apps`, 303);
  });

  app.post(`/sign-out`, auth, async (request, reply) => {
    await sessions.destroy(request.portal!.id);
    reply.clearCookie(cookieName('session'), clearOptions());
    return reply.redirect(`${BASE}/sign-in?signed-out=1`, 303);
  });

  // My Applications.

  app.get<{ Querystring: { status?: string } }>(`/apps`, auth, async (request, reply) => {
    const status = (APP_STATUSES as readonly string[]).includes(request.query.status ?? '') ? (request.query.status as AppStatus) : undefined;
    const overview = await service.overview(user(request));
    const flash = await withFlash(request);
    return sendPage(reply, appsPage({ ...context(request, flash === undefined ? {} : { flash }), user: user(request) }, overview, status, service.canMakeRequests));
  });

  app.get(`/apps/new`, auth, async (request, reply) => {
    requireRole(user(request), 'developer');
    const { main } = await service.snapshot();
    return sendPage(reply, appFormPage(context(request), { kind: 'new' }, EMPTY_FORM, service.scopesOf(main)));
  });

  app.post(`/apps`, auth, async (request, reply) => {
    requireRole(user(request), 'developer');
    const { main } = await service.snapshot();
    const scopes = service.scopesOf(main);
    const values = formValues(body(request));
    const { errors, valid } = validateAppForm(values, scopes.map((scope) => scope.name), { isNew: true });
    if (valid === undefined) return sendPage(reply, appFormPage(context(request), { kind: 'new' }, values, scopes, errors), 400);
    const created = await service.create(user(request), { ...valid, ...(valid.displayName === undefined ? {} : { displayName: valid.displayName }) });
    // Rendered, not redirected to: the secret exists only in this response.
    return sendPage(
      reply,
      createdPage(context(request), {
        name: valid.name,
        number: created.opened.number,
        url: created.opened.url,
        clientId: created.clientId,
        clientSecret: created.clientSecret,
        warning: created.opened.warning,
      }),
    );
  });

  // Application details.

  app.get<{ Params: { name: string } }>(`/apps/:name`, auth, async (request, reply) => {
    const name = appName(request.params.name);
    const detail = await service.application(user(request), name);
    const section = detail.canAct && detail.record !== undefined ? tokens.list(detail.record) : undefined;
    const flash = await withFlash(request);
    return sendPage(reply, detailsPage(context(request, flash === undefined ? {} : { flash }), detail, section));
  });

  // Edit: the form, then a confirmation with the plan, then the request.

  app.get<{ Params: { name: string } }>(`/apps/:name/edit`, auth, async (request, reply) => {
    const name = appName(request.params.name);
    const detail = await requestable(request, name, 'edit');
    return sendPage(reply, appFormPage(context(request), { kind: 'edit', name }, valuesOf(detail.view.onMain!), service.scopesOf(detail.main)));
  });

  app.post<{ Params: { name: string } }>(`/apps/:name/edit`, auth, async (request, reply) => {
    const name = appName(request.params.name);
    const { main } = await service.snapshot();
    const scopes = service.scopesOf(main);
    const values = formValues(body(request), name);
    const { errors, valid } = validateAppForm(values, scopes.map((scope) => scope.name), { isNew: false });
    if (valid === undefined) return sendPage(reply, appFormPage(context(request), { kind: 'edit', name }, values, scopes, errors), 400);
    const edits = {
      description: valid.description,
      displayName: valid.displayName ?? null,
      redirectUris: valid.redirectUris.length === 0 ? null : valid.redirectUris,
      scopes: valid.scopes.length === 0 ? ['open'] : valid.scopes,
      grantTypes: valid.grantTypes,
    };
    if (field(request, 'confirm') !== 'yes') {
      const preview = await service.previewEdit(user(request), name, edits);
      if (preview.what.length === 0) throw new PortalError(400, 'Nothing changes: the form holds what the application already has.');
      return sendPage(reply, editConfirmPage(context(request), name, values, preview.plan, preview.what));
    }
    const opened = await service.edit(user(request), name, edits);
    return redirectWith(request, reply, `${BASE}/apps/${name}`, {
      kind: 'success',
      message: `Your update of ${name} was submitted for approval as edit request #${opened.number}. Until a publisher approves it, ${name} keeps its current settings.`,
    });
  });

  // Deactivate, activate, cancel and rotate: a confirmation page, then the request.

  const stateAction = (path: string, kind: 'deactivate' | 'reactivate') => {
    app.get<{ Params: { name: string } }>(`/apps/:name/${path}`, auth, async (request, reply) => {
      const name = appName(request.params.name);
      await requestable(request, name, kind);
      const deactivate = kind === 'deactivate';
      return sendPage(
        reply,
        confirmPage(context(request), {
          title: `${deactivate ? 'Deactivate' : 'Activate'} ${name}?`,
          explanation: deactivate
            ? `This sends a deactivation request to the publishers. Once one approves it, ${name} gets no tokens and every token it holds stops working at once. Applications are never deleted: you can ask to activate it again.`
            : `This sends a reactivation request to the publishers. Once one approves it, ${name} can get tokens again (tokens it held before stay revoked).`,
          action: `${BASE}/apps/${name}/${path}`,
          button: deactivate ? 'Deactivate' : 'Activate',
          danger: deactivate,
          back: `${BASE}/apps/${name}`,
        }),
      );
    });
    app.post<{ Params: { name: string } }>(`/apps/:name/${path}`, auth, async (request, reply) => {
      const name = appName(request.params.name);
      const opened = await service.changeState(user(request), name, kind);
      const verb = kind === 'deactivate' ? 'deactivation' : 'activation';
      return redirectWith(request, reply, `${BASE}/apps/${name}`, {
        kind: 'success',
        message: `The ${verb} of ${name} was submitted for approval as request #${opened.number}. Until a publisher approves it, ${name} stays ${kind === 'deactivate' ? 'active' : 'inactive'}.`,
      });
    });
  };
  stateAction('deactivate', 'deactivate');
  stateAction('activate', 'reactivate');

  app.get<{ Params: { name: string } }>(`/apps/:name/cancel`, auth, async (request, reply) => {
    const name = appName(request.params.name);
    const detail = await service.application(user(request), name);
    if (!detail.canAct) throw new PortalError(403, `You have no application named ${name}.`);
    const open = detail.view.openRequest;
    if (open === undefined) throw new PortalError(409, `${name} has no open request to cancel.`);
    return sendPage(
      reply,
      confirmPage(context(request), {
        title: `Cancel ${open.kind} request #${open.number}?`,
        explanation: `The request is closed without a decision and counts as cancelled.${open.kind === 'create' ? ` ${name} is not registered, and the name is free again.` : ` ${name} stays as it is.`}`,
        action: `${BASE}/apps/${name}/cancel`,
        button: 'Cancel the request',
        danger: true,
        back: `${BASE}/apps/${name}`,
      }),
    );
  });

  app.post<{ Params: { name: string } }>(`/apps/:name/cancel`, auth, async (request, reply) => {
    const name = appName(request.params.name);
    const cancelled = await service.cancel(user(request), name);
    // A cancelled create leaves nothing to show but the list.
    return redirectWith(request, reply, cancelled.kind === 'create' ? `${BASE}/apps` : `${BASE}/apps/${name}`, {
      kind: 'success',
      message: `Your ${cancelled.kind} request #${cancelled.number} for ${name} was cancelled.`,
    });
  });

  app.get<{ Params: { name: string } }>(`/apps/:name/rotate`, auth, async (request, reply) => {
    const name = appName(request.params.name);
    await requestable(request, name, 'edit');
    return sendPage(
      reply,
      confirmPage(context(request), {
        title: `Rotate the client secret of ${name}?`,
        explanation: `This generates a new client secret, shows it to you once, and sends it sealed in an edit request. Once a publisher approves it, both secrets work; the current one stops working 7 days after now, time to move your application to the new one.`,
        action: `${BASE}/apps/${name}/rotate`,
        button: 'Rotate the secret',
        back: `${BASE}/apps/${name}#keys`,
      }),
    );
  });

  app.post<{ Params: { name: string } }>(`/apps/:name/rotate`, auth, async (request, reply) => {
    const name = appName(request.params.name);
    const rotated = await service.rotate(user(request), name);
    return sendPage(reply, rotatedPage(context(request), name, rotated.number, rotated.secret, rotated.oldExpiresAt));
  });

  // Tokens: generated through the real token endpoint; listed and revoked under the owner's authority.

  app.post<{ Params: { name: string } }>(`/apps/:name/token`, auth, async (request, reply) => {
    const name = appName(request.params.name);
    const record = await service.actorRecord(user(request), name);
    const grant = field(request, 'grant_type');
    if (grant !== 'client_credentials' && grant !== 'password' && grant !== 'refresh_token') throw new PortalError(400, 'Choose a grant type.');
    const secret = field(request, 'client_secret') ?? '';
    if (secret === '') throw new PortalError(400, 'Paste the client secret: the token endpoint needs it, and the portal does not keep it.');
    const scopes = list(request, 'scope');
    const result = await requestToken(tokenEndpoint(request), record, {
      grantType: grant as PortalGrant,
      clientSecret: secret,
      ...(grant === 'refresh_token' ? { refreshToken: (field(request, 'refresh_token') ?? '').trim() } : { scopes }),
      ...(grant === 'password' ? { username: field(request, 'username') ?? '', password: field(request, 'password') ?? '' } : {}),
    });
    return sendPage(reply, tokenResultPage(context(request), name, grant as PortalGrant, result), result.ok ? 200 : 400);
  });

  app.get<{ Params: { name: string; id: string } }>(`/apps/:name/tokens/:id/revoke`, auth, async (request, reply) => {
    const name = appName(request.params.name);
    const record = await service.actorRecord(user(request), name);
    const token = tokens.list(record).tokens.find((candidate) => candidate.id === request.params.id);
    if (token === undefined) throw new PortalError(404, 'That token is not live any more (expired or already revoked).');
    return sendPage(
      reply,
      confirmPage(context(request), {
        title: `Revoke token ${token.masked}?`,
        explanation: html`The ${token.type === 'access_token' ? 'access token' : 'refresh token (and every token rotated from it)'} for <code>${token.subject}</code> with scope <code>${token.scope || 'none'}</code> stops working at once. This cannot be undone.`,
        action: `${BASE}/apps/${name}/tokens/${token.id}/revoke`,
        button: 'Revoke',
        danger: true,
        back: `${BASE}/apps/${name}#tokens`,
      }),
    );
  });

  app.post<{ Params: { name: string; id: string } }>(`/apps/:name/tokens/:id/revoke`, auth, async (request, reply) => {
    const name = appName(request.params.name);
    const record = await service.actorRecord(user(request), name);
    const revoked = await tokens.revoke(record, request.params.id);
    if (!revoked) throw new PortalError(404, 'That token is not live any more (expired or already revoked).');
    return redirectWith(request, reply, `${BASE}/apps/${name}#tokens`, { kind: 'success', message: 'The token was revoked: it no longer works.' });
  });

  // Publishers.

  app.get(`/review`, auth, async (request, reply) => {
    const { entries, snapshot } = await service.queue(user(request));
    const flash = await withFlash(request);
    return sendPage(reply, reviewPage(context(request, flash === undefined ? {} : { flash }), entries, snapshot));
  });

  app.post<{ Params: { number: string } }>(`/review/:number/approve`, auth, async (request, reply) => {
    const number = pullNumber(request.params.number);
    // The head commit the queue showed: what the publisher reviewed is what gets merged.
    const head = field(request, 'head');
    const approved = await service.approve(user(request), number, head !== undefined && COMMIT.test(head) ? head : undefined);
    void Promise.resolve(deps.sync?.('portal approval')).catch((err: unknown) => request.log.warn({ err }, 'sync after approval failed'));
    return redirectWith(request, reply, `${BASE}/review`, {
      kind: 'success',
      message: `Approved #${approved.number} (${approved.title}): merged as ${approved.mergeCommit.slice(0, 12)}. The controller applies it at its next sync.`,
    });
  });

  app.get<{ Params: { number: string } }>(`/review/:number/reject`, auth, async (request, reply) => {
    const number = pullNumber(request.params.number);
    await service.reviewable(user(request), number);
    return sendPage(reply, rejectPage(request, number), 200);
  });

  const rejectPage = (request: FastifyRequest, number: number, error?: string) =>
    confirmPage(
      context(request, error === undefined ? {} : { flash: { kind: 'error', message: error } }),
      {
        title: `Reject request #${number}?`,
        explanation: 'The developer reads your reason in the request. A rejected create request leaves the application rejected; a rejected edit, deactivation or activation leaves it unchanged.',
        action: `${BASE}/review/${number}/reject`,
        button: 'Reject',
        danger: true,
        back: `${BASE}/review`,
        fields: html`<div class="field">
          <label for="reason">Reason <span class="required">(required)</span></label>
          <textarea id="reason" name="reason" rows="3" required maxlength="2000"${error === undefined ? undefined : html` aria-invalid="true"`}></textarea>
        </div>`,
      },
      'review',
    );

  app.post<{ Params: { number: string } }>(`/review/:number/reject`, auth, async (request, reply) => {
    const number = pullNumber(request.params.number);
    const reason = (field(request, 'reason') ?? '').trim();
    if (reason === '') return sendPage(reply, rejectPage(request, number, 'Give a reason: the developer needs to know why.'), 400);
    const rejected = await service.reject(user(request), number, reason);
    return redirectWith(request, reply, `${BASE}/review`, { kind: 'success', message: `Rejected #${rejected.number} (${rejected.title}).` });
  });

  /** The application's details, refusing (with the portal's words) what the lifecycle does not allow now. */
  async function requestable(request: FastifyRequest, name: string, kind: RequestKind): Promise<AppDetail> {
    const detail = await service.application(user(request), name);
    if (!detail.canAct) throw new PortalError(403, `You have no application named ${name}.`, 'Only its owners, who hold the developer role, make requests about an application.');
    if (!service.canMakeRequests) throw new PortalError(503, 'This server has no GitHub token, so no request can be made here.');
    const decision = isRequestAllowed(name, detail.view.status, kind, detail.view.requests);
    if (!decision.allowed) throw new PortalError(409, refusalMessage(decision.code, name, decision.message));
    return detail;
  }

  function tokenEndpoint(request: FastifyRequest): TokenEndpointCall {
    if (deps.tokenEndpoint !== undefined) return tokenEndpointAt(deps.tokenEndpoint);
    // This very server's endpoint, its throttles and logs as any client's, but injected in
    // process: over the network it would have to be https://<the listen address> under an https
    // issuer, whose certificate names the public host, and a plain HTTP listener behind a proxy
    // refuses every request that did not come through the proxy ("TLS is required").
    //
    // From the developer's address: the endpoint throttles failed client authentications and
    // password guesses per source address, and inject's default (127.0.0.1) would put every portal
    // user, and an application calling from the server's own host, behind one shared count.
    return async (headers, body) => {
      const response = await request.server.inject({ method: 'POST', url: '/oauth2/token', headers, payload: body, remoteAddress: request.ip });
      return { status: response.statusCode, body: response.body };
    };
  }
}

/**
 * A browser's form body is ASCII: the application/x-www-form-urlencoded serializer (WHATWG URL)
 * percent-encodes every other byte, as UTF-8. Raw bytes above 0x7F come from a tool, and those
 * that are not UTF-8 reach here already replaced by U+FFFD (the body is decoded before it is
 * parsed); percent-encoded bytes that are not UTF-8 would decode to U+FFFD as well. Either way
 * two different passwords could arrive as one, so both are refused (as the token endpoint does).
 * A name given twice becomes a list, as with any form parser.
 */
function parseForm(text: string): Record<string, string | string[]> {
  const unreadable = () => Object.assign(new Error('the form body is not ASCII with UTF-8 percent-encoding'), { statusCode: 400 });
  if (/[^\x00-\x7f]/.test(text)) throw unreadable();
  const decode = (raw: string) => {
    try {
      return decodeURIComponent(raw.replaceAll('+', ' '));
    } catch {
      throw unreadable();
    }
  };
  const fields: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    const name = decode(equals === -1 ? pair : pair.slice(0, equals));
    const value = equals === -1 ? '' : decode(pair.slice(equals + 1));
    const before = fields[name];
    fields[name] = before === undefined ? value : [...[before].flat(), value];
  }
  return fields;
}

function body(request: FastifyRequest): Record<string, unknown> {
  return request.body !== null && typeof request.body === 'object' ? (request.body as Record<string, unknown>) : {};
}

function field(request: FastifyRequest, name: string): string | undefined {
  const value = body(request)[name];
  return typeof value === 'string' ? value : undefined;
}

function list(request: FastifyRequest, name: string): string[] {
  const value = body(request)[name];
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : typeof value === 'string' ? [value] : [];
}

function appName(value: string): string {
  if (!NAME.test(value)) throw new PortalError(404, 'There is no such application.');
  return value;
}

function pullNumber(value: string): number {
  const number = Number(value);
  if (!/^\d{1,9}$/.test(value) || number < 1) throw new PortalError(404, NO_SUCH_REQUEST);
  return number;
}

function requireRole(user: PortalUser, role: 'developer' | 'publisher'): void {
  if (!hasRole(user, role)) throw new PortalError(403, role === 'developer' ? 'Registering applications needs the developer role.' : 'Reviewing requests needs the publisher role.');
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
const MAX_NEXT_LENGTH = 1024;

/**
 * Defence in depth beside the CSRF token: a browser says where a POST comes from. A cross-site
 * `Sec-Fetch-Site`, or an `Origin` naming another host, is refused; clients that send neither
 * (old browsers, tools), or an opaque `null` origin, still need the token.
 */
function sameSite(request: FastifyRequest): boolean {
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

function backFor(request: FastifyRequest): string {
  const match = /^\/portal\/apps\/([a-z0-9-]+)/.exec(request.url);
  if (match !== null && match[1] !== 'new') return `${BASE}/apps/${match[1]}`;
  if (request.url.startsWith(`${BASE}/review`)) return `${BASE}/review`;
  return `${BASE}/apps`;
}
