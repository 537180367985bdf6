// Rules across objects, which no single file's schema can check: unique client ids, scopes that
// some Api publishes, plans and owners that exist, one settings file, sealed values made for the
// current sealing key. Every problem sits on the object it concerns (its path, the node's line
// and column), so a reconciler can hold back exactly that object and apply the rest.
//
// Each rule indexes the objects once (by name, clientId, scope), so the whole check is linear.
import type { ProblemCode } from './codes.ts';
import type { Kind, ManifestObject, ManifestOf, Pointer, Problem } from './model.ts';
import { classifyPath, manifestPath, SETTINGS_PATH } from './paths.ts';
import { display } from './schema-messages.ts';
import { findSealed, sealedHeader } from './sealed.ts';
import type { Api, Application, Settings, User } from './types.generated.ts';
import { foldClientId, isBuiltInScope } from './vocabulary.ts';

export interface RuleContext {
  /**
   * Paths of manifests that exist but did not load (they have problems of their own). A
   * reference to one of them is not reported again: "owner alice is not a User" would only
   * repeat that users/alice.yaml is broken. A reconciler that holds back broken objects at their
   * last good version can instead pass those versions in `objects`.
   */
  unloaded?: Iterable<string>;
}

/** Cross-object rules over a whole set of loaded objects. */
export function checkRules(objects: readonly ManifestObject[], context: RuleContext = {}): Problem[] {
  const problems: Problem[] = [];
  const report = (object: ManifestObject, pointer: Pointer, code: ProblemCode, message: string): void => {
    problems.push({ path: object.path, ...object.locate(pointer), code, message: `${display(pointer)}: ${message}` });
  };

  const unloaded = new Set<string>();
  for (const path of context.unloaded ?? []) {
    const where = classifyPath(path);
    if (where !== undefined) unloaded.add(`${where.kind}/${where.name}`);
  }
  const exists = (kind: Kind, name: string, index: ReadonlyMap<string, unknown>): boolean =>
    index.has(name) || unloaded.has(`${kind}/${name}`);

  const byKind = groupByKind(objects);
  const users = byName(byKind.User);
  const plans = byName(byKind.Plan);

  const settings = checkSettings(byKind.Settings, unloaded, plans, report, problems);
  const published = checkApis(byKind.Api, report);
  checkUsers(byKind.User, report);
  // A broken Api's scopes are unknown, so no scope can be said to be unpublished until it is fixed.
  const someApiUnloaded = [...unloaded].some((key) => key.startsWith('Api/'));

  const clientIds = new Map<string, ManifestObject<Application>[]>();
  for (const object of byKind.Application) {
    const { spec } = object.manifest;
    for (const [index, owner] of spec.owners.entries()) {
      if (!exists('User', owner, users)) {
        report(object, ['spec', 'owners', index], 'rules.unknown-owner', `${quote(owner)} is not a User: add ${manifestPath('User', owner)} or fix the name`);
      }
    }
    if (spec.plan !== undefined && !exists('Plan', spec.plan, plans)) {
      report(object, ['spec', 'plan'], 'rules.unknown-plan', `plan ${quote(spec.plan)} does not exist: add ${manifestPath('Plan', spec.plan)} or name an existing plan`);
    }
    if (!someApiUnloaded) {
      for (const [index, scope] of spec.scopes.entries()) {
        if (!isBuiltInScope(scope) && !published.has(scope)) {
          report(object, ['spec', 'scopes', index], 'rules.unknown-scope', `no Api publishes the scope ${quote(scope)}: use open, openid, profile, email or a scope an Api in apis/ publishes`);
        }
      }
    }
    // Skipping consent is the publisher's decision, made in mergekey.yaml, never the app's own:
    // without it, any app could sign users in without their say.
    if (spec.consent === 'skip' && settings !== undefined && !(settings.spec.firstPartyApps ?? []).includes(object.name)) {
      report(object, ['spec', 'consent'], 'rules.consent-not-first-party', `only first-party applications skip consent, and ${SETTINGS_PATH}'s spec.firstPartyApps does not list ${quote(object.name)}: a publisher adds it there, or remove consent`);
    }
    const folded = foldClientId(spec.clientId);
    const sharing = clientIds.get(folded);
    if (sharing === undefined) clientIds.set(folded, [object]);
    else sharing.push(object);
    const user = users.get(folded);
    if (user !== undefined) {
      report(object, ['spec', 'clientId'], 'rules.client-id-user', `${quote(spec.clientId)} is the name of a User (${user.path}): a client id must differ from every user name`);
    }
  }
  for (const sharing of clientIds.values()) {
    if (sharing.length < 2) continue;
    const paths = sortedPaths(sharing);
    for (const object of sharing) {
      const { clientId } = object.manifest.spec;
      const others = otherPaths(paths, object.path);
      report(object, ['spec', 'clientId'], 'rules.duplicate-client-id', `${quote(clientId)} is also the clientId of ${others} (client ids are compared ignoring case)`);
    }
  }

  const kid = settings?.spec.sealingKey?.kid;
  if (kid !== undefined) {
    for (const object of [...byKind.Application, ...byKind.User]) {
      for (const sealed of findSealed(object.manifest.spec)) {
        const sealedKid = sealedHeader(sealed)?.kid;
        if (typeof sealedKid === 'string' && sealedKid !== kid) {
          report(object, ['spec', ...sealed.pointer], 'rules.sealing-key-mismatch', `sealed for key ${quote(sealedKid)}, but the sealing key in ${SETTINGS_PATH} is ${quote(kid)}: seal it again with \`mergekey seal\``);
        }
      }
    }
  }
  return problems;
}

type Report = (object: ManifestObject, pointer: Pointer, code: ProblemCode, message: string) => void;

/** Exactly one mergekey.yaml, and its default plan exists. Returns the settings, if one. */
function checkSettings(
  all: readonly ManifestObject<Settings>[],
  unloaded: ReadonlySet<string>,
  plans: ReadonlyMap<string, ManifestObject>,
  report: Report,
  problems: Problem[],
): Settings | undefined {
  if (all.length === 0) {
    if (!unloaded.has('Settings/mergekey')) {
      problems.push({ path: SETTINGS_PATH, line: 1, column: 1, code: 'rules.settings-missing', message: `the repository has no ${SETTINGS_PATH}: create one with \`mergekey init\`` });
    }
    return undefined;
  }
  if (all.length > 1) {
    const paths = sortedPaths(all);
    for (const object of all) {
      report(object, ['kind'], 'rules.settings-duplicate', `a repository holds one Settings object, in ${SETTINGS_PATH}; also found in ${otherPaths(paths, object.path)}`);
    }
  }
  const [first] = all;
  const settings = first!.manifest;
  const plan = settings.spec.defaultPlan;
  if (!plans.has(plan) && !unloaded.has(`Plan/${plan}`)) {
    report(first!, ['spec', 'defaultPlan'], 'rules.unknown-plan', `plan ${quote(plan)} does not exist: add ${manifestPath('Plan', plan)} or name an existing plan`);
  }
  return settings;
}

/** A scope is published by one Api only, once, and never a built-in one (open, openid, profile, email). Returns the published scopes. */
function checkApis(apis: readonly ManifestObject<Api>[], report: Report): Set<string> {
  const publishers = new Map<string, { object: ManifestObject<Api>; index: number }[]>();
  for (const object of apis) {
    for (const [index, scope] of object.manifest.spec.scopes.entries()) {
      if (isBuiltInScope(scope.name)) {
        report(object, ['spec', 'scopes', index, 'name'], 'rules.reserved-scope', `${scope.name} is a scope of the authorization server itself, which any application may list; an Api cannot publish it`);
        continue;
      }
      const list = publishers.get(scope.name);
      if (list === undefined) publishers.set(scope.name, [{ object, index }]);
      else list.push({ object, index });
    }
  }
  for (const [scope, list] of publishers) {
    if (list.length < 2) continue;
    const firstIndex = new Map<ManifestObject<Api>, number>();
    for (const { object, index } of list) if (!firstIndex.has(object)) firstIndex.set(object, index);
    const paths = sortedPaths([...firstIndex.keys()]);
    for (const { object, index } of list) {
      const pointer = ['spec', 'scopes', index, 'name'];
      const first = firstIndex.get(object)!;
      if (first !== index) {
        report(object, pointer, 'rules.duplicate-scope', `scope ${quote(scope)} is already published at ${display(['spec', 'scopes', first])}`);
      }
      if (paths.length > 1) {
        report(object, pointer, 'rules.duplicate-scope', `scope ${quote(scope)} is also published by ${otherPaths(paths, object.path)}: a scope belongs to one Api`);
      }
    }
  }
  return new Set(publishers.keys());
}

/** A githubLogin ties pull requests to one person, so two users cannot share it. */
function checkUsers(users: readonly ManifestObject<User>[], report: Report): void {
  const logins = new Map<string, ManifestObject<User>[]>();
  for (const object of users) {
    const login = object.manifest.spec.githubLogin?.toLowerCase();
    if (login === undefined) continue;
    const list = logins.get(login);
    if (list === undefined) logins.set(login, [object]);
    else list.push(object);
  }
  for (const list of logins.values()) {
    if (list.length < 2) continue;
    const paths = sortedPaths(list);
    for (const object of list) {
      const login = object.manifest.spec.githubLogin ?? '';
      report(object, ['spec', 'githubLogin'], 'rules.duplicate-github-login', `${quote(login)} is also the githubLogin of ${otherPaths(paths, object.path)} (GitHub logins ignore case)`);
    }
  }
}

type ObjectsByKind = { [K in Kind]: ManifestObject<ManifestOf<K>>[] };

function groupByKind(objects: readonly ManifestObject[]): ObjectsByKind {
  const groups: ObjectsByKind = { Settings: [], Application: [], Api: [], Plan: [], User: [] };
  // A switch rather than `groups[object.kind]`: it lets the compiler see each push is of its kind.
  for (const object of objects) {
    switch (object.kind) {
      case 'Settings': groups.Settings.push(object); break;
      case 'Application': groups.Application.push(object); break;
      case 'Api': groups.Api.push(object); break;
      case 'Plan': groups.Plan.push(object); break;
      case 'User': groups.User.push(object); break;
    }
  }
  return groups;
}

function byName<O extends ManifestObject>(objects: readonly O[]): Map<string, O> {
  const index = new Map<string, O>();
  for (const object of objects) if (!index.has(object.name)) index.set(object.name, object);
  return index;
}

function sortedPaths(objects: readonly ManifestObject[]): string[] {
  return objects.map((object) => object.path).sort();
}

/**
 * The paths other than `self`, at most three of them, so a clash among thousands of objects
 * stays one readable line per object and costs constant time to write.
 */
function otherPaths(sorted: readonly string[], self: string): string {
  const shown: string[] = [];
  for (const path of sorted) {
    if (path === self) continue;
    if (shown.length === 3) break;
    shown.push(path);
  }
  const others = sorted.length - 1; // every caller's list includes `self`
  return others > shown.length ? `${shown.join(', ')} and ${others - shown.length} more` : shown.join(', ');
}

function quote(text: string): string {
  return JSON.stringify(text);
}
