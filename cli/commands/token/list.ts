// `mergekey token list APP`: the application's live access and refresh tokens, masked, from
// `GET /api/v1/apps/APP/tokens`, authorised by the application's own saved credentials.
import type { TokenSummary } from '../../../controller/oauth/live-tokens.ts';
import { defineCommand } from '../../command.ts';
import { failure } from '../../errors.ts';
import { SERVER_OPTION, serverUrl } from '../status.ts';
import { callListing, LISTING_PRIVATE_KEY_OPTION, listingAccess, type ListingAccess } from './access.ts';
import { refusal, type SecretInput } from './client.ts';
import { SECRET_OPTIONS, secretInput } from './secret-input.ts';

// One token as the controller lists it: the wire type is the server's own.
export type { TokenSummary };

export interface TokenListOptions {
  app: string;
  server: string;
  /** For a private_key_jwt application: its private key file. */
  privateKey?: string | undefined;
  /** A client secret given for this run instead of a saved one, or how to ask for one. */
  secrets?: SecretInput | undefined;
  env?: NodeJS.ProcessEnv;
}

export interface TokenListResult {
  app: string;
  issuer: string;
  tokens: TokenSummary[];
}

/** Pages are followed to the end; a page holds up to the server's limit. */
const PAGE = 1000;

export async function tokenList(options: TokenListOptions): Promise<TokenListResult> {
  const access = await listingAccess(options.server, options.app, options.env, options.privateKey, options.secrets);
  return { app: options.app, issuer: access.client.issuer, tokens: await listAll(access) };
}

export async function listAll(access: ListingAccess): Promise<TokenSummary[]> {
  const { client, privateKey } = access;
  const tokens: TokenSummary[] = [];
  let after: string | undefined;
  do {
    const query = new URLSearchParams({ limit: String(PAGE), ...(after === undefined ? {} : { after }) });
    const answer = await callListing(access, `/api/v1/apps/${encodeURIComponent(client.app)}/tokens?${query}`, { headers: { accept: 'application/json' } });
    if (answer.status !== 200) throw refusal('the token listing', answer, client, privateKey);
    const page = answer.json as { tokens?: TokenSummary[]; next?: string } | undefined;
    if (!Array.isArray(page?.tokens)) throw failure(`the token listing answered 200 without a list: ${answer.text.slice(0, 200)}`);
    tokens.push(...page.tokens);
    after = page.next;
  } while (after !== undefined);
  return tokens;
}

export function formatTokenList(result: TokenListResult): string {
  if (result.tokens.length === 0) return `${result.app} holds no live token.\n`;
  const rows = result.tokens.map((t) => [t.masked, t.type === 'access_token' ? 'access' : 'refresh', t.subject, t.scope, t.issuedAt, t.expiresAt]);
  const header = ['TOKEN', 'TYPE', 'SUBJECT', 'SCOPE', 'ISSUED', 'EXPIRES'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)].join('\n') + `\n\n${result.tokens.length} live token${result.tokens.length === 1 ? '' : 's'}; revoke one with 'mergekey token revoke ${result.app} TOKEN'.\n`;
}

export const command = defineCommand({
  summary: "List an application's live tokens, masked.",
  description:
    "List the live (unexpired, unrevoked) access and refresh tokens of an application, masked, with " +
    'their subject, scope and times. Authorised by the application\'s own credentials from the local ' +
    'credentials file (or a secret given on stdin with --secret-stdin, or typed at the prompt when none is saved), ' +
    'or for a private_key_jwt application by a token got with --private-key. ' +
    '--format json includes each token\'s full id (a handle, not a credential).',
  arguments: [{ name: 'APP', description: 'The application (metadata.name).', required: true }],
  options: {
    server: SERVER_OPTION,
    'private-key': LISTING_PRIVATE_KEY_OPTION,
    ...SECRET_OPTIONS,
    format: { type: 'string', valueName: 'FORMAT', description: 'text prints a table; json prints the list.', choices: ['text', 'json'], default: 'text' },
  },
  examples: ['mergekey token list order-sync', 'mergekey token list order-sync --format json'],
  run: async (input) => tokenList({ app: input.app, server: serverUrl(input.server), privateKey: input.privateKey, secrets: await secretInput(input) }),
  render: (result, input) => (input.format === 'json' ? JSON.stringify(result, null, 2) + '\n' : formatTokenList(result)),
});
