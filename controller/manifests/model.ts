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

export type Kind = 'Settings' | 'Application' | 'Api' | 'Plan' | 'User';

export const KINDS: readonly Kind[] = ['Settings', 'Application', 'Api', 'Plan', 'User'];

export type Manifest = Settings | Application | Api | Plan | User;

/** A JSON-pointer-like path into a manifest, e.g. `['spec', 'scopes', 1]`. */
export type Pointer = readonly (string | number)[];

export interface ManifestObject<M = Manifest> {
  /** Repo-relative POSIX path, e.g. `apps/billing.yaml`. */
  path: string;
  kind: Kind;
  name: string;
  /** Validated, with the schema's defaults applied. */
  manifest: M;
  /**
   * Position of the node at `pointer`. A pointer that does not exist in the file (a default the
   * schema filled in, say) resolves to its nearest ancestor that does.
   */
  locate(pointer: Pointer): Position;
}

export interface RepoFile {
  path: string;
  content: Uint8Array;
}
