// `mergekey app edit NAME`: asks to change an application: its description, display name,
// redirect URIs, scopes, grant types or plan, and to rotate its client secret without downtime.
import { isoTime } from '../../../controller/requests/time.ts';
import { appPath } from '../../../controller/requests/index.ts';
import { defineCommand } from '../../command.ts';
import { usageError } from '../../errors.ts';
import { GITHUB_OPTIONS } from '../../github-options.ts';
import { parseDuration, parseGrantTypes, parseList, parseRedirectUris, REDIRECT_URI_HELP, requireScopesDefined } from './inputs.ts';
import { GRANT_TYPES, type GrantType } from '../../../controller/manifests/vocabulary.ts';
import { editApplicationText, type ApplicationEdits } from '../../../controller/requests/manifest.ts';
import { openRequest, requireAllowed, type OpenedRequest } from '../../../controller/requests/open.ts';
import { formatOpened } from './render.ts';
import { rotateSecret, type RotatedSecret } from '../../../controller/requests/secrets.ts';
import { findRequestCredential, keepCredential, localSecrets, requireCredentialsFile } from '../../request-credentials.ts';
import { startWithMain, type SessionOptions } from '../../../controller/requests/session.ts';
import { mainText } from '../../../controller/requests/state.ts';

export const DEFAULT_OLD_SECRET_EXPIRY = '7d';

export interface EditOptions extends SessionOptions {
  name: string;
  description?: string | undefined;
  /** An empty string removes the display name. */
  displayName?: string | undefined;
  /** Replaces the redirect URIs. */
  redirectUris?: readonly string[] | undefined;
  clearRedirectUris?: boolean | undefined;
  scopes?: readonly string[] | undefined;
  grantTypes?: readonly GrantType[] | undefined;
  /** An empty string returns the application to the repository's default plan. */
  plan?: string | undefined;
  /** Adds a new client secret and gives the current one an expiry. */
  rotateSecret?: boolean | undefined;
  /** How long the current secret keeps working after the rotation is merged (ms; 7 days). */
  oldSecretExpiresInMs?: number | undefined;
  now?: (() => number) | undefined;
}

export interface EditResult extends OpenedRequest {
  /** With --rotate-secret: the new secret, shown once and saved to the credentials file. */
  rotated?: KeptSecret;
}

/** A rotated secret with where the CLI saved it (or why it could not). */
export interface KeptSecret extends RotatedSecret {
  savedTo?: string;
  warning?: string;
}

export async function edit(options: EditOptions): Promise<EditResult> {
  const edits: ApplicationEdits = {};
  const what: string[] = [];
  if (options.description !== undefined) {
    if (options.description.trim() === '') throw usageError("option '--description' cannot be empty: the description is required");
    edits.description = options.description;
    what.push('description');
  }
  if (options.displayName !== undefined) {
    edits.displayName = options.displayName === '' ? null : options.displayName;
    what.push('display name');
  }
  if (options.clearRedirectUris === true && options.redirectUris !== undefined && options.redirectUris.length > 0) {
    throw usageError("give either '--redirect-uri' or '--clear-redirect-uris', not both");
  }
  if (options.clearRedirectUris === true) {
    edits.redirectUris = null;
    what.push('redirect URIs');
  } else if (options.redirectUris !== undefined && options.redirectUris.length > 0) {
    edits.redirectUris = parseRedirectUris(options.redirectUris);
    what.push('redirect URIs');
  }
  if (options.scopes !== undefined) {
    edits.scopes = [...options.scopes];
    what.push('scopes');
  }
  if (options.grantTypes !== undefined) {
    edits.grantTypes = [...options.grantTypes];
    what.push('grant types');
  }
  if (options.plan !== undefined) {
    edits.plan = options.plan === '' ? null : options.plan;
    what.push('plan');
  }
  if (what.length === 0 && options.rotateSecret !== true) {
    throw usageError('nothing to change: give at least one of --description, --display-name, --redirect-uri, --scopes, --grant-types, --plan, --rotate-secret', `Run 'mergekey app edit --help' for the options.`);
  }

  const session = await startWithMain(options);
  const { main } = session;
  const requests = await requireAllowed(session, main, options.name, 'edit');
  requireScopesDefined(options.scopes, main.objects);
  const app = main.apps.get(options.name)!.manifest;
  let rotated: RotatedSecret | undefined;
  if (options.rotateSecret === true) {
    requireCredentialsFile(session.env);
    rotated = await rotateSecret({
      app,
      settings: main.settings,
      now: (options.now ?? Date.now)(),
      oldSecretExpiresInMs: options.oldSecretExpiresInMs ?? parseDuration('old-secret-expires', DEFAULT_OLD_SECRET_EXPIRY),
    });
    edits.secrets = rotated.secrets;
    what.push('new client secret');
  }
  const content = editApplicationText(mainText(main, appPath(options.name)), edits);
  const opened = await openRequest(session, main, { kind: 'edit', app: options.name, content, what: what.join(', ') });
  if (rotated === undefined) return opened;
  // Saved only once the request exists: a refused request must not replace a working secret.
  const issuer = main.settings!.spec.issuer;
  const inUse = localSecrets(findRequestCredential(session.env, issuer, options.name), app.spec.clientId, requests).current;
  const kept = keepCredential(session.env, issuer, options.name, {
    clientId: app.spec.clientId,
    clientSecret: rotated.secret,
    request: opened.number,
    previousClientSecret: inUse,
    previousExpiresAt: rotated.oldExpiresAt,
  });
  return { ...opened, rotated: { ...rotated, ...kept } };
}

export const command = defineCommand({
  summary: 'Ask to change an application (a pull request).',
  description:
    'Open an edit request for NAME: a pull request that changes the fields given and nothing else. ' +
    'Refused for an application that is not on the main branch (awaiting approval, rejected) or ' +
    'already has an open request. --rotate-secret adds a new sealed client secret and gives the ' +
    'current one an expiry (--old-secret-expires after now), so clients switch without downtime; ' +
    'the new secret is shown once and saved to your credentials file. A description-only edit is ' +
    'marked low-risk by the repository check.',
  arguments: [{ name: 'NAME', description: 'The application.', required: true }],
  options: {
    description: { type: 'string', valueName: 'TEXT', description: 'The new description.' },
    'display-name': { type: 'string', valueName: 'TEXT', description: "The new display name ('' removes it)." },
    'redirect-uri': {
      type: 'string',
      multiple: true,
      valueName: 'URI',
      description: `${REDIRECT_URI_HELP} Replaces the current list.`,
    },
    'clear-redirect-uris': { type: 'boolean', description: 'Remove every redirect URI.' },
    scopes: { type: 'string', valueName: 'LIST', description: 'The scopes, comma-separated (open, openid, profile, email, or scopes that APIs publish). Replaces the current list.' },
    'grant-types': { type: 'string', valueName: 'LIST', description: `The grant types, comma-separated: ${GRANT_TYPES.join(', ')}. Replaces the current list.` },
    plan: { type: 'string', valueName: 'PLAN', description: "The plan ('' returns to the repository's default plan)." },
    'rotate-secret': { type: 'boolean', description: 'Add a new client secret; the current one expires after --old-secret-expires.' },
    'old-secret-expires': {
      type: 'string',
      valueName: 'DURATION',
      description: 'How long the current secret keeps working, counted from now (e.g. 7d, 36h).',
      default: DEFAULT_OLD_SECRET_EXPIRY,
    },
    ...GITHUB_OPTIONS,
  },
  examples: [
    'mergekey app edit billing --description "Bills customers monthly"',
    'mergekey app edit billing --scopes open,invoices:read --plan gold',
    'mergekey app edit billing --rotate-secret --old-secret-expires 14d',
  ],
  run: (input) =>
    edit({
      name: input.name,
      description: input.description,
      displayName: input.displayName,
      redirectUris: input.redirectUri,
      clearRedirectUris: input.clearRedirectUris,
      scopes: input.scopes === undefined ? undefined : parseList('scopes', input.scopes),
      grantTypes: input.grantTypes === undefined ? undefined : parseGrantTypes(input.grantTypes),
      plan: input.plan,
      rotateSecret: input.rotateSecret,
      oldSecretExpiresInMs: parseDuration('old-secret-expires', input.oldSecretExpires),
      githubRepo: input.githubRepo,
      githubApiUrl: input.githubApiUrl,
    }),
  render: (result) => formatOpened(result) + (result.rotated === undefined ? '' : formatRotated(result.rotated)),
});

function formatRotated(rotated: KeptSecret): string {
  return [
    '',
    `New client secret (shown once${rotated.savedTo === undefined ? '' : `; saved to ${rotated.savedTo}`}):`,
    `  ${rotated.secret}`,
    `It works once the request is merged and the controller has applied it. The current secret keeps working until ${isoTime(rotated.oldExpiresAt)}.`,
    ...(rotated.warning === undefined ? [] : [`Warning: ${rotated.warning}`]),
    '',
  ].join('\n');
}
