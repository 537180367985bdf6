// Cross-origin requests from browser apps (the Fetch standard's CORS protocol). A single-page app
// (a public client) exchanges its code, refreshes and revokes from the browser, and any app's page
// may call userinfo: those answers may be read by a page whose origin is the origin of one of the
// application's registered redirect URIs, and by no other (node-oidc-provider's default
// `clientBasedCORS` makes the same choice). The discovery documents and the JWKS are public, read
// by any origin. Nothing else answers a cross-origin page: without `Access-Control-Allow-Origin`
// the browser keeps the answer from it.
//
// A preflight (OPTIONS) names no client, so it is answered for any origin; it only lets the browser
// send the request, whose answer is then readable only by the client's own origins. Cookies are
// never involved (no Allow-Credentials): these endpoints authenticate by what the request carries.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PUBLIC_CLIENT_METHOD } from '../manifests/vocabulary.ts';
import type { ApplicationRecord } from '../store/records.ts';

/** The origins of an application's redirect URIs: where its pages run. */
export function applicationOrigins(app: ApplicationRecord): Set<string> {
  const origins = new Set<string>();
  for (const uri of app.spec.redirectUris ?? []) {
    try {
      const { origin } = new URL(uri);
      if (origin !== 'null') origins.add(origin);
    } catch {
      // Not a URL (the manifest's rules refuse it); no origin.
    }
  }
  return origins;
}

/**
 * Lets a page of `app` read this answer: when the request comes from one of the application's
 * origins and, unless `anyClient`, the application is a public client (a confidential client's
 * credentials have no business in a browser).
 */
export function allowClientOrigin(request: FastifyRequest, reply: FastifyReply, app: ApplicationRecord, options: { anyClient?: boolean } = {}): void {
  const origin = request.headers.origin;
  reply.header('vary', 'Origin');
  if (origin === undefined) return;
  if (options.anyClient !== true && app.spec.tokenEndpointAuthMethod !== PUBLIC_CLIENT_METHOD) return;
  if (applicationOrigins(app).has(origin)) reply.header('access-control-allow-origin', origin);
}

/** A public document (discovery, JWKS): any origin reads it. */
export function allowAnyOrigin(reply: FastifyReply): void {
  reply.header('access-control-allow-origin', '*');
}

/**
 * OPTIONS on an endpoint a browser app calls: lets it send `methods` with an Authorization header
 * (userinfo's bearer token) and a form body. Answered for any origin; see the header.
 */
export function preflight(methods: readonly string[]) {
  return async function answerPreflight(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const origin = request.headers.origin;
    reply.code(204).header('allow', [...methods, 'OPTIONS'].join(', ')).header('vary', 'Origin');
    if (origin === undefined || request.headers['access-control-request-method'] === undefined) return reply.send();
    return reply
      .header('access-control-allow-origin', origin)
      .header('access-control-allow-methods', methods.join(', '))
      .header('access-control-allow-headers', 'authorization, content-type')
      .header('access-control-max-age', '600')
      .send();
  };
}
