// Which repository paths are manifests, and what kind and name each path implies.
import type { Kind } from './model.ts';

export const SETTINGS_PATH = 'mergekey.yaml';
export const SETTINGS_NAME = 'mergekey';

/** The folder each kind lives in; Settings lives at the root as mergekey.yaml. */
export const KIND_FOLDERS: Readonly<Record<Exclude<Kind, 'Settings'>, string>> = {
  Application: 'apps',
  Api: 'apis',
  Plan: 'plans',
  User: 'users',
};

const FOLDER_KINDS = new Map<string, Kind>(
  Object.entries(KIND_FOLDERS).map(([kind, folder]) => [folder, kind as Kind]),
);

export interface ManifestPath {
  /** The kind the path's folder holds. */
  kind: Kind;
  /** The name the path implies: the file's base name without extension. */
  name: string;
  /** Why the path is not a valid manifest path, if it is not. */
  misplaced?: { code: 'file.extension' | 'file.location'; message: string };
}

/**
 * Classifies a repo-relative POSIX path. Returns undefined for files that are no concern of the
 * manifests (README.md, .github/, a .gitkeep in apps/). A YAML file in a manifest folder that
 * breaks the layout (`apps/x.yml`, `apps/team/x.yaml`) is still classified, with `misplaced`
 * set, so it is reported instead of silently ignored.
 */
export function classifyPath(path: string): ManifestPath | undefined {
  const segments = path.split('/');
  const file = segments[segments.length - 1] ?? '';
  const extension = /\.ya?ml$/i.exec(file)?.[0];
  if (extension === undefined) return undefined;
  const name = file.slice(0, -extension.length);
  const badExtension = extension !== '.yaml'
    ? { code: 'file.extension' as const, message: `manifests end in .yaml, not ${extension}: rename it to ${name}.yaml` }
    : undefined;

  if (segments.length === 1) {
    if (name !== SETTINGS_NAME) return undefined;
    return { kind: 'Settings', name, ...(badExtension && { misplaced: badExtension }) };
  }
  const kind = FOLDER_KINDS.get(segments[0] ?? '');
  if (kind === undefined) return undefined;
  if (segments.length > 2) {
    return {
      kind,
      name,
      misplaced: {
        code: 'file.location',
        message: `manifests sit directly in ${segments[0]}/, not in a subfolder: move it to ${segments[0]}/${name}.yaml`,
      },
    };
  }
  return { kind, name, ...(badExtension && { misplaced: badExtension }) };
}

/**
 * True for every path the manifests module judges: `mergekey.yaml` and `*.yaml` directly in
 * apps/, apis/, plans/ and users/, and also misplaced YAML there (`.yml`, nested folders), which
 * loadManifest reports as a problem rather than letting it pass unseen.
 */
export function isManifestPath(path: string): boolean {
  return classifyPath(path) !== undefined;
}

/** The path where an object of this kind and name belongs. */
export function manifestPath(kind: Kind, name: string): string {
  return kind === 'Settings' ? SETTINGS_PATH : `${KIND_FOLDERS[kind]}/${name}.yaml`;
}
