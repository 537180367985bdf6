// How `mergekey token list` and `token revoke` authorise themselves on the token listing routes:
// with the application's client secret in a Basic header or, for a private_key_jwt application
// (which has no secret), with an access token the command first gets for it by signing a client
// assertion with its private key, sent as a bearer token (RFC 6750). That token asks for scope
// `open` alone, so its audience is the controller itself: the listing routes take no token meant
// for an Api.
import { appClient, basicAuthorization, call, keepGivenSecret, savedApp, type HttpAnswer, type SavedApp, type SecretInput } from './client.ts';
import { tokenGet } from './get.ts';

export interface ListingAccess {
  client: SavedApp;
  /**
   * The Authorization headers to send, in order: one per client secret to try (two during a
   * rotation, see secretsToTry), or the bearer token. The first one the controller accepts is
   * kept for the calls after it.
   */
  authorizations: string[];
  /** The key file the bearer token was got with, if it was. */
  privateKey: string | undefined;
  /** Keep a given secret once the controller accepted it. */
  save: boolean;
  env: NodeJS.ProcessEnv | undefined;
}

export async function listingAccess(
  server: string,
  app: string,
  env: NodeJS.ProcessEnv | undefined,
  privateKey: string | undefined,
  secrets: SecretInput = {},
): Promise<ListingAccess> {
  const save = secrets.save === true;
  if (privateKey === undefined) {
    const client = await appClient(server, app, env, secrets);
    return { client, authorizations: client.clientSecrets.map((secret) => basicAuthorization(client.clientId, secret)), privateKey, save, env };
  }
  // The token got here is one of the application's own, so the listing shows it too.
  const token = await tokenGet({ app, server, grant: 'client_credentials', scope: 'open', privateKey, secrets, ...(env === undefined ? {} : { env }) });
  return { client: await savedApp(server, app, env), authorizations: [`Bearer ${token.access_token}`], privateKey, save: false, env };
}

/**
 * One call to a listing route, with the first authorization the controller does not refuse as a
 * failed client authentication (401); that one is kept for the next calls, and a given secret is
 * saved once it is accepted (--save).
 */
export async function callListing(access: ListingAccess, path: string, init: RequestInit = {}): Promise<HttpAnswer> {
  for (;;) {
    const answer = await call(access.client.server, path, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: access.authorizations[0]! } });
    if (answer.status === 401 && access.authorizations.length > 1) {
      access.authorizations.shift();
      continue;
    }
    if (answer.status >= 200 && answer.status < 300 && access.save) {
      keepGivenSecret(access.client, access.env);
      access.save = false;
    }
    return answer;
  }
}

/** The --private-key option of the listing commands, worded for them. */
export const LISTING_PRIVATE_KEY_OPTION = {
  type: 'string',
  valueName: 'FILE',
  description: 'For a private_key_jwt application: its private key (a JWK, or a PEM file); the command gets a token with it first, which it then lists too.',
} as const;
