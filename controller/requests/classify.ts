// What kind of request a change between two commits is, and whether the lifecycle allows it.
// This is the heart of the repo's check (`mergekey check`): pure, over the manifests loaded from
// the base and head commits and the list of changed paths, so it is tested on fixtures alone.
import type { ChangedPath } from '../git/changes.ts';
import type { PlainManifestObject } from '../manifests/model.ts';
import type { Application } from '../manifests/types.generated.ts';
import { refusal, type Refusal } from './refusals.ts';
import { appNameFromPath, isRequestKind, type RequestKind } from './requests.ts';

/** A change the lifecycle recognises. */
export type ChangeClass =
  | {
      kind: RequestKind;
      app: string;
      path: string;
      /** The application on the base branch; undefined for a create. */
      base: Application | undefined;
      head: Application;
    }
  | {
      kind: 'publisher';
      /** Every changed path (none under apps/). */
      paths: string[];
    };

export type Classification =
  | { ok: true; change: ChangeClass; reasons: string[] }
  /** `change` is there when the change was recognised but a rule refuses it. */
  | { ok: false; refusals: Refusal[]; change?: ChangeClass; reasons: string[] };

export interface ClassifyOptions {
  /**
   * The kind the pull request declares (its label or branch). A deactivation of an app that is
   * already inactive changes nothing in the diff; only the declared intent reveals it.
   */
  declared?: RequestKind;
}

const MANIFEST_FOLDERS = ['apps/', 'apis/', 'plans/', 'users/'];

/** Whether a path is, or sits where, a manifest would be (so deleting or renaming it is refused). */
export function isManifestLocation(path: string): boolean {
  return path === 'mergekey.yaml' || (MANIFEST_FOLDERS.some((folder) => path.startsWith(folder)) && /\.ya?ml$/.test(path));
}

/**
 * Classifies the change from `baseObjects` to `headObjects` as create, edit, deactivate,
 * reactivate (one application) or publisher (apis/, plans/, users/, mergekey.yaml and other
 * repository files), and enforces the lifecycle rules on it:
 * no deletion or rename of a manifest, no change to `clientId` or `metadata.name`, one
 * application per request and nothing else beside it, a deactivation only of an active app and a
 * reactivation only of an inactive one (each changing `state` alone), no edit of an app that is
 * not on the base branch. Every refusal found is reported, not just the first.
 */
export function classifyChange(
  baseObjects: readonly PlainManifestObject[],
  headObjects: readonly PlainManifestObject[],
  changedPaths: readonly ChangedPath[],
  options: ClassifyOptions = {},
): Classification {
  const refusals: Refusal[] = [];
  const reasons: string[] = [];
  if (changedPaths.length === 0) {
    return { ok: false, refusals: [refusal('no-change', 'the pull request changes no file')], reasons };
  }

  const appPaths = new Set<string>();
  const otherPaths = new Set<string>();
  for (const change of changedPaths) {
    if (change.status === 'deleted') {
      if (isManifestLocation(change.path)) {
        refusals.push(refusal('manifest-deleted', `${change.path} is deleted; manifests are never deleted (deactivate an application instead)`, change.path));
      } else {
        otherPaths.add(change.path);
      }
      continue;
    }
    if (change.status === 'renamed' && change.previousPath !== undefined && isManifestLocation(change.previousPath)) {
      refusals.push(
        refusal('manifest-renamed', `${change.previousPath} is renamed to ${change.path}; a manifest's name and place never change`, change.previousPath),
      );
      continue;
    }
    if (change.path.startsWith('apps/')) {
      if (appNameFromPath(change.path) === undefined) {
        refusals.push(refusal('invalid-manifest', `${change.path} is not an application manifest path: applications live in apps/<name>.yaml`, change.path));
      } else {
        appPaths.add(change.path);
      }
    } else {
      otherPaths.add(change.path);
    }
  }

  if (appPaths.size > 1) {
    const names = [...appPaths].map((path) => appNameFromPath(path)).join(', ');
    refusals.push(refusal('multiple-apps', `this pull request changes ${appPaths.size} applications (${names}); open one request per application`));
  }
  if (appPaths.size > 0 && otherPaths.size > 0) {
    refusals.push(
      refusal(
        'mixed-change',
        `an application change cannot be mixed with other files (${[...otherPaths].sort().join(', ')}); ` +
          'publisher changes and repository files go in their own pull request',
      ),
    );
  }

  if (appPaths.size !== 1) {
    if (appPaths.size > 1) return { ok: false, refusals, reasons };
    const paths = [...otherPaths].sort();
    const change: ChangeClass = { kind: 'publisher', paths };
    if (paths.length > 0) reasons.push(`changes only publisher or repository files: ${paths.join(', ')}`);
    if (options.declared !== undefined) {
      refusals.push(refusal('kind-mismatch', `labelled as a ${options.declared} request but changes no application`));
    }
    return refusals.length === 0 ? { ok: true, change, reasons } : { ok: false, refusals, ...(paths.length > 0 ? { change } : {}), reasons };
  }

  const [path] = [...appPaths] as [string];
  const app = appNameFromPath(path)!;
  const headEntry = headObjects.find((object) => object.path === path);
  const baseEntry = baseObjects.find((object) => object.path === path);
  if (headEntry === undefined || headEntry.manifest.kind !== 'Application') {
    refusals.push(refusal('invalid-manifest', `${path} does not load as an Application on the head commit; fix the problems reported for it`, path));
    return { ok: false, refusals, reasons };
  }
  const head = headEntry.manifest;
  const base = baseEntry?.manifest.kind === 'Application' ? baseEntry.manifest : undefined;
  const change = classifyApp(app, path, base, head, reasons, refusals);
  checkDeclared(app, path, change.kind, base, options.declared, refusals);
  return refusals.length === 0 ? { ok: true, change, reasons } : { ok: false, refusals, change, reasons };
}

function classifyApp(
  app: string,
  path: string,
  base: Application | undefined,
  head: Application,
  reasons: string[],
  refusals: Refusal[],
): ChangeClass & { kind: RequestKind } {
  if (base === undefined) {
    reasons.push(`${path} is not on the base branch: a new application`);
    if (head.spec.state === 'inactive') {
      refusals.push(refusal('created-inactive', `${path} creates ${app} in state inactive; an application is created active`, path));
    }
    return { kind: 'create', app, path, base, head };
  }
  if (head.metadata.name !== base.metadata.name) {
    refusals.push(refusal('name-changed', `metadata.name changes from ${base.metadata.name} to ${head.metadata.name}; names are immutable`, path));
  }
  if (head.spec.clientId !== base.spec.clientId) {
    refusals.push(refusal('client-id-changed', `spec.clientId changes from ${base.spec.clientId} to ${head.spec.clientId}; client ids are immutable`, path));
  }
  const from = base.spec.state;
  const to = head.spec.state;
  if (from === to) {
    reasons.push(`${path} changes while staying ${to}: an edit`);
    return { kind: 'edit', app, path, base, head };
  }
  const kind: RequestKind = to === 'inactive' ? 'deactivate' : 'reactivate';
  reasons.push(`spec.state changes from ${from} to ${to}: a ${kind === 'deactivate' ? 'deactivation' : 'reactivation'}`);
  const { state: _baseState, ...baseRest } = base.spec;
  const { state: _headState, ...headRest } = head.spec;
  if (!sameValue(baseRest, headRest) || !sameValue(base.metadata, head.metadata)) {
    refusals.push(
      refusal('mixed-state-change', `a ${kind === 'deactivate' ? 'deactivation' : 'reactivation'} changes spec.state only; make other edits in their own request`, path),
    );
  }
  return { kind, app, path, base, head };
}

function checkDeclared(
  app: string,
  path: string,
  actual: RequestKind,
  base: Application | undefined,
  declared: RequestKind | undefined,
  refusals: Refusal[],
): void {
  if (declared === undefined || !isRequestKind(declared)) return;
  if (declared !== 'create' && base === undefined) {
    refusals.push(refusal('app-not-on-main', `a ${declared} request for ${app}, which is not on the base branch; create it first`, path));
    return;
  }
  if (declared === 'create' && base !== undefined) {
    refusals.push(refusal('app-exists', `a create request for ${app}, which is already on the base branch; use an edit request`, path));
    return;
  }
  if (declared === 'deactivate' && base?.spec.state === 'inactive') {
    refusals.push(refusal('already-inactive', `a deactivation of ${app}, which is already inactive`, path));
    return;
  }
  if (declared === 'reactivate' && base?.spec.state === 'active') {
    refusals.push(refusal('already-active', `a reactivation of ${app}, which is already active`, path));
    return;
  }
  if (declared !== actual) {
    refusals.push(refusal('kind-mismatch', `labelled as a ${declared} request but the change is a ${actual}`, path));
  }
}

/** Structural equality of manifest values, ignoring key order. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, i) => sameValue(item, b[i]));
  }
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const aKeys = Object.keys(a).filter((key) => (a as Record<string, unknown>)[key] !== undefined);
  const bKeys = Object.keys(b).filter((key) => (b as Record<string, unknown>)[key] !== undefined);
  return aKeys.length === bKeys.length && aKeys.every((key) => sameValue((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]));
}
