// `mergekey token revoke APP TOKEN`: revokes one live token of the application (a refresh token
// with its whole family) through `DELETE /api/v1/apps/APP/tokens/ID`. TOKEN is the id from
// `token list --format json`, or the masked form `token list` shows, which is looked up.
import { defineCommand } from '../../command.ts';
import { failure } from '../../errors.ts';
import { SERVER_OPTION, serverUrl } from '../status.ts';
import { callListing, LISTING_PRIVATE_KEY_OPTION, listingAccess } from './access.ts';
import { refusal, type SecretInput } from './client.ts';
import { SECRET_OPTIONS, secretInput } from './secret-input.ts';
import { listAll } from './list.ts';

export interface TokenRevokeOptions {
  app: string;
  /** A token id (`at_…`, `rt_…`) or its masked form (`at_3f2a...9c1d`). */
  token: string;
  server: string;
  /** For a private_key_jwt application: its private key file. */
  privateKey?: string | undefined;
  /** A client secret given for this run instead of a saved one, or how to ask for one. */
  secrets?: SecretInput | undefined;
  env?: NodeJS.ProcessEnv;
}

export interface TokenRevokeResult {
  app: string;
  id: string;
}

export async function tokenRevoke(options: TokenRevokeOptions): Promise<TokenRevokeResult> {
  const access = await listingAccess(options.server, options.app, options.env, options.privateKey, options.secrets);
  let id = options.token;
  if (id.includes('...')) {
    const matches = (await listAll(access)).filter((t) => t.masked === id);
    if (matches.length === 0) throw failure(`${options.app} holds no live token ${id}`, { hint: `'mergekey token list ${options.app}' shows the live ones.` });
    if (matches.length > 1) {
      throw failure(`${matches.length} live tokens of ${options.app} are masked as ${id}`, {
        hint: `Pass the full id from 'mergekey token list ${options.app} --format json'.`,
      });
    }
    id = matches[0]!.id;
  }
  const answer = await callListing(access, `/api/v1/apps/${encodeURIComponent(options.app)}/tokens/${encodeURIComponent(id)}`, {
    method: 'DELETE',
    headers: { accept: 'application/json' },
  });
  if (answer.status === 404) {
    throw failure(`${options.app} holds no live token ${id} (expired, revoked already, or never issued)`, {
      hint: `'mergekey token list ${options.app}' shows the live ones.`,
    });
  }
  if (answer.status !== 204) throw refusal('the token revocation', answer, access.client, access.privateKey);
  return { app: options.app, id };
}

export const command = defineCommand({
  summary: 'Revoke one of an application\'s tokens.',
  description:
    "Revoke a live token of an application: an access token stops introspecting as active at once; a " +
    'refresh token is revoked with its whole family (every refresh and access token rotated from the ' +
    'same grant). TOKEN is the masked form `mergekey token list` shows or the full id from ' +
    '`--format json`. Authorised by the application\'s own credentials from the local credentials file ' +
    '(or a secret given on stdin with --secret-stdin, or typed at the prompt when none is saved), ' +
    'or for a private_key_jwt application by a token got with --private-key.',
  arguments: [
    { name: 'APP', description: 'The application (metadata.name).', required: true },
    { name: 'TOKEN', description: 'The token, as `mergekey token list` shows it.', required: true },
  ],
  options: { server: SERVER_OPTION, 'private-key': LISTING_PRIVATE_KEY_OPTION, ...SECRET_OPTIONS },
  examples: ['mergekey token revoke order-sync at_3f2a...9c1d'],
  run: async (input) => tokenRevoke({ app: input.app, token: input.token, server: serverUrl(input.server), privateKey: input.privateKey, secrets: await secretInput(input) }),
  render: (result) => `revoked ${result.id} of ${result.app}\n`,
});
