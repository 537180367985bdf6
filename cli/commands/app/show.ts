// `mergekey app show NAME`: the brief's Application Details: the overview, the keys (client id;
// the secret masked unless --reveal finds it in the local credentials file), every request with
// who decided it and when, and, with a server, whether the controller serves it yet.
import {
  ACTION_WORDS,
  ACTIONS,
  appPath,
  isoTime,
  lifecycleOffers,
  stateOfApp,
  STATUS_WORDS,
  statusOfApp,
  type Action,
  type AppState,
  type AppStatusView,
  type RequestSummary,
  type Status,
} from '../../../controller/requests/index.ts';
import { approvalOf, requestRecords, type RequestRecord } from '../../../controller/requests/decisions.ts';
import type { Application } from '../../../controller/manifests/types.generated.ts';
import type { ObjectStatus } from '../../../controller/store/sync-records.ts';
import type { ReconcileStatus } from '../../../controller/reconcile/failures.ts';
import { defineCommand } from '../../command.ts';
import { credentialsPath } from '../../credentials.ts';
import { findRequestCredential, localSecrets } from '../../request-credentials.ts';
import { failure } from '../../errors.ts';
import { GITHUB_OPTIONS } from '../../github-options.ts';
import { withGitHubErrors } from '../../../controller/requests/errors.ts';
import { loadApplication } from '../../../controller/requests/manifest.ts';
import { startWithMain, type Session, type SessionOptions } from '../../../controller/requests/session.ts';
import { listRequests, statusOf, type MainState } from '../../../controller/requests/state.ts';
import { ADMIN_OPTION, OPERATOR, serverRequest } from '../status.ts';

export interface ShowOptions extends SessionOptions {
  name: string;
  /** Print the client secret when the credentials file has it. */
  reveal?: boolean | undefined;
  /** A controller's operator listener to ask whether it serves the application (else MERGEKEY_ADMIN_URL, else none). */
  admin?: string | undefined;
}

export interface SecretView {
  /** Always masked in the manifest: it is sealed. */
  masked: string;
  expiresAt?: string;
}

/**
 * One request: who asked, who decided it, when, and why (controller/requests/decisions.ts), its
 * outcome in the shared words: a request still open is `awaiting-approval`, as statuses say it.
 */
export type RequestView = Omit<RequestRecord, 'outcome'> & { outcome: Exclude<RequestRecord['outcome'], 'open'> | 'awaiting-approval' };

function requestView(record: RequestRecord): RequestView {
  return { ...record, outcome: record.outcome === 'open' ? 'awaiting-approval' : record.outcome };
}

export interface ControllerView {
  server: string;
  /** The commit the controller serves, and when it applied it. */
  appliedCommit?: string;
  appliedAt?: string;
  /** Whether the last approved request is in what the controller serves; undefined when unknown. */
  serving: boolean | undefined;
  message: string;
}

/** An action on the application: the command that takes it, or why it cannot be taken now. */
export interface ActionSuggestion {
  action: Action;
  /** The shared word: "Edit", "Deactivate", … */
  label: string;
  command?: string;
  reason?: string;
}

export interface AppShowResult {
  name: string;
  status: Status;
  /** The status in words: "awaiting approval", "approved", … */
  statusLabel: string;
  /** An approved application's state; absent before approval. */
  state?: AppState;
  reason: string;
  /** From main; for an application awaiting approval, as its open create request asks. */
  overview?: {
    source: 'main' | 'request';
    displayName?: string;
    description: string;
    owners: string[];
    state: string;
    scopes: string[];
    grantTypes: string[];
    redirectUris: string[];
    plan: string;
    tokenEndpointAuthMethod: string;
  };
  keys?: {
    clientId: string;
    secrets: SecretView[];
    publicKeys?: string[];
    /** With --reveal: the secret in use, from the credentials file, when it is there for this client id. */
    revealed?: string;
    /** With --reveal: a rotated secret that works once its request is merged. */
    pending?: { secret: string; request: number };
    /** Whether the credentials file holds a secret for this client id. */
    savedLocally: boolean;
    credentialsFile: string;
  };
  requests: RequestView[];
  /** What can be asked for next (controller/requests/actions.ts), as the portal offers it. */
  actions: ActionSuggestion[];
  controller?: ControllerView;
}

const MASK = '****************';

export async function show(options: ShowOptions): Promise<AppShowResult> {
  const session = await startWithMain(options);
  const { main } = session;
  const backend = session.github.backend;
  const requests = await withGitHubErrors(() => listRequests(backend, { app: options.name, withMergers: true }));
  const view = statusOf(main, options.name, requests);
  if (view === undefined) {
    throw failure(`no application ${options.name}: it is not on ${main.branch} and no request names it`, {
      hint: "Run 'mergekey app list' to see the applications.",
    });
  }
  const app = view.onMain ?? (await requestedApplication(session, options.name, view.openRequest));
  const env = session.env;
  const file = credentialsPath(env);
  const saved = app === undefined || main.settings === undefined ? undefined : findRequestCredential(env, main.settings.spec.issuer, options.name);
  const local = app === undefined ? {} : localSecrets(saved, app.spec.clientId, view.requests);
  const server = options.admin ?? (env.MERGEKEY_ADMIN_URL || undefined);

  const records = await withGitHubErrors(() =>
    requestRecords(view.requests, {
      backend,
      // Markers and trailers name the person only on what the portal's own account wrote; the CLI
      // has no key to verify a marker's MAC with, so a marker's name is kept as what the portal recorded.
      portalLogin: main.settings?.spec.portalGitHubLogin,
      approval: (commit) => approvalOf(session.clone, commit),
    }),
  );
  const status = statusOfApp(view.status);
  const state = stateOfApp(view.status);
  return {
    name: options.name,
    status,
    statusLabel: STATUS_WORDS[status],
    ...(state === undefined ? {} : { state }),
    reason: statusReason(view, records),
    ...(app === undefined ? {} : { overview: overview(app, view.onMain === undefined ? 'request' : 'main', main) }),
    ...(app === undefined
      ? {}
      : {
          keys: {
            clientId: app.spec.clientId,
            secrets: (app.spec.credentials?.secrets ?? []).map((secret) => ({ masked: MASK, ...(secret.expiresAt === undefined ? {} : { expiresAt: isoTime(secret.expiresAt) }) })),
            ...(app.spec.credentials?.jwks === undefined ? {} : { publicKeys: app.spec.credentials.jwks.keys.map((key) => key.kid ?? `${key.kty} key`) }),
            ...(options.reveal === true && local.current !== undefined ? { revealed: local.current } : {}),
            ...(options.reveal === true && local.pending !== undefined ? { pending: local.pending } : {}),
            savedLocally: local.current !== undefined,
            credentialsFile: file,
          },
        }),
    requests: records.map(requestView),
    actions: suggestions(view),
    ...(server === undefined ? {} : { controller: await controllerView(session, main, server, options.name, view.requests) }),
  };
}

/** The command behind each action, for NAME. */
const COMMANDS: Readonly<Record<Action, (name: string) => string>> = {
  edit: (name) => `mergekey app edit ${name}`,
  deactivate: (name) => `mergekey app deactivate ${name}`,
  reactivate: (name) => `mergekey app reactivate ${name}`,
  'rotate-secret': (name) => `mergekey app edit ${name} --rotate-secret`,
  'cancel-request': (name) => `mergekey app cancel ${name}`,
  'ask-again': (name) => `mergekey app ask-again ${name}`,
};

/** The actions the lifecycle shows for the application: each with its command, or why not now. */
function suggestions(view: AppStatusView): ActionSuggestion[] {
  const offers = lifecycleOffers(view);
  return ACTIONS.filter((action) => offers[action].shown).map((action) => {
    const reason = offers[action].reason;
    return { action, label: ACTION_WORDS[action], ...(reason === undefined ? { command: COMMANDS[action](view.app) } : { reason }) };
  });
}

/** The manifest an open create request asks for, read from its branch. */
async function requestedApplication(session: Session, name: string, open: RequestSummary | undefined): Promise<Application | undefined> {
  if (open === undefined || open.kind !== 'create') return undefined;
  try {
    const pull = await session.github.backend.getPullRequest(open.number);
    const commit = await session.clone.fetchBranch(pull.headRef);
    const bytes = await session.clone.readFile(commit, appPath(name));
    return bytes === undefined ? undefined : loadApplication(name, new TextDecoder().decode(bytes));
  } catch {
    // The overview is a courtesy for a pending request; its status and history still show.
    return undefined;
  }
}

function overview(app: Application, source: 'main' | 'request', main: MainState): NonNullable<AppShowResult['overview']> {
  const spec = app.spec;
  const defaultPlan = main.settings?.spec.defaultPlan;
  return {
    source,
    ...(spec.displayName === undefined ? {} : { displayName: spec.displayName }),
    description: spec.description,
    owners: spec.owners,
    state: spec.state,
    scopes: spec.scopes,
    grantTypes: spec.grantTypes,
    redirectUris: spec.redirectUris ?? [],
    plan: spec.plan ?? (defaultPlan === undefined ? '(the default plan)' : `${defaultPlan} (default)`),
    tokenEndpointAuthMethod: spec.tokenEndpointAuthMethod,
  };
}

/**
 * The status's reason. The lifecycle names who closed a create request on GitHub, which for the
 * portal's is its account; the records name the person.
 */
function statusReason(view: AppStatusView, records: readonly RequestRecord[]): string {
  if (view.status !== 'rejected' && view.status !== 'cancelled') return view.reason;
  const create = records.find((record) => record.kind === 'create' && record.outcome === view.status);
  if (create === undefined) return view.reason;
  return `create request #${create.number} was ${view.status} by ${recordedBy(create.decidedBy, create.recordedDecider) ?? 'someone GitHub no longer knows'} at ${create.decidedAt}`;
}

/**
 * A person the portal's marker names, which only the server can verify (anyone with write access
 * may edit a pull request's body): shown as the record of the account GitHub names, never as a fact.
 */
function recordedBy(account: string | undefined, recorded: string | undefined): string | undefined {
  return recorded === undefined || account === undefined ? account : `${recorded} (as recorded by ${account}, unverified)`;
}

/**
 * Whether the controller serves the latest approved request: its merge commit is in the history
 * of the commit the controller applied, and the manifest's own conditions say it was applied.
 */
async function controllerView(session: Session, main: MainState, server: string, name: string, requests: readonly RequestSummary[]): Promise<ControllerView> {
  const status = (await serverRequest(server, 'GET', '/api/v1/status', OPERATOR)) as ReconcileStatus;
  const applied = status.lastApplied;
  const base = { server, ...(applied === undefined ? {} : { appliedCommit: applied.commit, appliedAt: isoTime(applied.at) }) };
  if (applied === undefined) return { ...base, serving: false, message: 'the controller has applied no commit yet' };
  const object: ObjectStatus | undefined = status.objectStatuses.find((entry) => entry.path === appPath(name));
  const appliedCondition = object?.conditions.find((condition) => condition.type === 'Applied');
  const latest = requests.find((request) => request.state === 'merged');
  if (latest === undefined || latest.state !== 'merged') {
    if (object === undefined) return { ...base, serving: false, message: 'not served: no request about it has been merged yet' };
    // On main without a request (added by a publisher directly): the conditions say it all.
    return appliedCondition?.status === 'True'
      ? { ...base, serving: true, message: `applied: ${appliedCondition.message}` }
      : { ...base, serving: false, message: `not applied: ${appliedCondition?.message ?? 'the controller reports no condition for it'}` };
  }
  if (latest.mergeCommitSha === null) return { ...base, serving: undefined, message: `request #${latest.number} was merged, but GitHub does not say as which commit` };
  const included = await session.clone.isAncestor(latest.mergeCommitSha, applied.commit);
  if (!included) {
    const known = await session.clone.isAncestor(applied.commit, main.commit);
    return {
      ...base,
      serving: known ? false : undefined,
      message: known
        ? `not yet: request #${latest.number} (merged as ${latest.mergeCommitSha.slice(0, 12)}) is newer than what the controller applied`
        : `unknown: the controller's commit ${applied.commit.slice(0, 12)} is not in ${main.branch} as fetched here`,
    };
  }
  if (appliedCondition !== undefined && appliedCondition.status !== 'True') {
    return { ...base, serving: false, message: `the controller holds ${appPath(name)} back: ${appliedCondition.message}` };
  }
  return { ...base, serving: true, message: `applied: request #${latest.number} is live since ${isoTime(applied.at)}` };
}

export function formatShow(result: AppShowResult): string {
  const lines: string[] = [`${result.name}: ${result.statusLabel}${result.state === undefined ? '' : `, ${result.state}`} (${result.reason})`];
  const o = result.overview;
  if (o !== undefined) {
    lines.push('', o.source === 'main' ? 'Overview' : 'Overview (as requested)');
    const rows: [string, string][] = [
      ...(o.displayName === undefined ? [] : [['Display name', o.displayName] as [string, string]]),
      ['Description', o.description],
      ['Owners', o.owners.join(', ')],
      ['State', o.state],
      ['Scopes', o.scopes.join(', ')],
      ['Grant types', o.grantTypes.join(', ')],
      ['Redirect URIs', o.redirectUris.length === 0 ? '(none)' : o.redirectUris.join(', ')],
      ['Plan', o.plan],
      ['Client auth', o.tokenEndpointAuthMethod],
    ];
    lines.push(...table(rows));
  }
  const k = result.keys;
  if (k !== undefined) {
    lines.push('', 'Keys');
    const rows: [string, string][] = [['Client ID', k.clientId]];
    k.secrets.forEach((secret, i) => {
      const label = k.secrets.length === 1 ? 'Client secret' : `Client secret ${i + 1}`;
      rows.push([label, `${secret.masked}${secret.expiresAt === undefined ? '' : ` (expires ${secret.expiresAt})`}`]);
    });
    if (k.publicKeys !== undefined) rows.push(['Public keys', k.publicKeys.join(', ')]);
    if (k.revealed !== undefined) rows.push(['Your secret', k.revealed]);
    if (k.pending !== undefined) rows.push(['Next secret', `${k.pending.secret} (works once request #${k.pending.request} is merged)`]);
    else if (k.secrets.length > 0) {
      rows.push(['', k.savedLocally ? `saved in ${k.credentialsFile}; --reveal shows it` : `not in ${k.credentialsFile}`]);
    }
    lines.push(...table(rows));
  }
  lines.push('', 'Requests');
  if (result.requests.length === 0) lines.push('  (none: the application was added without a request)');
  for (const request of result.requests) {
    const decided =
      request.outcome === 'awaiting-approval'
        ? `awaiting approval since ${request.openedAt}`
        : `${request.outcome} by ${recordedBy(request.decidedBy, request.recordedDecider) ?? 'someone GitHub no longer knows'} at ${request.decidedAt}`;
    lines.push(`  #${request.number} ${request.kind}, asked by ${recordedBy(request.requestedBy, request.recordedRequester)}: ${decided}`);
    if (request.outcome === 'rejected') lines.push(...indented('Reason', request.reason ?? '(none given)'));
    if (request.comment !== undefined) lines.push(...indented('Comment', request.comment));
  }
  if (result.actions.length > 0) {
    lines.push('', 'Actions', ...table(result.actions.map((action) => [action.label, action.command ?? `not now: ${action.reason}`])));
  }
  const c = result.controller;
  if (c !== undefined) {
    lines.push('', 'Controller', ...table([['Server', c.server], ['Serves', c.appliedCommit === undefined ? 'nothing yet' : `${c.appliedCommit.slice(0, 12)} (applied ${c.appliedAt})`], ['This app', c.message]]));
  }
  return `${lines.join('\n')}\n`;
}

/** A labelled text under a request, every line of it indented. */
function indented(label: string, text: string): string[] {
  return text.split('\n').map((line, i) => `      ${i === 0 ? `${label}: ` : ' '.repeat(label.length + 2)}${line}`.trimEnd());
}

function table(rows: readonly [string, string][]): string[] {
  const width = Math.max(...rows.map(([key]) => key.length));
  return rows.map(([key, value]) => `  ${key.padEnd(width)}  ${value}`.trimEnd());
}

export const command = defineCommand({
  summary: "Show an application's details, keys and requests.",
  description:
    "Show NAME's status and state, its overview, its keys (client id; the client secret masked unless " +
    '--reveal finds it in your credentials file), its open and past requests with who asked, who ' +
    "approved, rejected or cancelled them, when, and why (a rejection's reason, an approval's comment), " +
    'the actions its status allows (the command, or why not now: "Edit request #4 awaits approval"; ' +
    'Ask again after a rejection), and, with --admin (or MERGEKEY_ADMIN_URL: the operator listener), ' +
    'whether the controller serves its latest approved request yet.',
  arguments: [{ name: 'NAME', description: 'The application.', required: true }],
  options: {
    reveal: { type: 'boolean', description: 'Show the client secret, if your credentials file has it.' },
    admin: { ...ADMIN_OPTION, description: "The controller's operator listener, to ask whether it serves the application (env MERGEKEY_ADMIN_URL; none by default)." },
    format: { type: 'string', valueName: 'FORMAT', choices: ['text', 'json'], default: 'text', description: 'text or json.' },
    ...GITHUB_OPTIONS,
  },
  examples: ['mergekey app show billing', 'mergekey app show billing --reveal --admin http://127.0.0.1:9000'],
  run: (input) => show({ name: input.name, reveal: input.reveal, admin: input.admin, githubRepo: input.githubRepo, githubApiUrl: input.githubApiUrl }),
  render: (result, input) => (input.format === 'json' ? `${JSON.stringify(result, null, 2)}\n` : formatShow(result)),
});
