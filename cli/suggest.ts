// "Did you mean": the closest of the words the CLI knows to one it does not (a command, a
// subcommand, a scope), within a small edit distance, as git and cargo suggest.
import { usageError } from './errors.ts';

/** The candidate within edit distance 2 of `word` (the nearest; the first of equals), if any. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of candidates) {
    const distance = editDistance(word, name);
    if (distance <= 2 && (best === undefined || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

/** Levenshtein distance: insertions, deletions and substitutions. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * Refuses the first of `scopes` that is not `known` (the scopes the manifests define: built-in
 * ones and those Apis publish) before anything is asked of anyone, with the closest known one.
 */
export function requireKnownScopes(option: string, scopes: readonly string[], known: readonly string[]): void {
  const unknown = scopes.find((scope) => !known.includes(scope));
  if (unknown === undefined) return;
  const suggestion = closest(unknown, known);
  throw usageError(
    `option '--${option}': unknown scope '${unknown}'`,
    `${suggestion === undefined ? '' : `Did you mean '${suggestion}'? `}Known scopes: ${known.join(', ')}.`,
  );
}
