// The OAuth 2.0 server as a Fastify plugin: token, revocation, introspection, JWKS, metadata and
// the token listing routes. Register it without fastify-plugin, so its body parsing and error
// handling stay inside it:
//
//   await app.register(oauthPlugin({ config: store.config, tokens: store.tokens, keyring: store.keyring, secretHashKey, issuer }));
import type { FastifyError, FastifyInstance, FastifyPluginAsync } from 'fastify';
import { listTokensEndpoint, revokeTokenEndpoint } from './app-tokens.ts';
import { authorization, authorizationEndpoint, authorizationFormEndpoint, type Authorization } from './authorize.ts';
import { createContext, PATHS, type OAuthContext } from './context.ts';
import { preflight } from './cors.ts';
import type { OAuthDeps } from './deps.ts';
import { fromFramework, invalidRequest, methodNotAllowed, OAuthError, sendError } from './errors.ts';
import { introspectionEndpoint } from './introspection.ts';
import { jwksEndpoint } from './jwks.ts';
import { metadataEndpoint } from './metadata.ts';
import { revocationEndpoint } from './revocation.ts';
import { shareThrottles } from './throttle-sharing.ts';
import { tokenEndpoint } from './token.ts';
import { userinfoEndpoint } from './userinfo.ts';

export type { OAuthConfig, OAuthDeps, SharedHits, ThrottleSharing } from './deps.ts';
export type { OAuthOptions, SigningAlg } from './defaults.ts';
export type { Authorization, AuthorizationParse, AuthorizationRequest } from './authorize.ts';

export function oauthPlugin(deps: OAuthDeps): FastifyPluginAsync {
  return oauthServer(deps).plugin;
}

/**
 * The plugin, and the authorization endpoint's work for the portal (sign-in and consent happen
 * there: PortalDeps.authorization), bound to the context the plugin builds when it is registered.
 */
export function oauthServer(deps: OAuthDeps): { plugin: FastifyPluginAsync; authorization: Authorization } {
  let registered: OAuthContext | undefined;
  const context = () => {
    if (registered === undefined) throw new Error('the OAuth plugin is not registered yet');
    return registered;
  };
  const plugin = async function oauth(app: FastifyInstance): Promise<void> {
    const ctx = createContext(deps, (err) => app.log.error({ err }, 'OAuth background work failed'));
    registered = ctx;
    await ctx.keys.start();
    const stopSharing = shareThrottles(ctx, deps.throttleSharing);

    // Bodies are read as text and parsed by form.ts, whatever their type, so a JSON body or a
    // missing content type becomes invalid_request instead of Fastify's 415. The text must be
    // UTF-8 (RFC 6749 Appendix B): read as Fastify reads a string, a byte that is not would
    // become U+FFFD, so two different passwords or secrets could arrive as one value.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: ctx.options.bodyLimit }, (_request, body, done) => {
      const text = utf8Text(body as Buffer);
      if (text === undefined) done(invalidRequest('the request body is not UTF-8'), undefined);
      else done(null, text);
    });
    app.setErrorHandler((err: FastifyError | OAuthError, _request, reply) => sendError(reply, fromFramework(err), ctx.issuer));

    const post = { bodyLimit: ctx.options.bodyLimit };
    app.post(PATHS.token, post, tokenEndpoint(ctx));
    app.post(PATHS.revocation, post, revocationEndpoint(ctx));
    app.post(PATHS.introspection, post, introspectionEndpoint(ctx));
    app.get(PATHS.jwks, jwksEndpoint(ctx));
    app.get(PATHS.metadata, metadataEndpoint(ctx));
    app.get(PATHS.openidConfiguration, metadataEndpoint(ctx));
    app.get(PATHS.authorization, authorizationEndpoint(ctx));
    app.post(PATHS.authorization, post, authorizationFormEndpoint(ctx));
    app.get(PATHS.userinfo, userinfoEndpoint(ctx));
    app.post(PATHS.userinfo, post, userinfoEndpoint(ctx));
    app.get(PATHS.appTokens, listTokensEndpoint(ctx));
    app.delete(`${PATHS.appTokens}/:id`, revokeTokenEndpoint(ctx));
    // Every other method on these paths is 405 with `Allow`, not Fastify's 404: the resource
    // exists, the method does not.
    for (const path of [PATHS.token, PATHS.revocation, PATHS.introspection]) refuseOtherMethods(app, path, ['POST']);
    // A GET route answers HEAD as well (Fastify's exposeHeadRoutes).
    refuseOtherMethods(app, PATHS.authorization, ['GET', 'HEAD', 'POST']);
    for (const path of [PATHS.jwks, PATHS.metadata, PATHS.openidConfiguration, PATHS.appTokens]) {
      refuseOtherMethods(app, path, ['GET', 'HEAD']);
    }
    // A browser app's bearer token in the Authorization header needs a CORS preflight (cors.ts).
    app.options(PATHS.userinfo, preflight(['GET', 'POST']));
    refuseOtherMethods(app, PATHS.userinfo, ['GET', 'HEAD', 'POST', 'OPTIONS']);
    refuseOtherMethods(app, `${PATHS.appTokens}/:id`, ['DELETE']);

    const timer = setInterval(() => void maintain(app, ctx), ctx.options.maintenanceInterval);
    timer.unref();
    app.addHook('onClose', async () => {
      clearInterval(timer);
      stopSharing();
      await ctx.keys.idle();
      await ctx.tokens.flushAccessTokens();
    });
  };
  return { plugin, authorization: authorization(context) };
}

function refuseOtherMethods(app: FastifyInstance, path: string, allow: readonly string[]): void {
  const others = app.supportedMethods.filter((method) => !allow.includes(method));
  const refusal = methodNotAllowed(allow);
  // Refused on arrival, before any body is read: a large body still gets its 405.
  const refuse = async () => { throw refusal; };
  app.route({ method: others, url: path, onRequest: refuse, handler: refuse });
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function utf8Text(body: Buffer): string | undefined {
  try {
    return utf8.decode(body);
  } catch {
    return undefined;
  }
}

/**
 * Rotates signing keys when due, forgets recovered throttle entries. Expired token state is swept
 * by the process that holds the data directory's lock, not by every worker (store/sweeper.ts).
 */
async function maintain(app: FastifyInstance, ctx: OAuthContext): Promise<void> {
  const now = ctx.now();
  try {
    await ctx.keys.maintain();
    for (const throttle of Object.values(ctx.throttles)) throttle.forget(now);
  } catch (err) {
    app.log.error({ err }, 'OAuth maintenance failed');
  }
}
