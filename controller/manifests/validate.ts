// A whole repository: every manifest file loaded on its own, then the rules across them.
import { loadManifest, sortProblems } from './load.ts';
import type { ManifestObject, Problem, RepoFile } from './model.ts';
import { isManifestPath } from './paths.ts';
import { checkRules } from './rules.ts';

export interface RepositoryResult {
  /** The objects that loaded without a problem, sorted by path. */
  objects: ManifestObject[];
  /** Every problem, sorted by path, line and column. */
  problems: Problem[];
}

/** Validates a repository's files; files that are not manifests (README.md, .github/) are skipped. */
export function validateRepository(files: readonly RepoFile[]): RepositoryResult {
  const objects: ManifestObject[] = [];
  const problems: Problem[] = [];
  const unloaded: string[] = [];
  for (const file of files) {
    if (!isManifestPath(file.path)) continue;
    const result = loadManifest(file);
    if (result.object !== undefined) objects.push(result.object);
    else unloaded.push(file.path);
    problems.push(...result.problems);
  }
  objects.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  problems.push(...checkRules(objects, { unloaded }));
  return { objects, problems: sortProblems(problems) };
}
