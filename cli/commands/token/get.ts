// `mergekey token get APP`: asks the controller's token endpoint for a token with the
// application's own credentials (from the local credentials file), as the application itself
// would — a quick way for a developer to try an application's scopes or call an API by hand.
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { AUTH_METHODS, DEFAULT_AUTH_METHOD, GRANT_TYPES, type GrantType, type SecretAuthMethod } from '../../../controller/manifests/vocabulary.ts';
import { defineCommand } from '../../command.ts';
import { failure, usageError } from '../../errors.ts';
import { SERVER_OPTION, serverUrl } from '../status.ts';
import { JWT_BEARER_ASSERTION_TYPE, readSigningKey, signClientAssertion } from './assertion.ts';
import { appClient, basicAuthorization, call, refusal, savedApp, type SavedApp } from './client.ts';

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
  env?: NodeJS.ProcessEnv;
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
  if (options.privateKey !== undefined) {
    // Read before anything is asked of the server: a wrong file is the user's to fix first.
    const signing = readSigningKey(options.privateKey);
    client = await savedApp(options.server, options.app, options.env);
    form.set('client_id', client.clientId);
    form.set('client_assertion_type', JWT_BEARER_ASSERTION_TYPE);
    form.set('client_assertion', await signClientAssertion(signing, client.clientId, client.issuer));
  } else {
    const withSecret = await appClient(options.server, options.app, options.env);
    if (options.authMethod === 'client_secret_post') {
      form.set('client_id', withSecret.clientId);
      form.set('client_secret', withSecret.clientSecret);
    } else {
      headers.authorization = basicAuthorization(withSecret.clientId, withSecret.clientSecret);
    }
    client = withSecret;
  }
  const answer = await call(client.server, '/oauth2/token', { method: 'POST', headers, body: form.toString() });
  if (answer.status !== 200) throw refusal('the token endpoint', answer, client, options.privateKey);
  const body = answer.json as Partial<TokenGetResult> | undefined;
  if (typeof body?.access_token !== 'string' || typeof body.token_type !== 'string') {
    throw failure(`the token endpoint answered 200 without a token: ${answer.text.slice(0, 200)}`);
  }
  return { issuer: client.issuer, ...body } as TokenGetResult;
}

/**
 * The resource owner's password: the first line on stdin when it is a pipe, else typed at the
 * terminal without echo. Never a flag: flags end up in shell history and process listings.
 */
export function readPassword(stdin: NodeJS.ReadStream = process.stdin, prompt: NodeJS.WriteStream = process.stderr): Promise<string> {
  return readSecretLine('Password', stdin, prompt);
}

/**
 * A secret the command needs (a password, a refresh token): the first line on stdin when it is a
 * pipe, else typed at the terminal without echo. Never a flag: any local user reads a process's
 * argv (/proc/PID/cmdline, `ps`), and shells keep it in their history; a refresh token there is a
 * token anyone on the machine can exchange (RFC 6749 section 10.4: refresh tokens "MUST be kept
 * confidential in transit and storage").
 */
export async function readSecretLine(label: string, stdin: NodeJS.ReadStream = process.stdin, prompt: NodeJS.WriteStream = process.stderr): Promise<string> {
  if (stdin.isTTY !== true) {
    const chunks: Buffer[] = [];
    for await (const chunk of stdin) chunks.push(Buffer.from(chunk as Buffer));
    return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
  }
  prompt.write(`${label}: `);
  let muted = true;
  const output = new Writable({
    write(chunk, _encoding, done) {
      if (!muted) prompt.write(chunk as Buffer);
      done();
    },
  });
  const rl = createInterface({ input: stdin, output, terminal: true });
  try {
    return await new Promise<string>((resolve) => rl.question('', resolve));
  } finally {
    muted = false;
    rl.close();
    prompt.write('\n');
  }
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
    'announces). client_credentials by default; --grant password takes --username and reads the ' +
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
  },
  examples: [
    'mergekey token get order-sync',
    "mergekey token get order-sync --scope orders:read --format token",
    'mergekey token get storefront --grant password --username alice < password.txt',
    'mergekey token get storefront --grant refresh_token < refresh-token.txt',
    'mergekey token get reports --private-key reports.private.jwk.json',
  ],
  run: async (input) =>
    tokenGet({
      app: input.app,
      server: serverUrl(input.server),
      grant: input.grant,
      scope: input.scope,
      username: input.username,
      password: input.grant === 'password' && input.username !== undefined ? await readPassword() : undefined,
      refreshToken: input.grant === 'refresh_token' ? await readSecretLine('Refresh token') : undefined,
      authMethod: input.authMethod,
      privateKey: input.privateKey,
    }),
  render: (result, input) => formatToken(result, input.format),
});
