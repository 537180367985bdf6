// One file, start to finish: layout → bytes → YAML → schema → per-file rules → a ManifestObject.
import { fileRules } from './file-rules.ts';
import type { Manifest, ManifestObject, ManifestObjectOf, Pointer, Position, Problem, RepoFile } from './model.ts';
import { LazySource, parseManifestBytes, type LocatedProblem } from './parse.ts';
import { classifyPath } from './paths.ts';
import { validateShape } from './schema.ts';

export interface LoadResult {
  /** Present only when the file has no problem at all. */
  object?: ManifestObject;
  problems: Problem[];
}

/** Safe YAML parse + schema (defaults applied) + per-file rules, for one file. */
export function loadManifest(file: RepoFile): LoadResult {
  const { path } = file;
  const problems: Problem[] = [];

  const where = classifyPath(path);
  if (where === undefined) {
    problems.push({
      path,
      line: 1,
      column: 1,
      code: 'file.location',
      message: 'not a manifest path: manifests are mergekey.yaml and *.yaml files directly in apps/, apis/, plans/ and users/',
    });
  } else if (where.misplaced !== undefined) {
    problems.push({ path, line: 1, column: 1, ...where.misplaced });
  }

  const parsed = parseManifestBytes(file.content);
  if (!parsed.ok) return { problems: sortProblems(attach(path, parsed.problems, problems)) };

  const { value, source, text } = parsed;
  const shape = validateShape(value, source);
  attach(path, shape.problems, problems);
  if (shape.kind !== undefined && where !== undefined) attach(path, fileRules(where, shape.kind, value, source), problems);
  if (problems.length > 0 || shape.kind === undefined) return { problems: sortProblems(problems) };

  // The schema of the kind `value` names has accepted it, so it is that kind's manifest: the one
  // place the pairing of kind and manifest is asserted rather than checked by the compiler.
  return { object: new LoadedObject(path, value as Manifest, text) as ManifestObject, problems: [] };
}

class LoadedObject<M extends Manifest> implements ManifestObjectOf<M> {
  readonly kind: M['kind'];
  readonly name: string;
  // Positions are found by parsing the text again on first use: most objects are never asked
  // (only those a cross-object rule complains about), and keeping every file's YAML syntax tree
  // alive would cost far more memory than the text does.
  private readonly positions: LazySource;

  constructor(
    readonly path: string,
    readonly manifest: M,
    text: string,
  ) {
    this.kind = manifest.kind;
    this.name = manifest.metadata.name;
    this.positions = new LazySource(text);
    // Callers may pass `object.locate` around on its own.
    this.locate = this.locate.bind(this);
  }

  locate(pointer: Pointer): Position {
    return this.positions.locate(pointer);
  }
}

function attach(path: string, located: readonly LocatedProblem[], to: Problem[]): Problem[] {
  for (const problem of located) to.push({ path, ...problem });
  return to;
}

export function sortProblems(problems: Problem[]): Problem[] {
  return problems.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : a.line - b.line || a.column - b.column));
}
