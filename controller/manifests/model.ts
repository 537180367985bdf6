// The shapes every other module sees: a manifest object with its source positions, and a problem
// attached to one file and one place in it.
import type { ProblemCode } from './codes.ts';
import type { Api, Application, Plan, Settings, User } from './types.generated.ts';

/** 1-based line and column; the column counts UTF-16 code units, as editors (LSP) do. */
export interface Position {
  line: number;
  column: number;
}

export interface Problem {
  /** Repo-relative POSIX path of the file the problem belongs to: the object to hold back. */
  path: string;
  line: number;
  column: number;
  message: string;
  code: ProblemCode;
}

export type Manifest = Settings | Application | Api | Plan | User;

/** A manifest's kind, the discriminant of both `Manifest` and `ManifestObject`. */
export type Kind = Manifest['kind'];

/** The manifest type of one kind: `ManifestOf<'Api'>` is `Api`. */
export type ManifestOf<K extends Kind> = Extract<Manifest, { kind: K }>;

export const KINDS: readonly Kind[] = ['Settings', 'Application', 'Api', 'Plan', 'User'];

/** A JSON-pointer-like path into a manifest, e.g. `['spec', 'scopes', 1]`. */
export type Pointer = readonly (string | number)[];

/** One manifest of one kind, where it is and what it says: `kind` is always `manifest.kind`. */
export interface PlainManifestObjectOf<M extends Manifest> {
  /** Repo-relative POSIX path, e.g. `apps/billing.yaml`. */
  path: string;
  kind: M['kind'];
  name: string;
  /** Validated, with the schema's defaults applied. */
  manifest: M;
}

/**
 * A manifest object without source positions, discriminated by kind like `ManifestObject` (which
 * is one): what code that judges manifests, rather than pointing at their lines, takes, so its
 * callers can hand it a manifest they built in memory (the lifecycle's classify, a request's edit).
 */
export type PlainManifestObject<M extends Manifest = Manifest> = M extends Manifest ? PlainManifestObjectOf<M> : never;

/** One loaded manifest of one kind, with the positions of its nodes in its file. */
export interface ManifestObjectOf<M extends Manifest> extends PlainManifestObjectOf<M> {
  /**
   * Position of the node at `pointer`. A pointer that does not exist in the file (a default the
   * schema filled in, say) resolves to its nearest ancestor that does.
   */
  locate(pointer: Pointer): Position;
}

/**
 * A loaded manifest object, discriminated by kind: once `object.kind === 'Application'` is checked,
 * `object.manifest` is an `Application`, with no cast. `ManifestObject<Api>` names one kind's.
 */
export type ManifestObject<M extends Manifest = Manifest> = M extends Manifest ? ManifestObjectOf<M> : never;

export interface RepoFile {
  path: string;
  content: Uint8Array;
}
