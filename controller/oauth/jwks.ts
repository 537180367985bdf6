// GET /oauth2/jwks: the public keys resource servers check access tokens with (RFC 7517).
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { OAuthContext } from './context.ts';
import { allowAnyOrigin } from './cors.ts';

export function jwksEndpoint(ctx: OAuthContext) {
  return async function jwks(_request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    // The next key is published a whole rotation period before it signs, so a cache of a few
    // minutes never misses a key in use.
    allowAnyOrigin(reply);
    return reply.header('cache-control', 'public, max-age=300').type('application/jwk-set+json').send(ctx.keys.jwks());
  };
}
