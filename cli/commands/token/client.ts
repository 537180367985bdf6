// What `mergekey token get|list|revoke` share: the controller's issuer (from its RFC 8414
// metadata), the application's credentials saved for that issuer in the local credentials file,
// and HTTP calls to the controller with them — each failure with a message that says what to do.
import { credentialsPath, readCredentials, saveCredential } from '../../credentials.ts';
import { failure, usageError } from '../../errors.ts';
import { secretsToTry, type RequestCredential } from '../../request-credentials.ts';

const TIMEOUT_MS = 30_000;

/** An application's entry in the credentials file, under the issuer of the controller at `server`. */
export interface SavedApp {
  /** The controller's base URL, without a trailing slash. */
  server: string;
  issuer: string;
  app: string;
  clientId: string;
  /**
   * Its client secrets in the order to try them (secretsToTry): one, or two during a rotation.
   * Empty for a private_key_jwt application.
   */
  clientSecrets: readonly string[];
  credentialsFile: string;
  /** The secret was given for this run (stdin, prompt), not read from the credentials file. */
  secretGiven: boolean;
  /** The scopes the controller knows (its metadata's scopes_supported). */
  scopesSupported: readonly string[];
}

export interface HttpAnswer {
  status: number;
  headers: Headers;
  /** Parsed JSON, or undefined for an empty or non-JSON body. */
  json: unknown;
  text: string;
}

/** One request to the controller; a network failure is a CLI failure that names the server. */
export async function call(server: string, path: string, init: RequestInit = {}): Promise<HttpAnswer> {
  const base = baseUrl(server);
  let response: Response;
  try {
    response = await fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS), redirect: 'error' });
  } catch (error) {
    const inner = (error as { cause?: { code?: string; message?: string } }).cause;
    throw failure(`cannot reach the controller at ${base}: ${inner?.code ?? inner?.message ?? (error as Error).message}`, {
      hint: 'Is `mergekey serve` running there? Set --server or MERGEKEY_SERVER.',
      cause: error,
    });
  }
  const text = await response.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, json, text };
}

export function baseUrl(server: string): string {
  if (!URL.canParse(server) || !/^https?:$/.test(new URL(server).protocol)) throw usageError(`--server must be an http(s) URL (got '${server}')`);
  return server.replace(/\/+$/, '');
}

/** What the controller at `server` announces in its RFC 8414 metadata: its issuer and the scopes it knows. */
export async function discover(server: string): Promise<{ issuer: string; scopesSupported: string[] }> {
  const answer = await call(server, '/.well-known/oauth-authorization-server', { headers: { accept: 'application/json' } });
  const metadata = answer.json as { issuer?: unknown; scopes_supported?: unknown } | undefined;
  if (answer.status !== 200 || typeof metadata?.issuer !== 'string') {
    throw failure(`${baseUrl(server)} did not answer its OAuth metadata (${answer.status}); is it a mergekey controller?`);
  }
  const scopes = Array.isArray(metadata.scopes_supported) ? metadata.scopes_supported.filter((scope): scope is string => typeof scope === 'string') : [];
  return { issuer: metadata.issuer, scopesSupported: scopes };
}

/**
 * Where a secret for this run may come from besides the credentials file: stdin (read by the
 * command, never a flag), or a prompt on the terminal when nothing is saved. `save` keeps it.
 */
export interface SecretInput {
  /** Given on stdin (--secret-stdin): used instead of any saved secret. */
  secret?: string | undefined;
  /** Asks at the terminal, when nothing is saved for the application. */
  prompt?: ((label: string) => Promise<string>) | undefined;
  /** The client id to go with a given secret (--client-id), when none is saved. */
  clientId?: string | undefined;
  /** Keep the given secret in the credentials file once the controller accepted it (--save). */
  save?: boolean | undefined;
}

/**
 * The controller's issuer and the credentials of `app` for it: a secret given for this run, or
 * those saved under that issuer. Credentials are saved per issuer, so the same application name
 * on two controllers never mixes up their secrets. Throws unless there is a secret to send.
 */
export async function appClient(server: string, app: string, env: NodeJS.ProcessEnv = process.env, input: SecretInput = {}, now = Date.now()): Promise<SavedApp> {
  const client = await savedApp(server, app, env, input, now);
  if (client.clientSecrets.length === 0) {
    throw failure(`application ${app} has no client secret (it authenticates with private_key_jwt)`, {
      hint: 'Give the command its private key instead: add --private-key FILE (a JWK, or a PEM file).',
    });
  }
  return client;
}

/** The application's client id and secrets: given for this run, else saved (none for private_key_jwt). */
export async function savedApp(server: string, app: string, env: NodeJS.ProcessEnv = process.env, input: SecretInput = {}, now = Date.now()): Promise<SavedApp> {
  const { issuer, scopesSupported } = await discover(server);
  const file = credentialsPath(env);
  const saved = readCredentials(file);
  const credential = saved.issuers[issuer]?.[app] as RequestCredential | undefined;
  // A secret given for this run goes with the client id given with it, else the saved one.
  const givenClientId = (): string => {
    const clientId = input.clientId ?? credential?.clientId;
    if (clientId === undefined) {
      throw usageError(`no client id saved for application ${app} of ${issuer}: give it with --client-id`, "The portal shows it in the application's Keys section.");
    }
    return clientId;
  };
  const given = (clientId: string, secret: string): SavedApp =>
    ({ server: baseUrl(server), issuer, app, clientId, clientSecrets: [secret], credentialsFile: file, secretGiven: true, scopesSupported });
  if (input.secret !== undefined) {
    if (input.secret === '') throw usageError('--secret-stdin read an empty line: put the client secret on the first line of stdin');
    return given(givenClientId(), input.secret);
  }
  if (input.prompt !== undefined && credential === undefined) {
    // The client id first: nobody types a secret only to be told it cannot be used.
    const clientId = givenClientId();
    const secret = await input.prompt(`Client secret of ${app}`);
    if (secret === '') throw usageError('no client secret typed at the prompt');
    return given(clientId, secret);
  }
  if (input.save === true) throw usageError('--save keeps a client secret given with --secret-stdin (or typed at the prompt); none was given');
  if (input.clientId !== undefined) throw usageError('--client-id goes with a client secret given with --secret-stdin (or typed at the prompt)');
  if (credential === undefined) {
    const elsewhere = Object.keys(saved.issuers).filter((other) => saved.issuers[other]?.[app] !== undefined);
    throw failure(`no credentials saved for application ${app} of ${issuer} in ${file}`, {
      hint:
        elsewhere.length > 0
          ? `They are saved for ${elsewhere.join(', ')}: is --server (or MERGEKEY_SERVER) the controller you meant?`
          : '`mergekey app new` saves a new application\'s secret on the machine that created it: run this there, ' +
            'or point MERGEKEY_CREDENTIALS at the credentials file that has it, or give the secret on stdin ' +
            'with --secret-stdin --client-id ID (add --save to keep it).',
    });
  }
  return { server: baseUrl(server), issuer, app, clientId: credential.clientId, clientSecrets: secretsToTry(credential, now), credentialsFile: file, secretGiven: false, scopesSupported };
}

/** Keeps a secret given for this run in the credentials file, replacing what was saved for the application. */
export function keepGivenSecret(client: SavedApp, env: NodeJS.ProcessEnv = process.env): void {
  const [secret] = client.clientSecrets;
  if (!client.secretGiven || secret === undefined) return;
  saveCredential(client.credentialsFile, client.issuer, client.app, { clientId: client.clientId, clientSecret: secret, createdAt: new Date().toISOString() }, env);
}

/**
 * Sends a request with each of the client's secrets in turn (`init` builds it for one), until one
 * is not refused as a client that failed to authenticate (401): the first is the one that should
 * work (secretsToTry), the second one is tried only when the controller proves that wrong.
 */
export async function callWithSecrets(client: SavedApp, path: string, init: (secret: string) => RequestInit): Promise<HttpAnswer> {
  let answer: HttpAnswer | undefined;
  for (const secret of client.clientSecrets) {
    answer = await call(client.server, path, init(secret));
    if (answer.status !== 401) return answer;
  }
  if (answer === undefined) throw new Error(`callWithSecrets: ${client.app} has no client secret`);
  return answer;
}

/** RFC 6749 section 2.3.1 and Appendix B: id and secret are form-encoded inside the Basic header. */
export function basicAuthorization(clientId: string, clientSecret: string): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64')}`;
}

/**
 * Turns an error answer (an RFC 6749 error body, or anything else) into a CLI failure.
 * `privateKey` is the key file a client assertion was signed with, if one was.
 */
export function refusal(what: string, answer: HttpAnswer, client: SavedApp, privateKey?: string): Error {
  const body = answer.json as { error?: unknown; error_description?: unknown } | undefined;
  const code = typeof body?.error === 'string' ? body.error : undefined;
  const description = typeof body?.error_description === 'string' ? `: ${body.error_description}` : '';
  const message = code === undefined ? `${what} answered ${answer.status}: ${answer.text.slice(0, 200)}` : `${what} refused (${answer.status} ${code}${description})`;
  switch (code) {
    case 'invalid_client':
      if (privateKey !== undefined) {
        return failure(message, {
          hint: `The server did not accept the assertion signed with ${privateKey}: is its public key in ${client.app}'s manifest (credentials.jwks), ` +
            'does the manifest name private_key_jwt, and is the application active?',
        });
      }
      return failure(message, {
        hint:
          `The server did not accept the credentials saved for ${client.app} in ${client.credentialsFile}: the secret may have been ` +
          'rotated or the application may be inactive' +
          (what === 'the token endpoint' ? ", or its manifest may name another tokenEndpointAuthMethod (see --auth-method)." : '.'),
      });
    case 'slow_down': {
      const retry = answer.headers.get('retry-after');
      return failure(message, { hint: `Too many requests${retry === null ? '' : `: wait ${retry} s`} and try again.` });
    }
    case 'invalid_scope':
      return failure(message, { hint: `Ask only for scopes the application's manifest lists, or leave out --scope to get all of them.` });
    default:
      return failure(message);
  }
}
