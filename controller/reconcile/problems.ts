// Problems the reconciler adds to the manifests module's own: what git refuses before parsing,
// sealed values this controller cannot open, and conflicts with what the store already holds.
// The codes are declared with what the store keeps (store/sync-records.ts ReconcileProblemCode);
// this table documents each one, and the compiler holds it to exactly that list (and to every code
// git's reader gives). Clients `switch` on them.
import type { SourceProblemCode } from '../git/source.ts';
import type { ReconcileProblemCode } from '../store/sync-records.ts';

export const RECONCILE_PROBLEM_CODES = {
  'file.symlink': 'The manifest path is a symbolic link in the commit; symlinks are not followed.',
  'file.not-regular': 'The manifest path is a submodule in the commit; submodules are not followed.',
  'file.too-large': 'The file is over the manifest size cap; it is refused before it is read.',
  'sealed.unopenable': 'A sealed value this controller cannot open: sealed to another key, tampered with, or bound to another object.',
  'store.client-id-changed': "The application's clientId differs from the one it was created with; client ids are immutable.",
  'store.client-id-taken': 'The clientId belongs to another application in the store (possibly a removed one); client ids are never reused.',
  'store.settings-removed': 'mergekey.yaml was removed; the last applied settings stay in force.',
} as const satisfies Record<ReconcileProblemCode, string> & Record<SourceProblemCode, string>;

