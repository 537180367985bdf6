// Client authentication at the token, revocation and introspection endpoints (RFC 6749 section
// 2.3, RFC 7523): client_secret_basic, client_secret_post and private_key_jwt; and at the token
// endpoint, public clients (`none`: RFC 6749 section 2.1, a client "incapable of maintaining the
// confidentiality of their credentials"), which present their client id alone and are held to
// the grants PKCE protects (token.ts).
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import { decodeJwt } from 'jose';
import { PUBLIC_CLIENT_METHOD, type AuthMethod, type SecretAuthMethod } from '../manifests/vocabulary.ts';
import { clientSecretMatches } from '../sealing/hashes.ts';
import type { ApplicationRecord, StoredClientSecret } from '../store/records.ts';
import { verifyClientAssertion } from './assertion.ts';
import { parseBasicAuthorization } from './basic.ts';
import type { OAuthContext } from './context.ts';
import { JWT_BEARER_ASSERTION_TYPE } from './defaults.ts';
import { invalidClient, invalidRequest, OAuthError, slowDown } from './errors.ts';
import type { Params } from './form.ts';
import { retryAfterSeconds } from './throttle.ts';

export interface AuthenticatedClient {
  app: ApplicationRecord;
  method: AuthMethod;
  /** The store's cut-off generation `app` was read at: the tokens issued to it record it (liveness.ts). */
  generation: number;
}

/**
 * Whose allowance a request counts against (the plan's token request rate, the misses of
 * introspection and revocation): the application, once it has proven who it is. A public client
 * proves nothing by its client id, which anybody can read in its page, so its requests count
 * per application and source address: nobody can spend a single-page app's allowance, and with
 * it the sign-in, refresh and sign-out of all its users.
 */
export function allowanceKey(client: AuthenticatedClient, request: FastifyRequest): string {
  return client.method === PUBLIC_CLIENT_METHOD ? `${client.app.name}\u0000${request.ip}` : client.app.name;
}

/** What the request presents, before anything is checked. */
type Presented =
  | { method: SecretAuthMethod; clientId: string; secret: string }
  | { method: 'private_key_jwt'; clientId: string; assertion: string }
  | { method: 'none'; clientId: string };

/** Whether a client may present its client id alone (`none`): the token endpoint only. */
export interface AuthenticationOptions {
  allowPublic?: boolean;
}

// The longest client id a manifest allows; anything longer is no client's.
const MAX_CLIENT_ID_LENGTH = 128;

/** Steps: read the credentials, refuse while throttled, verify them, require an active application. */
export async function authenticateClient(
  ctx: OAuthContext, request: FastifyRequest, params: Params, options: AuthenticationOptions = {},
): Promise<AuthenticatedClient> {
  const presented = presentedCredentials(request, params, options);
  // Read in the same synchronous step as the application record (verifyCredentials looks it up
  // before its first await), so from one LMDB read snapshot.
  const generation = ctx.tokens.cutOffs.generation();
  const app = await throttled(ctx, request, presented.clientId, () => verifyCredentials(ctx, presented, request.log));
  return { app, method: presented.method, generation };
}

/**
 * For the token listing routes: a secret of the application in a Basic header, whatever method
 * its manifest names for the token endpoint. Failures count in the same throttle.
 */
export async function authenticateBasic(ctx: OAuthContext, request: FastifyRequest): Promise<ApplicationRecord> {
  const basic = parseBasicAuthorization(request.headers.authorization);
  if (basic === undefined) throw invalidClient('authenticate with the application\'s client id and secret (HTTP Basic)');
  return throttled(ctx, request, basic.clientId, async () => {
    const app = lookUp(ctx, basic.clientId);
    const matches = secretMatches(ctx, app?.secrets ?? [NO_SUCH_SECRET], basic.secret);
    return matches ? app : undefined;
  });
}

/**
 * Runs `verify` unless failures from this client id and source address are throttled, counts
 * its failure, and requires the application it yields to be active.
 */
async function throttled(
  ctx: OAuthContext, request: FastifyRequest, clientId: string, verify: () => Promise<ApplicationRecord | undefined>,
): Promise<ApplicationRecord> {
  // Keyed by source address too: failures from elsewhere never lock the rightful client out.
  // Ids longer than any manifest allows share one entry, so they cannot fill memory.
  const failureKey = `${clientId.slice(0, MAX_CLIENT_ID_LENGTH + 1)}\u0000${request.ip}`;
  const { clientAuthFailures } = ctx.throttles;
  const perMinute = ctx.options.clientAuthFailuresPerMinute;
  const wait = clientAuthFailures.wait(failureKey, ctx.now(), perMinute);
  if (wait > 0) throw slowDown(retryAfterSeconds(wait), 'too many failed client authentications; retry later');
  let app: ApplicationRecord | undefined;
  try {
    app = await verify();
  } catch (err) {
    if (err instanceof OAuthError && err.code === 'invalid_client') clientAuthFailures.hit(failureKey, ctx.now(), perMinute);
    throw err;
  }
  if (app === undefined) {
    clientAuthFailures.hit(failureKey, ctx.now(), perMinute);
    throw invalidClient();
  }
  // An inactive application gets nothing, whatever it presents.
  if (app.spec.state !== 'active') throw invalidClient('the application is inactive');
  return app;
}

/** RFC 6749 section 2.3: "The client MUST NOT use more than one authentication method in each request." */
export function presentedCredentials(request: FastifyRequest, params: Params, options: AuthenticationOptions = {}): Presented {
  const basic = parseBasicAuthorization(request.headers.authorization);
  const secret = params.get('client_secret');
  const assertion = params.get('client_assertion');
  const assertionType = params.get('client_assertion_type');
  const bodyClientId = params.get('client_id');
  const used = Number(basic !== undefined) + Number(secret !== undefined) + Number(assertion !== undefined || assertionType !== undefined);
  if (used > 1) throw invalidRequest('the request uses more than one client authentication method');
  if (basic !== undefined) {
    if (bodyClientId !== undefined && bodyClientId !== basic.clientId) throw invalidRequest('client_id does not match the Authorization header');
    return { method: 'client_secret_basic', clientId: basic.clientId, secret: basic.secret };
  }
  if (secret !== undefined) {
    if (bodyClientId === undefined) throw invalidRequest('client_secret_post requires client_id');
    return { method: 'client_secret_post', clientId: bodyClientId, secret };
  }
  if (assertion !== undefined || assertionType !== undefined) {
    if (assertionType !== JWT_BEARER_ASSERTION_TYPE) throw invalidRequest(`client_assertion_type must be ${JWT_BEARER_ASSERTION_TYPE}`);
    if (assertion === undefined) throw invalidRequest('missing required parameter \'client_assertion\'');
    return { method: 'private_key_jwt', clientId: bodyClientId ?? assertionIssuer(assertion), assertion };
  }
  // A public client identifies itself (RFC 6749 section 4.1.3: "client_id REQUIRED, if the client
  // is not authenticating with the authorization server"); its manifest must say it is one.
  if (options.allowPublic === true && bodyClientId !== undefined) return { method: 'none', clientId: bodyClientId };
  // RFC 6749 section 5.2, invalid_client: "no client authentication included".
  throw invalidClient('client authentication is required');
}

function assertionIssuer(assertion: string): string {
  try {
    const { iss } = decodeJwt(assertion);
    if (typeof iss === 'string' && iss !== '') return iss;
  } catch {
    // Malformed: answered like any other failed authentication below.
  }
  throw invalidClient();
}

// Compared against when the client is unknown, so that case costs what a wrong secret costs.
const NO_SUCH_SECRET: StoredClientSecret = { hash: 'A'.repeat(43) };

/** The application, if the credentials are its own and of the method its manifest names. */
async function verifyCredentials(ctx: OAuthContext, presented: Presented, log: FastifyBaseLogger): Promise<ApplicationRecord | undefined> {
  const app = lookUp(ctx, presented.clientId);
  // A public client has no credential to check: only that its manifest makes it one. A client
  // with a secret or keys that leaves them out is refused like a wrong secret.
  if (presented.method === 'none') return app?.spec.tokenEndpointAuthMethod === 'none' ? app : undefined;
  if (presented.method === 'private_key_jwt') {
    if (app === undefined || app.spec.tokenEndpointAuthMethod !== 'private_key_jwt') return undefined;
    await verifyClientAssertion(ctx, app, presented.assertion, log);
    return app;
  }
  const matches = secretMatches(ctx, app?.secrets ?? [NO_SUCH_SECRET], presented.secret);
  if (app === undefined || !matches || app.spec.tokenEndpointAuthMethod !== presented.method) return undefined;
  return app;
}

function lookUp(ctx: OAuthContext, clientId: string): ApplicationRecord | undefined {
  return clientId.length > MAX_CLIENT_ID_LENGTH ? undefined : ctx.config.applicationByClientId(clientId);
}

/** Any unexpired secret of the application: two are valid while a rotation is under way. */
export function secretMatches(ctx: OAuthContext, secrets: readonly StoredClientSecret[], secret: string): boolean {
  const now = ctx.now();
  let matches = false;
  for (const stored of secrets) {
    if (stored.expiresAt !== undefined && Date.parse(stored.expiresAt) <= now) continue;
    // Every secret is compared, so the time taken does not tell which one matched.
    if (clientSecretMatches(ctx.secretHashKey, secret, stored.hash)) matches = true;
  }
  return matches;
}
