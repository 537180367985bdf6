// GET and POST /oauth2/userinfo (OpenID Connect Core 1.0 section 5.3): the signed-in person's
// claims, for an access token that carries `openid`, presented as an RFC 6750 bearer token in the
// Authorization header. Claims come from the User manifest: `sub` always; `name` and
// `preferred_username` with `profile`; `email` with `email`, where the manifest has one.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { OAuthContext } from './context.ts';
import { allowClientOrigin } from './cors.ts';
import { USER_SUBJECT_PREFIX } from './defaults.ts';
import { insufficientScope, invalidRequest, invalidToken, noStore } from './errors.ts';
import { OPENID_SCOPE } from './scopes.ts';
import { findAccessToken } from './token-lookup.ts';

export interface UserInfo {
  sub: string;
  name?: string;
  preferred_username?: string;
  email?: string;
}

// RFC 6750 section 2.1: "Bearer" 1*SP b64token.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** Steps: read the bearer token → require it live (liveness.ts) → require `openid` and a person → answer the claims. */
export function userinfoEndpoint(ctx: OAuthContext) {
  return async function userinfo(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const token = bearerToken(request.headers.authorization);
    const found = await findAccessToken(ctx, token);
    if (found === undefined) throw invalidToken('the access token is expired, revoked or not one of this server\'s');
    // Any page of the application that holds the token may read its user's claims (cors.ts).
    allowClientOrigin(request, reply, found.app, { anyClient: true });
    const scopes = found.claims.scope.split(' ');
    if (!scopes.includes(OPENID_SCOPE)) throw insufficientScope('the access token does not carry the openid scope');
    const { sub } = found.claims;
    // A client's own token (client_credentials) carries no person to describe.
    const user = sub.startsWith(USER_SUBJECT_PREFIX) ? ctx.config.user(sub.slice(USER_SUBJECT_PREFIX.length)) : undefined;
    if (user === undefined) throw invalidToken('the access token was not issued for a person');
    const claims: UserInfo = { sub };
    if (scopes.includes('profile')) {
      claims.name = user.spec.displayName ?? user.name;
      claims.preferred_username = user.name;
    }
    if (scopes.includes('email') && user.spec.email !== undefined) claims.email = user.spec.email;
    return noStore(reply).send(claims);
  };
}

/**
 * The bearer token of the Authorization header. RFC 6750 section 3.1: a request without one is
 * answered with the challenge; the form-body and query ways of sending one (sections 2.2, 2.3)
 * are not accepted, so a token never travels where logs and caches keep it.
 */
function bearerToken(header: string | undefined): string {
  if (header === undefined) throw invalidToken('send the access token in an Authorization header (Bearer)');
  const match = BEARER.exec(header);
  if (match === null) throw invalidRequest('malformed Authorization header: expected Bearer and a token');
  return match[1]!;
}
