// `mergekey app create NAME`: registers a new application by opening a create request. The
// manifest gets a fresh client id and a generated client secret sealed to the controller (as
// `mergekey app new` makes them); the secret is shown once and kept in the credentials file. A
// public client (`--auth-method none`) gets no secret: PKCE protects its codes.
import { createInterface } from 'node:readline/promises';
import type { RequestsBackend } from '../../../controller/github/index.ts';
import type { Jwks } from '../../../controller/manifests/types.generated.ts';
import { defineCommand } from '../../command.ts';
import { usageError } from '../../errors.ts';
import { readJwks } from '../app-new.ts';
import { AUTH_METHODS, DEFAULT_AUTH_METHOD, DEFAULT_GRANT_TYPES, GRANT_TYPES, PUBLIC_CLIENT_GRANT_TYPES, isBuiltInScope, type AuthMethod, type GrantType } from '../../../controller/manifests/vocabulary.ts';
import { checkName } from '../seal.ts';
import { GITHUB_OPTIONS } from '../../github-options.ts';
import { withGitHubErrors } from '../../../controller/requests/errors.ts';
import { AUTH_METHOD_HELP, knownScopes, parseGrantTypes, parseList, parseRedirectUris, PUBLIC_CLIENT_NOTE, REDIRECT_URI_HELP, requireScopesDefined } from './inputs.ts';
import { openCreateRequest, secretIsGenerated } from '../../../controller/requests/create.ts';
import { requireAllowed, type OpenedRequest } from '../../../controller/requests/open.ts';
import { formatOpened } from './render.ts';
import { keepCredential, requireCredentialsFile } from '../../request-credentials.ts';
import { startWithMain, type SessionOptions } from '../../../controller/requests/session.ts';
import { usersOfLogin, type MainState } from '../../../controller/requests/state.ts';

/** Asks a question on the terminal and returns the answer. */
export type Prompt = (question: string) => Promise<string>;

export interface CreateOptions extends SessionOptions {
  name: string;
  description?: string | undefined;
  displayName?: string | undefined;
  scopes?: readonly string[] | undefined;
  grantTypes?: readonly GrantType[] | undefined;
  redirectUris?: readonly string[] | undefined;
  plan?: string | undefined;
  /** User names (users/NAME.yaml). Default: the users whose githubLogin is yours. */
  owners?: readonly string[] | undefined;
  authMethod?: AuthMethod | undefined;
  /** For private_key_jwt: a file with the public JWKS. */
  jwks?: string | undefined;
  /** Asks for the description and scopes when they are not given (on a terminal). */
  prompt?: Prompt | undefined;
}

export interface CreateResult extends OpenedRequest {
  clientId: string;
  authMethod: AuthMethod;
  /** Shown once; absent for private_key_jwt and public clients. */
  clientSecret?: string;
  savedTo?: string;
}

export async function create(options: CreateOptions): Promise<CreateResult> {
  checkName(options.name, 'NAME');
  const authMethod = options.authMethod ?? DEFAULT_AUTH_METHOD;
  if ((authMethod === 'private_key_jwt') !== (options.jwks !== undefined)) {
    throw usageError(
      authMethod === 'private_key_jwt'
        ? "private_key_jwt needs the application's public keys: add '--jwks FILE'"
        : "option '--jwks' is for '--auth-method private_key_jwt' only",
    );
  }
  const jwks: Jwks | undefined = options.jwks === undefined ? undefined : readJwks(options.jwks);
  const redirectUris = options.redirectUris === undefined ? undefined : parseRedirectUris(options.redirectUris);

  const session = await startWithMain(options);
  const { main } = session;
  await requireAllowed(session, main, options.name, 'create');
  const description = options.description ?? (await ask(options.prompt, 'Description (what the application does, for the publisher): '));
  if (description === undefined || description.trim() === '') {
    throw usageError("option '--description' is required: publishers read it to decide whether to approve the application");
  }
  const scopes = options.scopes ?? (await askScopes(options.prompt, main));
  requireScopesDefined(scopes, main.objects);
  const owners = options.owners !== undefined && options.owners.length > 0 ? [...options.owners] : await defaultOwners(session.github.backend, main);
  if (secretIsGenerated(authMethod)) requireCredentialsFile(session.env);

  const { opened, clientId, clientSecret } = await openCreateRequest(session, main, {
    name: options.name,
    description,
    displayName: options.displayName,
    scopes,
    grantTypes: options.grantTypes,
    redirectUris,
    plan: options.plan,
    owners,
    authMethod,
    jwks,
  });
  // Kept once the request exists; a refused request generates nothing worth keeping.
  const kept = keepCredential(session.env, main.settings!.spec.issuer, options.name, { clientId, clientSecret, request: opened.number });
  const warning = [opened.warning, kept.warning].filter((text) => text !== undefined).join('; ');
  return {
    ...opened,
    clientId,
    authMethod,
    ...(clientSecret === undefined ? {} : { clientSecret }),
    ...(kept.savedTo === undefined ? {} : { savedTo: kept.savedTo }),
    ...(warning === '' ? {} : { warning }),
  };
}

async function ask(prompt: Prompt | undefined, question: string): Promise<string | undefined> {
  if (prompt === undefined) return undefined;
  return (await prompt(question)).trim();
}

async function askScopes(prompt: Prompt | undefined, main: MainState): Promise<string[] | undefined> {
  if (prompt === undefined) return undefined;
  const published = knownScopes(main.objects).filter((scope) => !isBuiltInScope(scope));
  const answer = await prompt(`Scopes, comma-separated (open${published.length === 0 ? '' : `, ${published.join(', ')}`}; empty for open): `);
  return answer.trim() === '' ? undefined : parseList('scopes', answer);
}

/** The User manifests tied to your GitHub login; a usage error naming the choices otherwise. */
async function defaultOwners(backend: RequestsBackend, main: MainState): Promise<string[]> {
  const me = await withGitHubErrors(() => backend.whoAmI());
  const mine = usersOfLogin(main, me.login);
  if (mine.length > 0) return mine;
  const users = main.users.map((user) => user.name).sort();
  throw usageError(
    `no user in users/ has githubLogin ${me.login}: name the application's owner with '--owner USER'` +
      (users.length === 0 ? '' : ` (users: ${users.join(', ')})`),
  );
}

/** A prompt on the terminal, when both ends are one; otherwise flags are the only input. */
export function terminalPrompt(): Prompt | undefined {
  if (process.stdin.isTTY !== true || process.stdout.isTTY !== true) return undefined;
  return async (question) => {
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    try {
      return await rl.question(question);
    } finally {
      rl.close();
    }
  };
}

export const command = defineCommand({
  summary: 'Register a new application: opens a create request (a pull request).',
  description:
    'Open a create request for NAME: a pull request that adds apps/NAME.yaml with a fresh client ' +
    "id and a generated 256-bit client secret sealed to the controller's key. The secret is shown " +
    'once and saved in your credentials file ($MERGEKEY_CREDENTIALS, else ' +
    '~/.config/mergekey/credentials.json). A public client (--auth-method none: a single-page or ' +
    'mobile app signing people in) gets no secret: it uses the authorization_code grant with PKCE, ' +
    'and needs at least one --redirect-uri. The application is awaiting approval until a publisher ' +
    'merges the request. On a terminal, the description and scopes are asked for when not given. ' +
    'Refused when the name is taken on the main branch or has an open request. Run it in a clone ' +
    'of the manifests repository; your checkout is not touched.',
  arguments: [{ name: 'NAME', description: "The application's name: a lowercase DNS label, also its file's name.", required: true }],
  options: {
    description: { type: 'string', valueName: 'TEXT', description: 'What the application does (required; asked for on a terminal).' },
    'display-name': { type: 'string', valueName: 'TEXT', description: 'A human-readable name.' },
    scopes: { type: 'string', valueName: 'LIST', description: 'Comma-separated scopes: open, openid, profile, email, or scopes that APIs publish (default: open).' },
    'grant-types': { type: 'string', valueName: 'LIST', description: `Comma-separated grant types: ${GRANT_TYPES.join(', ')} (default: ${DEFAULT_GRANT_TYPES.join(', ')}; for a public client ${PUBLIC_CLIENT_GRANT_TYPES.join(', ')}).` },
    'redirect-uri': { type: 'string', multiple: true, valueName: 'URI', description: REDIRECT_URI_HELP },
    plan: { type: 'string', valueName: 'PLAN', description: "The plan (default: the repository's defaultPlan)." },
    owner: { type: 'string', multiple: true, valueName: 'USER', description: 'An owner (users/USER.yaml); repeat for several (default: the users whose githubLogin is yours).' },
    'auth-method': { type: 'string', valueName: 'METHOD', choices: AUTH_METHODS, description: AUTH_METHOD_HELP, default: DEFAULT_AUTH_METHOD },
    jwks: { type: 'string', valueName: 'FILE', description: 'For private_key_jwt: a JSON file with the public JWKS. No secret is generated.' },
    ...GITHUB_OPTIONS,
  },
  examples: [
    "mergekey app create billing --description 'Bills customers monthly' --scopes invoices:read,invoices:write",
    'mergekey app create billing   # asks for the description and scopes',
    "mergekey app create spa --description 'Our single-page app' --auth-method none --scopes openid,profile --redirect-uri https://spa.example.com/callback",
  ],
  run: (input) =>
    create({
      name: input.name,
      description: input.description,
      displayName: input.displayName,
      scopes: input.scopes === undefined ? undefined : parseList('scopes', input.scopes),
      grantTypes: input.grantTypes === undefined ? undefined : parseGrantTypes(input.grantTypes),
      redirectUris: input.redirectUri,
      plan: input.plan,
      owners: input.owner,
      authMethod: input.authMethod,
      jwks: input.jwks,
      githubRepo: input.githubRepo,
      githubApiUrl: input.githubApiUrl,
      prompt: terminalPrompt(),
    }),
  render: (result) =>
    formatOpened(result) +
    [
      '',
      `  client id:     ${result.clientId}`,
      ...(result.authMethod === 'none' ? [PUBLIC_CLIENT_NOTE] : []),
      ...(result.clientSecret === undefined
        ? []
        : [`  client secret: ${result.clientSecret}`, `The secret is shown once${result.savedTo === undefined ? '' : `; it is saved in ${result.savedTo}`}.`]),
      '',
    ].join('\n'),
});
