// Try sign-in, for the owners of an application that lists the authorization_code grant: the
// portal runs the flow as the application's client against this server (PKCE S256, state, nonce)
// with its own callback page as the redirect URI, which the application must have registered;
// the callback exchanges the code through the token endpoint, as Generate token does, and shows
// what came back. A confidential application's exchange needs its secret, asked for in a form.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { redirectUriRegistered } from '../../oauth/authorize.ts';
import { user } from '../auth/signed-in.ts';
import type { PortalContext } from '../context.ts';
import { appName, field } from '../input.ts';
import { tryResultPage, trySecretPage, tryUnavailablePage } from '../pages/try-sign-in.ts';
import { requireTrySignIn } from '../policy.ts';
import { PortalError } from '../portal-errors.ts';
import { sendPage } from '../responses.ts';
import { requestToken } from '../tokens.ts';
import { ATTEMPT_MS, callbackUrl, challengeOf, claimsOf, newAttempt, openAttempt, sealAttempt, type Attempt } from '../try-sign-in.ts';
import { tokenEndpointFor } from './tokens.ts';

const UNKNOWN_ATTEMPT = 'This sign-in attempt is unknown or expired.';
const START_AGAIN = 'Start again with Try sign-in on the application’s page.';

export function trySignInRoutes(app: FastifyInstance, ctx: PortalContext): void {
  const { deps, service, cookies, auth, now } = ctx;
  const cookie = cookies.name('try-sign-in');

  app.get<{ Params: { name: string } }>(`/apps/:name/try-sign-in`, auth, async (request, reply) => {
    const name = appName(request.params.name);
    const record = await service.actorRecord(user(request), name);
    requireTrySignIn(record);
    const callback = callbackUrl(deps.issuer());
    // Matched as the authorization endpoint matches it: exactly, but for a loopback http URI's port (RFC 8252 7.3).
    if (callback === undefined || !redirectUriRegistered(record.spec.redirectUris ?? [], callback)) {
      return sendPage(reply, tryUnavailablePage(ctx.page(request), name, callback));
    }
    const attempt = newAttempt(name, now());
    reply.setCookie(cookie, sealAttempt(attempt, request.portal!.session.csrf), cookies.options(ATTEMPT_MS));
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: record.spec.clientId,
      redirect_uri: callback,
      scope: record.spec.scopes.join(' '),
      state: attempt.state,
      nonce: attempt.nonce,
      code_challenge: challengeOf(attempt.verifier),
      code_challenge_method: 'S256',
    });
    return reply.redirect(`/oauth2/authorize?${query.toString()}`, 303);
  });

  /** The attempt of this session, or a 400 page; the cookie goes once the attempt ends. */
  function attemptOf(request: FastifyRequest): Attempt {
    const attempt = openAttempt(request.cookies[cookie], request.portal!.session.csrf, now());
    if (attempt === undefined) throw new PortalError(400, UNKNOWN_ATTEMPT, START_AGAIN);
    return attempt;
  }

  async function exchange(request: FastifyRequest, reply: FastifyReply, attempt: Attempt, code: string, secret: string) {
    const record = await service.actorRecord(user(request), attempt.app);
    requireTrySignIn(record);
    reply.clearCookie(cookie, cookies.clearOptions());
    const result = await requestToken(tokenEndpointFor(deps, request), record, {
      grantType: 'authorization_code', clientSecret: secret, code, redirectUri: callbackUrl(deps.issuer()) ?? '', codeVerifier: attempt.verifier,
    });
    if (!result.ok) return sendPage(reply, tryResultPage(ctx.page(request), attempt.app, { result }), 400);
    const idClaims = claimsOf(result.idToken);
    return sendPage(reply, tryResultPage(ctx.page(request), attempt.app, {
      result, accessClaims: claimsOf(result.accessToken), idClaims, nonceMatches: idClaims?.nonce === attempt.nonce,
    }));
  }

  app.get<{ Querystring: Record<string, string | string[] | undefined> }>(`/try-sign-in/callback`, auth, async (request, reply) => {
    const attempt = attemptOf(request);
    const text = (key: string) => (typeof request.query[key] === 'string' ? (request.query[key] as string) : undefined);
    // RFC 6749 10.12: a callback whose state is not the one sent is not this attempt's answer.
    if (text('state') !== attempt.state) throw new PortalError(400, 'The answer’s state is not the one the portal sent: it does not belong to this attempt.', START_AGAIN);
    // RFC 9207 2.4: the server says it sends `iss`; an answer naming another issuer (or none) is refused.
    if (text('iss') !== deps.issuer()) throw new PortalError(400, 'The answer does not come from this server (its iss parameter is missing or another issuer’s).', START_AGAIN);
    const error = text('error');
    if (error !== undefined) {
      reply.clearCookie(cookie, cookies.clearOptions());
      return sendPage(reply, tryResultPage(ctx.page(request), attempt.app, { result: { ok: false, error, description: text('error_description') } }), 400);
    }
    const code = text('code');
    if (code === undefined || code === '') throw new PortalError(400, 'The answer carries no authorization code.', START_AGAIN);
    const record = await service.actorRecord(user(request), attempt.app);
    if (record.spec.tokenEndpointAuthMethod !== 'none') return sendPage(reply, trySecretPage(ctx.page(request), attempt.app, code));
    return exchange(request, reply, attempt, code, '');
  });

  app.post(`/try-sign-in/callback`, auth, async (request, reply) => {
    const attempt = attemptOf(request);
    const secret = field(request, 'client_secret') ?? '';
    if (secret === '') throw new PortalError(400, 'Paste the client secret: the token endpoint needs it, and the portal does not keep it.');
    return exchange(request, reply, attempt, field(request, 'code') ?? '', secret);
  });
}
