// How `mergekey token list` and `token revoke` authorise themselves on the token listing routes:
// with the application's saved secret in a Basic header or, for a private_key_jwt application
// (which has no secret), with an access token the command first gets for it by signing a client
// assertion with its private key, sent as a bearer token (RFC 6750). That token asks for scope
// `open` alone, so its audience is the controller itself: the listing routes take no token meant
// for an Api.
import { appClient, basicAuthorization, savedApp, type SavedApp } from './client.ts';
import { tokenGet } from './get.ts';

export interface ListingAccess {
  client: SavedApp;
  /** The Authorization header to send. */
  authorization: string;
  /** The key file the bearer token was got with, if it was. */
  privateKey: string | undefined;
}

export async function listingAccess(server: string, app: string, env: NodeJS.ProcessEnv | undefined, privateKey: string | undefined): Promise<ListingAccess> {
  if (privateKey === undefined) {
    const client = await appClient(server, app, env);
    return { client, authorization: basicAuthorization(client.clientId, client.clientSecret), privateKey };
  }
  // The token got here is one of the application's own, so the listing shows it too.
  const token = await tokenGet({ app, server, grant: 'client_credentials', scope: 'open', privateKey, ...(env === undefined ? {} : { env }) });
  return { client: await savedApp(server, app, env), authorization: `Bearer ${token.access_token}`, privateKey };
}

/** The --private-key option of the listing commands, worded for them. */
export const LISTING_PRIVATE_KEY_OPTION = {
  type: 'string',
  valueName: 'FILE',
  description: 'For a private_key_jwt application: its private key (a JWK, or a PEM file); the command gets a token with it first, which it then lists too.',
} as const;
