// `mergekey app ask-again NAME`: after a publisher rejected NAME's latest request, asks for it
// again, starting from what it asked for, changed by the options given (the publisher's reason
// usually says what). The lifecycle decides when (controller/requests/ askAgainOf): the portal
// offers the same action as "Ask again".
import { appPath } from '../../../controller/requests/index.ts';
import { fieldsAsked, rejectedRequestOf } from '../../../controller/requests/ask-again.ts';
import { secretIsGenerated } from '../../../controller/requests/create.ts';
import { changedFields, editApplicationText, loadApplication, type ApplicationEdits } from '../../../controller/requests/manifest.ts';
import { openRequest, type OpenedRequest } from '../../../controller/requests/open.ts';
import { newSealedSecret } from '../../../controller/requests/secrets.ts';
import { startWithMain, type SessionOptions } from '../../../controller/requests/session.ts';
import { stateRequest } from '../../../controller/requests/state-request.ts';
import { mainText } from '../../../controller/requests/state.ts';
import { GRANT_TYPES, type GrantType } from '../../../controller/manifests/vocabulary.ts';
import { defineCommand } from '../../command.ts';
import { failure, usageError } from '../../errors.ts';
import { GITHUB_OPTIONS } from '../../github-options.ts';
import { findRequestCredential, keepCredential, requireCredentialsFile } from '../../request-credentials.ts';
import { parseGrantTypes, parseList, parseRedirectUris, REDIRECT_URI_HELP } from './inputs.ts';
import { formatOpened } from './render.ts';

export interface AskAgainOptions extends SessionOptions {
  name: string;
  description?: string | undefined;
  /** An empty string removes the display name. */
  displayName?: string | undefined;
  redirectUris?: readonly string[] | undefined;
  scopes?: readonly string[] | undefined;
  grantTypes?: readonly GrantType[] | undefined;
  /** An empty string returns to the repository's default plan. */
  plan?: string | undefined;
}

export interface AskAgainResult extends OpenedRequest {
  /** The rejected request asked for again. */
  again: number;
  /** A create asked again with a new client secret (the old one was not in the credentials file): shown once. */
  clientSecret?: string;
  savedTo?: string;
}

export async function askAgain(options: AskAgainOptions): Promise<AskAgainResult> {
  const changes = changesOf(options);
  const session = await startWithMain(options);
  const { main } = session;
  const { request, asked } = await rejectedRequestOf(session, main, options.name);
  if (asked === undefined) {
    if (Object.keys(changes).length > 0) throw usageError(`a ${request.kind} request changes only the state: give no other option`);
    const kind = request.kind as 'deactivate' | 'reactivate';
    return { ...(await stateRequest(kind, options)), again: request.number };
  }
  if (request.kind === 'edit') {
    const content = editApplicationText(mainText(main, appPath(options.name)), { ...fieldsAsked(asked.app), ...changes });
    const what = changedFields(main.apps.get(options.name)!.manifest, loadApplication(options.name, content));
    if (what.length === 0) {
      throw failure(`edit request #${request.number} asked for nothing that differs from main now: give the options that change what the publisher refused`, {
        hint: `A rejected secret rotation is asked again with 'mergekey app edit ${options.name} --rotate-secret'.`,
      });
    }
    return { ...(await openRequest(session, main, { kind: 'edit', app: options.name, content, what: what.join(', ') })), again: request.number };
  }
  // A create: the manifest it asked for, with its client id. Its sealed secret is kept when the
  // credentials file holds that secret (from the first `app create`); otherwise a new one is made.
  const issuer = main.settings?.spec.issuer;
  const saved = issuer === undefined ? undefined : findRequestCredential(session.env, issuer, options.name);
  const hasSecret = secretIsGenerated(asked.app.spec.tokenEndpointAuthMethod);
  const knownSecret = saved !== undefined && saved.clientId === asked.app.spec.clientId ? saved.clientSecret : undefined;
  let fresh: { secret: string; sealed: string } | undefined;
  if (hasSecret && knownSecret === undefined) {
    requireCredentialsFile(session.env);
    fresh = await newSealedSecret(main.settings, options.name);
  }
  const content = editApplicationText(asked.text, { ...changes, ...(fresh === undefined ? {} : { secrets: [{ sealed: fresh.sealed }] }) });
  const opened = await openRequest(session, main, { kind: 'create', app: options.name, content });
  const secret = fresh?.secret ?? knownSecret;
  // The credential now belongs to the new request.
  const kept = !hasSecret || issuer === undefined ? {} : keepCredential(session.env, issuer, options.name, { clientId: asked.app.spec.clientId, clientSecret: secret, request: opened.number });
  const warning = [opened.warning, kept.warning].filter((text) => text !== undefined).join('; ');
  return {
    ...opened,
    again: request.number,
    ...(fresh === undefined ? {} : { clientSecret: fresh.secret }),
    ...(kept.savedTo === undefined ? {} : { savedTo: kept.savedTo }),
    ...(warning === '' ? {} : { warning }),
  };
}

/** The options as edits on what the rejected request asked for. */
function changesOf(options: AskAgainOptions): ApplicationEdits {
  const edits: ApplicationEdits = {};
  if (options.description !== undefined) {
    if (options.description.trim() === '') throw usageError("option '--description' cannot be empty: the description is required");
    edits.description = options.description;
  }
  if (options.displayName !== undefined) edits.displayName = options.displayName === '' ? null : options.displayName;
  if (options.redirectUris !== undefined && options.redirectUris.length > 0) edits.redirectUris = parseRedirectUris(options.redirectUris);
  if (options.scopes !== undefined) edits.scopes = [...options.scopes];
  if (options.grantTypes !== undefined) edits.grantTypes = [...options.grantTypes];
  if (options.plan !== undefined) edits.plan = options.plan === '' ? null : options.plan;
  return edits;
}

export const command = defineCommand({
  summary: 'Ask again for a rejected request (a new pull request).',
  description:
    "When a publisher rejected NAME's latest request, open it again as a new request, starting from " +
    'what it asked for, changed by the options given: a create keeps its client id (and the secret ' +
    'your credentials file holds for it, else a new one is made and shown once); an edit asks for the ' +
    "same fields on today's main; a deactivation or reactivation asks for the same state. Refused while " +
    "a request is open, when the latest request was not rejected, or when the lifecycle no longer " +
    "allows it. 'mergekey app show NAME' shows the publisher's reason.",
  arguments: [{ name: 'NAME', description: 'The application.', required: true }],
  options: {
    description: { type: 'string', valueName: 'TEXT', description: 'A new description.' },
    'display-name': { type: 'string', valueName: 'TEXT', description: "A new display name ('' removes it)." },
    'redirect-uri': { type: 'string', multiple: true, valueName: 'URI', description: `${REDIRECT_URI_HELP} Replaces the list asked for.` },
    scopes: { type: 'string', valueName: 'LIST', description: 'The scopes, comma-separated. Replaces the list asked for.' },
    'grant-types': { type: 'string', valueName: 'LIST', description: `The grant types, comma-separated: ${GRANT_TYPES.join(', ')}. Replaces the list asked for.` },
    plan: { type: 'string', valueName: 'PLAN', description: "The plan ('' returns to the repository's default plan)." },
    ...GITHUB_OPTIONS,
  },
  examples: ["mergekey app ask-again billing --scopes open,invoices:read", 'mergekey app ask-again billing'],
  run: (input) =>
    askAgain({
      name: input.name,
      description: input.description,
      displayName: input.displayName,
      redirectUris: input.redirectUri,
      scopes: input.scopes === undefined ? undefined : parseList('scopes', input.scopes),
      grantTypes: input.grantTypes === undefined ? undefined : parseGrantTypes(input.grantTypes),
      plan: input.plan,
      githubRepo: input.githubRepo,
      githubApiUrl: input.githubApiUrl,
    }),
  render: (result) =>
    `Asking again for rejected request #${result.again}.\n` +
    formatOpened(result) +
    (result.clientSecret === undefined ? '' : `\n  client secret: ${result.clientSecret}\nThe secret is shown once${result.savedTo === undefined ? '' : `; it is saved in ${result.savedTo}`}.\n`),
});
