// `mergekey app new NAME --dir REPO …`: writes `apps/NAME.yaml` for a new application, with a fresh
// client id and a generated client secret sealed to the controller, shows the secret once and
// keeps it in the local credentials file. No git: committing and the pull request are the
// developer's next step (and `mergekey app create`'s job). A public client (`--auth-method none`)
// gets no secret, only its client id, saved all the same.
//
// The file is checked with the same loader and rules the controller uses, against the rest of the
// repository, before it is written: what `app new` writes is what a publisher can merge.
import { lstatSync, readFileSync, unlinkSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Document } from 'yaml';
import { quoteAmbiguousStrings, validateRepository, type RepoFile } from '../../controller/manifests/index.ts';
import type { ApplicationSpec, Jwks } from '../../controller/manifests/types.generated.ts';
import { AUTH_METHODS, DEFAULT_AUTH_METHOD, DEFAULT_GRANT_TYPES, GRANT_TYPES, isGrantType, PUBLIC_CLIENT_GRANT_TYPES, type AuthMethod, type GrantType } from '../../controller/manifests/vocabulary.ts';
import { defaultGrantTypes, secretIsGenerated, uniqueClientId } from '../../controller/requests/create.ts';
import { AUTH_METHOD_HELP, parseRedirectUris, PUBLIC_CLIENT_NOTE, REDIRECT_URI_HELP, requireScopesDefined } from './app/inputs.ts';
import { generateClientSecret } from '../../controller/sealing/generate.ts';
import { createFileExclusive } from '../../controller/sealing/private-files.ts';
import { seal } from '../../controller/sealing/seal.ts';
import { defineCommand } from '../command.ts';
import { credentialsPath, readCredentials, saveCredential } from '../credentials.ts';
import { failure, usageError } from '../errors.ts';
import { readRepositoryFiles } from '../read-repository.ts';
import { checkName, readRepoSettings, sealingKeyOf } from './seal.ts';


const SCHEMA_COMMENT = '# yaml-language-server: $schema=../.mergekey/schemas/application.schema.json';
/** A JWKS of public keys is a few kilobytes; anything far larger is the wrong file. */
const MAX_JWKS_BYTES = 64 * 1024;

export interface AppNewOptions {
  /** metadata.name, and the file's base name. */
  name: string;
  /** The manifests repository's root. */
  dir: string;
  description?: string | undefined;
  displayName?: string | undefined;
  /** User names (users/NAME.yaml). Default: the repository's only user, if it has exactly one. */
  owners?: readonly string[] | undefined;
  /** Default: the schema's (`[open]`). */
  scopes?: readonly string[] | undefined;
  /** Default: the schema's (`[client_credentials]`); for a public client authorization_code and refresh_token. */
  grantTypes?: readonly string[] | undefined;
  /** For the authorization_code grant: where the user is sent back, matched exactly. */
  redirectUris?: readonly string[] | undefined;
  /** Default: the schema's (`client_secret_basic`). */
  authMethod?: AuthMethod | undefined;
  plan?: string | undefined;
  /** For private_key_jwt: a file holding the application's public JWKS. */
  jwks?: string | undefined;
  /** For the credentials file's location ($MERGEKEY_CREDENTIALS, $XDG_CONFIG_HOME, $HOME). */
  env?: NodeJS.ProcessEnv;
}

export interface AppNewResult {
  /** Repository-relative path of the new manifest. */
  path: string;
  clientId: string;
  /** The generated secret, shown once; absent for private_key_jwt and public clients. */
  clientSecret?: string;
  /** A public client (none): no secret, PKCE. */
  publicClient: boolean;
  /** Where the credentials were saved. */
  credentialsFile: string;
  /** The repository's issuer, which the credentials are saved under. */
  issuer: string;
}

export async function appNew(options: AppNewOptions): Promise<AppNewResult> {
  checkName(options.name, 'NAME');
  const root = resolve(options.dir);
  const path = `apps/${options.name}.yaml`;
  const file = join(root, path);
  const settings = await readRepoSettings(options.dir);
  if (exists(file)) {
    throw failure(`${path} already exists in '${options.dir}'; application names are never reused`);
  }
  if (options.description === undefined || options.description.trim() === '') {
    throw usageError("option '--description' is required: publishers read it to decide whether to approve the application");
  }
  const authMethod = options.authMethod;
  const grantTypes = options.grantTypes?.map((grant): GrantType => {
    if (!isGrantType(grant)) throw usageError(`option '--grant-types' takes ${GRANT_TYPES.join(', ')} (got '${grant}')`);
    return grant;
  }) ?? (authMethod === 'none' ? [...defaultGrantTypes(authMethod)] : undefined);
  const redirectUris = options.redirectUris === undefined || options.redirectUris.length === 0 ? undefined : parseRedirectUris(options.redirectUris);
  if ((authMethod === 'private_key_jwt') !== (options.jwks !== undefined)) {
    throw usageError(
      authMethod === 'private_key_jwt'
        ? "private_key_jwt needs the application's public keys: add '--jwks FILE'"
        : "option '--jwks' is for '--auth-method private_key_jwt' only",
    );
  }

  // Before anything is generated: a secret must not be made that cannot be kept.
  const credentialsFile = credentialsPath(options.env);
  readCredentials(credentialsFile);

  const read = readRepositoryFiles(root);
  const owners = chooseOwners(options.owners, read.files);
  const clientId = uniqueClientId(read.files);
  let clientSecret: string | undefined;
  let credentials: ApplicationSpec['credentials'];
  if (options.jwks !== undefined) {
    credentials = { jwks: readJwks(options.jwks) };
  } else if (secretIsGenerated(authMethod ?? DEFAULT_AUTH_METHOD)) {
    const publicJwk = await sealingKeyOf(settings);
    clientSecret = generateClientSecret();
    credentials = { secrets: [{ sealed: await seal(publicJwk, { kind: 'Application', name: options.name }, clientSecret) }] };
  }

  const spec = {
    ...(options.displayName === undefined ? {} : { displayName: options.displayName }),
    description: options.description,
    owners: [...owners],
    clientId,
    ...(options.scopes === undefined ? {} : { scopes: [...options.scopes] }),
    ...(grantTypes === undefined ? {} : { grantTypes }),
    ...(redirectUris === undefined ? {} : { redirectUris }),
    ...(options.plan === undefined ? {} : { plan: options.plan }),
    ...(authMethod === undefined ? {} : { tokenEndpointAuthMethod: authMethod }),
    ...(credentials === undefined ? {} : { credentials }),
  };
  const manifest = { apiVersion: 'mergekey/v1', kind: 'Application', metadata: { name: options.name }, spec };
  const text = `${SCHEMA_COMMENT}\n${quoteAmbiguousStrings(new Document(manifest)).toString({ lineWidth: 0 })}`;

  // The rest of the repository may have problems of its own; only the new file's concern us.
  const { problems, objects } = validateRepository([...read.files, { path, content: Buffer.from(text, 'utf8') }]);
  requireScopesDefined(options.scopes, objects);
  const ours = problems.filter((problem) => problem.path === path);
  if (ours.length > 0) {
    throw failure(
      `the new application would not validate, so nothing was written:\n${ours.map((p) => `  ${p.path}:${p.line}:${p.column}: ${p.message}`).join('\n')}`,
    );
  }

  await mkdir(join(root, 'apps'), { recursive: true });
  try {
    createFileExclusive(file, text, 0o644);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw failure(`${path} already exists in '${options.dir}'; application names are never reused`);
    throw failure(`cannot write ${file}: ${code ?? (error as Error).message}`, { cause: error });
  }
  try {
    saveCredential(
      credentialsFile,
      settings.spec.issuer,
      options.name,
      { clientId, ...(clientSecret === undefined ? {} : { clientSecret }), createdAt: new Date().toISOString() },
      options.env,
    );
  } catch (error) {
    // A manifest whose secret nobody kept would be useless: take it back, and say why.
    unlinkSync(file);
    throw error;
  }
  return { path, clientId, ...(clientSecret === undefined ? {} : { clientSecret }), publicClient: authMethod === 'none', credentialsFile, issuer: settings.spec.issuer };
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw failure(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code}`, { cause: error });
  }
}

const USER_PATH = /^users\/([^/]+)\.yaml$/;

function chooseOwners(given: readonly string[] | undefined, files: readonly RepoFile[]): readonly string[] {
  const users = files.flatMap((file) => USER_PATH.exec(file.path)?.[1] ?? []).sort();
  if (given !== undefined && given.length > 0) {
    for (const owner of given) {
      if (!users.includes(owner)) {
        throw usageError(`no user '${owner}' in users/ (${users.length === 0 ? 'there are none yet' : `users: ${users.join(', ')}`})`);
      }
    }
    return given;
  }
  if (users.length === 1) return users;
  throw usageError(
    users.length === 0
      ? "an application needs an owner, and the repository has no users yet: add users/NAME.yaml, then use '--owner NAME'"
      : `name the application's owner with '--owner NAME' (users: ${users.join(', ')})`,
  );
}


export function readJwks(file: string): Jwks {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw usageError(`JWKS file '${file}' does not exist`);
    throw failure(`cannot read JWKS file '${file}': ${code ?? (error as Error).message}`);
  }
  if (bytes.length > MAX_JWKS_BYTES) throw failure(`'${file}' is too large to be a JWKS of public keys`);
  const text = bytes.toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw failure(`'${file}' is not JSON; expected a JWKS ({"keys": [...]}) of public keys`);
  }
  // The schema checks the keys themselves (public members only) when the manifest is validated.
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray((parsed as { keys?: unknown }).keys)) {
    throw failure(`'${file}' is not a JWKS: expected {"keys": [...]}`);
  }
  return parsed as Jwks;
}

const list = (value: string | undefined) =>
  value === undefined ? undefined : value.split(',').map((item) => item.trim()).filter((item) => item !== '');

export const command = defineCommand({
  summary: 'Write a new application manifest with a fresh client id and sealed secret.',
  description:
    'Write apps/NAME.yaml in the manifests repository (--dir): a new client id (unique in the ' +
    "repository), and a generated 256-bit client secret sealed to the controller's key from " +
    "mergekey.yaml. The client id and secret are printed once and saved in your credentials file " +
    '($MERGEKEY_CREDENTIALS, else ~/.config/mergekey/credentials.json, mode 0600). A public client ' +
    '(--auth-method none: a single-page or mobile app) gets no secret and uses the authorization_code ' +
    'grant with PKCE, with at least one --redirect-uri. The manifest is ' +
    'checked like the controller checks it before it is written. Nothing is committed: commit the ' +
    'file and open a pull request; a publisher approves the application by merging it.',
  arguments: [{ name: 'NAME', description: "The application's name: a lowercase DNS label, also the file's name.", required: true }],
  options: {
    dir: { type: 'string', valueName: 'REPO', description: 'The manifests repository.', default: '.' },
    description: { type: 'string', valueName: 'TEXT', description: 'What the application does (required): publishers read it.' },
    'display-name': { type: 'string', valueName: 'TEXT', description: 'A human-readable name for the portal and the CLI.' },
    owner: { type: 'string', valueName: 'USER', multiple: true, description: 'An owner (users/USER.yaml); repeat for several. Default: the only user, if there is one.' },
    scopes: { type: 'string', valueName: 'LIST', description: "Comma-separated scopes, each open, openid, profile, email or published by an API (schema default: open)." },
    'grant-types': { type: 'string', valueName: 'LIST', description: `Comma-separated grant types among ${GRANT_TYPES.join(', ')} (schema default: ${DEFAULT_GRANT_TYPES.join(', ')}; for a public client ${PUBLIC_CLIENT_GRANT_TYPES.join(', ')}).` },
    'redirect-uri': { type: 'string', valueName: 'URI', multiple: true, description: REDIRECT_URI_HELP },
    'auth-method': { type: 'string', valueName: 'METHOD', choices: AUTH_METHODS, description: `${AUTH_METHOD_HELP} Schema default: ${DEFAULT_AUTH_METHOD}.` },
    plan: { type: 'string', valueName: 'PLAN', description: "The plan (plans/PLAN.yaml); default: the repository's defaultPlan." },
    jwks: { type: 'string', valueName: 'FILE', description: 'For private_key_jwt: a JSON file holding the public JWKS. No secret is generated.' },
  },
  examples: [
    "mergekey app new billing --description 'Bills customers monthly' --scopes payments:read,payments:write",
    "mergekey app new reports --dir manifests --owner alice --description 'Nightly reports' --auth-method private_key_jwt --jwks reports.jwks.json",
    "mergekey app new spa --description 'Our single-page app' --auth-method none --scopes openid,profile --redirect-uri https://spa.example.com/callback",
  ],
  run: (input) =>
    appNew({
      name: input.name,
      dir: input.dir,
      description: input.description,
      displayName: input.displayName,
      owners: input.owner,
      scopes: list(input.scopes),
      grantTypes: list(input.grantTypes),
      redirectUris: input.redirectUri,
      authMethod: input.authMethod,
      plan: input.plan,
      jwks: input.jwks,
    }),
  render: (result) =>
    [
      `Created ${result.path}.`,
      `  client id:     ${result.clientId}`,
      ...(result.publicClient ? [PUBLIC_CLIENT_NOTE] : []),
      ...(result.clientSecret === undefined
        ? []
        : [`  client secret: ${result.clientSecret}`, `The secret is shown once; it is saved in ${result.credentialsFile}.`]),
      'Commit the file and open a pull request: the application works once a publisher merges it.',
    ].join('\n'),
});
