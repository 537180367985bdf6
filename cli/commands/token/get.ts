// `mergekey token get APP`: asks the controller's token endpoint for a token with the
// application's own credentials (from the local credentials file), as the application itself
// would — a quick way for a developer to try an application's scopes or call an API by hand.
import { AUTH_METHODS, DEFAULT_AUTH_METHOD, GRANT_TYPES, type GrantType, type SecretAuthMethod } from '../../../controller/manifests/vocabulary.ts';
import { defineCommand } from '../../command.ts';
import { failure, usageError } from '../../errors.ts';
import { SERVER_OPTION, serverUrl } from '../status.ts';
import { JWT_BEARER_ASSERTION_TYPE, readSigningKey, signClientAssertion } from './assertion.ts';
import { requireKnownScopes } from '../../suggest.ts';
import { readSecretLine, SECRET_OPTIONS, secretInput } from './secret-input.ts';
import { appClient, basicAuthorization, call, callWithSecrets, keepGivenSecret, refusal, savedApp, type HttpAnswer, type SavedApp, type SecretInput } from './client.ts';

/** The methods that authenticate with a client secret; private_key_jwt signs with --private-key instead. */
const SECRET_METHODS: readonly SecretAuthMethod[] = AUTH_METHODS.filter((method): method is SecretAuthMethod => method !== 'private_key_jwt' && method !== 'none');

export interface TokenGetOptions {
  app: string;
  server: string;
  grant: GrantType;
  /** Space-separated; absent asks for all of the application's scopes. */
  scope?: string | undefined;
  username?: string | undefined;
  /** For the password grant; read from stdin or the terminal by the command. */
  password?: string | undefined;
  /** For the refresh_token grant; read from stdin or the terminal by the command, as the password. */
  refreshToken?: string | undefined;
  authMethod?: SecretAuthMethod;
  /** For a private_key_jwt application: the file with the private key to sign a client assertion. */
  privateKey?: string | undefined;
  /** A client secret given for this run instead of a saved one, or how to ask for one. */
  secrets?: SecretInput | undefined;
  env?: NodeJS.ProcessEnv;
  /** For choosing between the saved secrets of a rotation (secretsToTry). */
  now?: () => number;
}

/** RFC 6749 section 5.1. */
export interface TokenGetResult {
  issuer: string;
  access_token: string;
  token_type: string;
  expires_in?: number;
  scope?: string;
  refresh_token?: string;
}

export async function tokenGet(options: TokenGetOptions): Promise<TokenGetResult> {
  const form = new URLSearchParams({ grant_type: options.grant });
  if (options.grant === 'password') {
    if (options.username === undefined) throw usageError('--grant password needs --username');
    if (options.password === undefined || options.password === '') throw usageError('--grant password needs a password (on stdin, or typed at the prompt)');
    form.set('username', options.username);
    form.set('password', options.password);
  } else if (options.username !== undefined) {
    throw usageError('--username goes with --grant password');
  }
  if (options.grant === 'refresh_token') {
    if (options.refreshToken === undefined || options.refreshToken === '') throw usageError('--grant refresh_token needs the refresh token (on stdin, or typed at the prompt)');
    form.set('refresh_token', options.refreshToken);
  } else if (options.refreshToken !== undefined) {
    throw usageError('a refresh token goes with --grant refresh_token');
  }
  if (options.scope !== undefined) form.set('scope', options.scope);

  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  let client: SavedApp;
  let answer: HttpAnswer;
  if (options.privateKey !== undefined) {
    const { secret, clientId, save } = options.secrets ?? {};
    if (secret !== undefined || clientId !== undefined || save === true) {
      throw usageError('--private-key signs for a private_key_jwt application, which has no client secret: leave out --secret-stdin, --client-id and --save');
    }
    // Read before anything is asked of the server: a wrong file is the user's to fix first.
    const signing = readSigningKey(options.privateKey);
    client = await savedApp(options.server, options.app, options.env);
    requireScopesKnownTo(client, options.scope);
    form.set('client_id', client.clientId);
    form.set('client_assertion_type', JWT_BEARER_ASSERTION_TYPE);
    form.set('client_assertion', await signClientAssertion(signing, client.clientId, client.issuer));
    answer = await call(client.server, '/oauth2/token', { method: 'POST', headers, body: form.toString() });
  } else {
    client = await appClient(options.server, options.app, options.env, options.secrets, (options.now ?? Date.now)());
    requireScopesKnownTo(client, options.scope);
    const withSecret = client;
    answer = await callWithSecrets(client, '/oauth2/token', (secret) => {
      const body = new URLSearchParams(form);
      if (options.authMethod === 'client_secret_post') {
        body.set('client_id', withSecret.clientId);
        body.set('client_secret', secret);
        return { method: 'POST', headers, body: body.toString() };
      }
      return { method: 'POST', headers: { ...headers, authorization: basicAuthorization(withSecret.clientId, secret) }, body: body.toString() };
    });
  }
  if (answer.status !== 200) throw refusal('the token endpoint', answer, client, options.privateKey);
  const body = answer.json as Partial<TokenGetResult> | undefined;
  if (typeof body?.access_token !== 'string' || typeof body.token_type !== 'string') {
    throw failure(`the token endpoint answered 200 without a token: ${answer.text.slice(0, 200)}`);
  }
  if (options.secrets?.save === true) keepGivenSecret(client, options.env);
  return { issuer: client.issuer, ...body } as TokenGetResult;
}

/** A scope the controller does not know at all is a typo: said with the closest it knows, and nothing is asked. */
function requireScopesKnownTo(client: SavedApp, scope: string | undefined): void {
  if (scope === undefined || client.scopesSupported.length === 0) return;
  requireKnownScopes('scope', scope.split(/\s+/).filter((item) => item !== ''), client.scopesSupported);
}

/**
 * The resource owner's password: the first line on stdin when it is a pipe, else typed at the
 * terminal without echo. Never a flag: flags end up in shell history and process listings.
 */
export function readPassword(stdin: NodeJS.ReadStream = process.stdin, prompt: NodeJS.WriteStream = process.stderr): Promise<string> {
  return readSecretLine('Password', stdin, prompt);
}

export function formatToken(result: TokenGetResult, format: 'text' | 'json' | 'token'): string {
  if (format === 'token') return `${result.access_token}\n`;
  if (format === 'json') return JSON.stringify(result, null, 2) + '\n';
  const rows: [string, string][] = [
    ['access_token', result.access_token],
    ['token_type', result.token_type],
  ];
  if (result.expires_in !== undefined) rows.push(['expires_in', `${result.expires_in} s`]);
  if (result.scope !== undefined) rows.push(['scope', result.scope === '' ? '(none)' : result.scope]);
  if (result.refresh_token !== undefined) rows.push(['refresh_token', result.refresh_token]);
  rows.push(['issuer', result.issuer]);
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n') + '\n';
}

export const command = defineCommand({
  summary: "Get a token from the controller with an application's saved credentials.",
  description:
    "Call the controller's token endpoint as the application: with its client id and secret from the " +
    'local credentials file (saved by `mergekey app new`, found under the issuer the controller ' +
    'announces), or a secret given on stdin with --secret-stdin or typed at the prompt when none is saved ' +
    '(--save keeps it). During a secret rotation it sends the secret that works until the old one expires. ' +
    'client_credentials by default; --grant password takes --username and reads the ' +
    'password from stdin or the terminal; --grant refresh_token reads the refresh token the same way ' +
    '(secrets are never flags: process listings and shell history show those). ' +
    'A private_key_jwt application signs a client assertion (RFC 7523) with the private key given by --private-key. ' +
    'Without --scope, the token carries all of the application\'s scopes.',
  arguments: [{ name: 'APP', description: 'The application (metadata.name).', required: true }],
  options: {
    server: SERVER_OPTION,
    scope: { type: 'string', valueName: 'SCOPES', description: 'Space-separated scopes to ask for (default: all of the application\'s).' },
    grant: { type: 'string', valueName: 'GRANT', description: 'The grant type.', choices: GRANT_TYPES, default: 'client_credentials' },
    username: { type: 'string', valueName: 'USER', description: 'The resource owner, for --grant password (a User manifest\'s name).' },
    'auth-method': {
      type: 'string',
      valueName: 'METHOD',
      description: "How to send the secret: as the manifest's tokenEndpointAuthMethod says.",
      choices: SECRET_METHODS,
      default: DEFAULT_AUTH_METHOD,
    },
    'private-key': {
      type: 'string',
      valueName: 'FILE',
      description: 'For a private_key_jwt application: its private key (a JWK, or a PEM file) to sign the client assertion with.',
    },
    format: {
      type: 'string',
      valueName: 'FORMAT',
      description: 'text lists the response; json prints it; token prints only the access token (for $(…)).',
      choices: ['text', 'json', 'token'],
      default: 'text',
    },
    ...SECRET_OPTIONS,
  },
  examples: [
    'mergekey token get order-sync',
    "mergekey token get order-sync --scope orders:read --format token",
    'mergekey token get storefront --grant password --username alice < password.txt',
    'mergekey token get storefront --grant refresh_token < refresh-token.txt',
    'mergekey token get reports --private-key reports.private.jwk.json',
    'mergekey token get portal-made-app --client-id portal-made-app-1f2e --secret-stdin --save < secret.txt',
  ],
  run: async (input) => {
    const readsStdin = input.grant === 'refresh_token' || (input.grant === 'password' && input.username !== undefined);
    if (input.secretStdin && readsStdin) {
      throw usageError(
        `--secret-stdin and --grant ${input.grant} would both read stdin`,
        `Save the client secret first ('mergekey token get ${input.app} --secret-stdin --save'), then run this without --secret-stdin.`,
      );
    }
    const secrets = await secretInput(input);
    return tokenGet({
      app: input.app,
      server: serverUrl(input.server),
      grant: input.grant,
      scope: input.scope,
      username: input.username,
      password: input.grant === 'password' && input.username !== undefined ? await readPassword() : undefined,
      refreshToken: input.grant === 'refresh_token' ? await readSecretLine('Refresh token') : undefined,
      authMethod: input.authMethod,
      privateKey: input.privateKey,
      secrets,
    });
  },
  render: (result, input) => formatToken(result, input.format),
});
