// What merging a change does to the token server, in Markdown for the pull request comment the
// check writes. Pure: the facts come from the two versions of the manifests (and, when the check
// can ask the server, how many tokens a deactivation revokes).
import { isoTime } from './time.ts';
import type { Manifest, PlainManifestObject } from '../manifests/model.ts';
import type { Api, Application, Plan, Settings, User } from '../manifests/types.generated.ts';
import { sameValue } from './classify.ts';

export interface ChangePlan {
  /** Bullet points, one effect each, in Markdown. */
  lines: string[];
  /** True only for an edit that changes nothing but the description. */
  lowRisk: boolean;
  /** A heading, the lines as a list and the risk, ready for a comment. */
  markdown: string;
}

export interface DescribeOptions {
  /** The repository's default plan (mergekey.yaml `spec.defaultPlan`), for apps that name none. */
  defaultPlan?: string;
  /** Active tokens the application holds now, when the check could ask the token server. */
  activeTokens?: number;
}

const code = (value: string): string => `\`${value.replaceAll('`', "'")}\``;
const codes = (values: readonly string[]): string => values.map(code).join(', ');

function listDiff(before: readonly string[], after: readonly string[]): { added: string[]; removed: string[] } {
  return { added: after.filter((item) => !before.includes(item)), removed: before.filter((item) => !after.includes(item)) };
}

function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

function render(title: string, lines: string[], lowRisk: boolean): ChangePlan {
  const risk = lowRisk
    ? '**Risk: low.** A description-only edit: nothing the token server does changes.'
    : '**Needs an approving review from a publisher** before it is merged.';
  const body = lines.length === 0 ? ['- No effective change: the token server behaves the same.'] : lines.map((line) => `- ${line}`);
  return { lines, lowRisk, markdown: [`### ${title}`, '', ...body, '', risk, ''].join('\n') };
}

/**
 * The plan for one application: what merging `head` over `base` (undefined for a create) changes
 * for the token server. A deactivation says how many active tokens it revokes when
 * `options.activeTokens` is given.
 */
export function describeChange(base: Application | undefined, head: Application, options: DescribeOptions = {}): ChangePlan {
  const name = head.metadata.name;
  const planName = (app: Application): string => app.spec.plan ?? (options.defaultPlan === undefined ? 'the default plan' : `${options.defaultPlan} (default)`);
  if (base === undefined) return render(`Create ${code(name)}`, describeCreate(head, planName(head)), false);

  const lines: string[] = [];
  const from = base.spec;
  const to = head.spec;
  let verb = 'Edit';
  if (from.state !== to.state) {
    if (to.state === 'inactive') {
      verb = 'Deactivate';
      lines.push(`Deactivates ${code(name)}: the token server stops issuing tokens to it, and every token it holds stops working at once.`);
      if (options.activeTokens !== undefined) {
        lines.push(`Deactivation revokes ${plural(options.activeTokens, 'active token')}.`);
      }
    } else {
      verb = 'Reactivate';
      lines.push(`Reactivates ${code(name)}: the token server issues tokens to it again.`);
    }
  }
  if (from.displayName !== to.displayName) {
    lines.push(`Display name: ${from.displayName === undefined ? '(none)' : code(from.displayName)} → ${to.displayName === undefined ? '(none)' : code(to.displayName)}.`);
  }
  if (from.description !== to.description) lines.push('Description changes.');

  const scopes = listDiff(from.scopes, to.scopes);
  if (scopes.added.length > 0) lines.push(`Scopes added: ${codes(scopes.added)}; tokens may carry them.`);
  if (scopes.removed.length > 0) lines.push(`Scopes removed: ${codes(scopes.removed)}; new tokens no longer carry them.`);

  const grants = listDiff(from.grantTypes, to.grantTypes);
  if (grants.added.length > 0) lines.push(`Grant types added: ${codes(grants.added)}.`);
  if (grants.removed.length > 0) lines.push(`Grant types removed: ${codes(grants.removed)}; the token endpoint refuses them.`);

  const uris = listDiff(from.redirectUris ?? [], to.redirectUris ?? []);
  if (uris.added.length > 0) lines.push(`Redirect URIs added: ${codes(uris.added)}.`);
  if (uris.removed.length > 0) lines.push(`Redirect URIs removed: ${codes(uris.removed)}.`);

  if (from.plan !== to.plan) lines.push(`Plan: ${planName(base)} → ${planName(head)} (token lifetimes and request rate follow it).`);
  if (from.tokenEndpointAuthMethod !== to.tokenEndpointAuthMethod) {
    lines.push(`Client authentication: ${authMethod(from.tokenEndpointAuthMethod)} → ${authMethod(to.tokenEndpointAuthMethod)}.`);
  }
  if (from.consent !== to.consent) {
    lines.push(to.consent === 'skip' ? CONSENT_SKIPPED : 'Consent: users are asked again before the application signs them in.');
  }
  lines.push(...describeCredentials(base, head));

  const owners = listDiff(from.owners, to.owners);
  if (owners.added.length > 0) lines.push(`Owners added: ${codes(owners.added)}.`);
  if (owners.removed.length > 0) lines.push(`Owners removed: ${codes(owners.removed)}.`);

  const { description: _fromDescription, ...fromRest } = from;
  const { description: _toDescription, ...toRest } = to;
  const lowRisk = from.description !== to.description && sameValue(fromRest, toRest);
  return render(`${verb} ${code(name)}`, lines, lowRisk);
}

const CONSENT_SKIPPED = 'Consent: skipped, as for a first-party application: users are not asked before it signs them in.';

/** A public client says so: it holds no secret, and PKCE alone protects its codes. */
function authMethod(method: Application['spec']['tokenEndpointAuthMethod']): string {
  return method === 'none' ? `${code('none')} (a public client: no client secret; PKCE protects its codes)` : code(method);
}

function describeCreate(head: Application, plan: string): string[] {
  const spec = head.spec;
  const lines = [
    `Registers ${code(head.metadata.name)} with client id ${code(spec.clientId)}, ${spec.state}.`,
    `Scopes: ${codes(spec.scopes)}.`,
    `Grant types: ${codes(spec.grantTypes)}.`,
    `Plan: ${plan}.`,
    `Client authentication: ${authMethod(spec.tokenEndpointAuthMethod)}.`,
  ];
  if (spec.redirectUris !== undefined && spec.redirectUris.length > 0) lines.push(`Redirect URIs (matched exactly): ${codes(spec.redirectUris)}.`);
  if (spec.consent === 'skip') lines.push(CONSENT_SKIPPED);
  if (spec.credentials?.secrets !== undefined) lines.push(`Credentials: ${plural(spec.credentials.secrets.length, 'sealed client secret')}.`);
  if (spec.credentials?.jwks !== undefined) lines.push(`Credentials: ${plural(spec.credentials.jwks.keys.length, 'public key')} (private_key_jwt).`);
  lines.push(`Owners: ${codes(spec.owners)}.`);
  return lines;
}

function describeCredentials(base: Application, head: Application): string[] {
  const lines: string[] = [];
  const before = base.spec.credentials?.secrets ?? [];
  const after = head.spec.credentials?.secrets ?? [];
  const added = after.filter((secret) => !before.some((old) => old.sealed === secret.sealed));
  const removed = before.filter((secret) => !after.some((kept) => kept.sealed === secret.sealed));
  if (added.length > 0) lines.push(`${plural(added.length, 'new client secret')} accepted.`);
  for (const secret of after) {
    const old = before.find((candidate) => candidate.sealed === secret.sealed);
    if (old !== undefined && old.expiresAt !== secret.expiresAt && secret.expiresAt !== undefined) {
      lines.push(`An existing client secret now expires at ${isoTime(secret.expiresAt)} (rotation: clients switch to the new one before then).`);
    }
  }
  if (removed.length > 0) lines.push(`${plural(removed.length, 'client secret')} removed: clients using it can no longer authenticate.`);
  const keysBefore = base.spec.credentials?.jwks?.keys ?? [];
  const keysAfter = head.spec.credentials?.jwks?.keys ?? [];
  const keysAdded = keysAfter.filter((key) => !keysBefore.some((old) => sameValue(old, key)));
  const keysRemoved = keysBefore.filter((key) => !keysAfter.some((kept) => sameValue(kept, key)));
  if (keysAdded.length > 0) lines.push(`${plural(keysAdded.length, 'public key')} added for private_key_jwt.`);
  if (keysRemoved.length > 0) lines.push(`${plural(keysRemoved.length, 'public key')} removed: assertions signed with it are refused.`);
  return lines;
}

/**
 * The plan for a publisher change: for each changed path, what it changes (API scopes and
 * audience, plan lifetimes and rates, user roles and passwords, repository settings).
 */
export function describePublisherChange(
  baseObjects: readonly PlainManifestObject[],
  headObjects: readonly PlainManifestObject[],
  paths: readonly string[],
): ChangePlan {
  const lines: string[] = [];
  for (const path of paths) {
    const base = baseObjects.find((object) => object.path === path)?.manifest;
    const head = headObjects.find((object) => object.path === path)?.manifest;
    if (head === undefined) {
      lines.push(`${code(path)}: no effect on the token server.`);
      continue;
    }
    const what = `${head.kind} ${code(head.metadata.name)}`;
    if (base === undefined || base.kind !== head.kind) {
      lines.push(`Adds ${what}.`);
      continue;
    }
    const details = describeManifestEdit(base, head);
    lines.push(details.length === 0 ? `${what}: no effective change.` : `${what}: ${details.join('; ')}.`);
  }
  return render('Publisher change', lines, false);
}

function describeManifestEdit(base: Manifest, head: Manifest): string[] {
  // The caller pairs a base and head of one kind; checking both lets the compiler see it.
  if (base.kind === 'Api' && head.kind === 'Api') return describeApi(base, head);
  if (base.kind === 'Plan' && head.kind === 'Plan') return describePlan(base, head);
  if (base.kind === 'User' && head.kind === 'User') return describeUser(base, head);
  if (base.kind === 'Settings' && head.kind === 'Settings') return describeSettings(base, head);
  return sameValue(base, head) ? [] : ['changes'];
}

function describeApi(base: Api, head: Api): string[] {
  const details: string[] = [];
  if (base.spec.audience !== head.spec.audience) details.push(`audience ${code(base.spec.audience)} → ${code(head.spec.audience)}`);
  const scopes = listDiff(
    base.spec.scopes.map((scope) => scope.name),
    head.spec.scopes.map((scope) => scope.name),
  );
  if (scopes.added.length > 0) details.push(`publishes scopes ${codes(scopes.added)}`);
  if (scopes.removed.length > 0) details.push(`withdraws scopes ${codes(scopes.removed)}`);
  if (base.spec.description !== head.spec.description || base.spec.displayName !== head.spec.displayName) details.push('description changes');
  return details;
}

function describePlan(base: Plan, head: Plan): string[] {
  const details: string[] = [];
  if (base.spec.accessTokenTtl !== head.spec.accessTokenTtl) details.push(`access token lifetime ${base.spec.accessTokenTtl} → ${head.spec.accessTokenTtl}`);
  if (base.spec.refreshTokenTtl !== head.spec.refreshTokenTtl) details.push(`refresh token lifetime ${base.spec.refreshTokenTtl} → ${head.spec.refreshTokenTtl}`);
  if (base.spec.tokenRequestsPerMinute !== head.spec.tokenRequestsPerMinute) {
    details.push(`token requests per minute ${base.spec.tokenRequestsPerMinute} → ${head.spec.tokenRequestsPerMinute}`);
  }
  if (base.spec.description !== head.spec.description || base.spec.displayName !== head.spec.displayName) details.push('description changes');
  return details;
}

function describeUser(base: User, head: User): string[] {
  const details: string[] = [];
  const roles = listDiff(base.spec.roles, head.spec.roles);
  if (roles.added.length > 0) details.push(`gains roles ${codes(roles.added)}`);
  if (roles.removed.length > 0) details.push(`loses roles ${codes(roles.removed)}`);
  if (base.spec.githubLogin !== head.spec.githubLogin) details.push(`GitHub login ${base.spec.githubLogin ?? '(none)'} → ${head.spec.githubLogin ?? '(none)'}`);
  const hadPassword = base.spec.password !== undefined;
  const hasPassword = head.spec.password !== undefined;
  if (!hadPassword && hasPassword) details.push('a password is set');
  else if (hadPassword && !hasPassword) details.push('the password is removed: the user can no longer sign in');
  else if (hadPassword && hasPassword && base.spec.password?.sealed !== head.spec.password?.sealed) details.push('the password changes');
  if (base.spec.email !== head.spec.email || base.spec.displayName !== head.spec.displayName) details.push('contact details change');
  return details;
}

function describeSettings(base: Settings, head: Settings): string[] {
  const details: string[] = [];
  if (base.spec.issuer !== head.spec.issuer) {
    details.push(`issuer ${code(base.spec.issuer)} → ${code(head.spec.issuer)} (resource servers checking \`iss\` refuse tokens issued before)`);
  }
  if (base.spec.defaultPlan !== head.spec.defaultPlan) details.push(`default plan ${code(base.spec.defaultPlan)} → ${code(head.spec.defaultPlan)}`);
  if (!sameValue(base.spec.sealingKey, head.spec.sealingKey)) details.push('the public sealing key changes');
  const firstParty = listDiff(base.spec.firstPartyApps ?? [], head.spec.firstPartyApps ?? []);
  if (firstParty.added.length > 0) details.push(`first-party applications (may skip consent) added: ${codes(firstParty.added)}`);
  if (firstParty.removed.length > 0) details.push(`first-party applications removed: ${codes(firstParty.removed)}`);
  return details;
}
