// An application's tokens, for its owners: Generate Access Token through the real token endpoint
// (the developer pastes the secret; the portal keeps none), and revoking a live token in process,
// under the owner's authority, after a confirmation.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { redirectWith, user } from '../auth/signed-in.ts';
import type { PortalContext, PortalDeps } from '../context.ts';
import { isGrantType } from '../../manifests/vocabulary.ts';
import { html } from '../html.ts';
import { appName, field, list } from '../input.ts';
import { tokenResultPage } from '../pages/app-details.ts';
import { confirmPage } from '../pages/confirm.ts';
import { BASE } from '../pages/layout.ts';
import { sendPage } from '../responses.ts';
import { PortalError } from '../portal-errors.ts';
import { requestToken, tokenEndpointAt, type TokenEndpointCall } from '../tokens.ts';
import { GENERATED_COOKIE_MS, openAnswer, sealAnswer } from '../generated.ts';

export function tokenRoutes(app: FastifyInstance, ctx: PortalContext): void {
  const { deps, service, tokens, auth } = ctx;

  // Post/redirect/get: the POST asks the token endpoint and keeps its answer in the session; the
  // GET it redirects to shows the answer once. Reloading that page repeats the GET, which finds
  // nothing and makes no other token, where reloading a page answered by the POST would resend it.
  app.post<{ Params: { name: string } }>(`/apps/:name/token`, auth, async (request, reply) => {
    const name = appName(request.params.name);
    const record = await service.actorRecord(user(request), name);
    const grant = field(request, 'grant_type');
    if (!isGrantType(grant)) throw new PortalError(400, 'Choose a grant type.');
    const secret = field(request, 'client_secret') ?? '';
    // A public client (none) has no secret: it names itself by its client id alone.
    if (secret === '' && record.spec.tokenEndpointAuthMethod !== 'none') {
      throw new PortalError(400, 'Paste the client secret: the token endpoint needs it, and the portal does not keep it.');
    }
    const answer = await requestToken(tokenEndpointFor(deps, request), record, {
      grantType: grant,
      clientSecret: secret,
      // For the refresh grant, scopes narrow the access token to some of those granted (RFC 6749 section 6).
      scopes: list(request, 'scope'),
      ...(grant === 'refresh_token' ? { refreshToken: (field(request, 'refresh_token') ?? '').trim() } : {}),
      ...(grant === 'password' ? { username: field(request, 'username') ?? '', password: field(request, 'password') ?? '' } : {}),
    });
    const signed = request.portal!;
    const { sealed, key } = sealAnswer(name, { grant, answer });
    await ctx.sessions.setGenerated(signed.id, signed.session, sealed);
    reply.setCookie(ctx.cookies.name('generated'), key, ctx.cookies.options(GENERATED_COOKIE_MS));
    return reply.redirect(`${BASE}/apps/${name}/token`, 303);
  });

  app.get<{ Params: { name: string } }>(`/apps/:name/token`, auth, async (request, reply) => {
    const name = appName(request.params.name);
    const record = await service.actorRecord(user(request), name);
    const signed = request.portal!;
    const cookie = ctx.cookies.name('generated');
    const generated = openAnswer(name, signed.session.generated, request.cookies[cookie]);
    // Shown or not, what was kept for this page goes, and its key with it.
    if (signed.session.generated?.app === name) signed.session = await ctx.sessions.setGenerated(signed.id, signed.session, undefined);
    reply.clearCookie(cookie, ctx.cookies.clearOptions());
    if (generated === undefined) {
      return redirectWith(ctx, request, reply, `${BASE}/apps/${name}#generate`, {
        kind: 'success',
        message: 'A generated token is shown once and kept nowhere: generate another one here if you need it.',
      });
    }
    return sendPage(reply, tokenResultPage(ctx.page(request), record, generated.grant, generated.answer));
  });

  app.get<{ Params: { name: string; id: string } }>(`/apps/:name/tokens/:id/revoke`, auth, async (request, reply) => {
    const name = appName(request.params.name);
    const record = await service.actorRecord(user(request), name);
    const token = (await tokens.list(record)).tokens.find((candidate) => candidate.id === request.params.id);
    if (token === undefined) throw new PortalError(404, 'That token is not live any more (expired or already revoked).');
    return sendPage(
      reply,
      confirmPage(ctx.page(request), {
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
    return redirectWith(ctx, request, reply, `${BASE}/apps/${name}#tokens`, { kind: 'success', message: 'The token was revoked: it no longer works.' });
  });
}

/** The token endpoint the portal calls for `request` (Generate token, Try sign-in). */
export function tokenEndpointFor(deps: PortalDeps, request: FastifyRequest): TokenEndpointCall {
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
