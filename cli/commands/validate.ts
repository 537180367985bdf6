// `mergekey validate [DIR]`: checks every manifest of a repository on disk, as the controller
// would check a commit, and reports each problem at its file, line and column.
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { validateRepository, type Kind, type Problem } from '../../controller/manifests/index.ts';
import { defineCommand } from '../command.ts';
import { EXIT_CODES, failure, usageError } from '../errors.ts';
import { readRepositoryFiles, type ReadProblem } from '../read-repository.ts';

/** Kinds in the order a reader meets them: settings, what publishers own, then applications. */
export const KIND_ORDER: readonly Kind[] = ['Settings', 'Api', 'Plan', 'User', 'Application'];

export interface ValidateOptions {
  /** The repository's root directory. */
  dir: string;
}

export interface ValidateResult {
  valid: boolean;
  /** How many valid objects of each kind were read (every kind present, zeros included). */
  objects: Record<Kind, number>;
  /** Sorted by path, line, column; paths are relative to the repository's root. */
  problems: RepositoryProblem[];
}

/** A problem the loader found in a manifest, or one found reading the files from disk. */
export type RepositoryProblem = Problem | ReadProblem;

export async function validate(options: ValidateOptions): Promise<ValidateResult> {
  const root = resolve(options.dir);
  await requireDirectory(root, options.dir);
  const read = readRepositoryFiles(root);
  const { objects, problems } = validateRepository(read.files);

  const counts = Object.fromEntries(KIND_ORDER.map((kind) => [kind, 0])) as Record<Kind, number>;
  for (const object of objects) counts[object.kind] += 1;
  const all = [...read.problems, ...problems].sort(compareProblems);
  return { valid: all.length === 0, objects: counts, problems: all };
}

async function requireDirectory(root: string, given: string): Promise<void> {
  let info;
  try {
    info = await stat(root);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw usageError(`directory '${given}' does not exist`);
    throw failure(`cannot read '${given}': ${code ?? (error as Error).message}`, { cause: error });
  }
  if (!info.isDirectory()) throw usageError(`'${given}' is not a directory`);
}

function compareProblems(a: RepositoryProblem, b: RepositoryProblem): number {
  if (a.path !== b.path) return a.path < b.path ? -1 : 1;
  return a.line - b.line || a.column - b.column || (a.message < b.message ? -1 : a.message > b.message ? 1 : 0);
}

export function formatText(result: ValidateResult, dir: string): string {
  const lines = result.problems.map((p) => `${p.path}:${p.line}:${p.column}: ${p.message}`);
  const total = KIND_ORDER.reduce((sum, kind) => sum + result.objects[kind], 0);
  if (result.valid) {
    const breakdown = KIND_ORDER.filter((kind) => result.objects[kind] > 0).map((kind) => `${result.objects[kind]} ${kind}`);
    lines.push(`${dir}: valid, ${plural(total, 'object')}${breakdown.length > 0 ? ` (${breakdown.join(', ')})` : ''}`);
  } else {
    const files = new Set(result.problems.map((p) => p.path)).size;
    lines.push(`${dir}: invalid, ${plural(result.problems.length, 'problem')} in ${plural(files, 'file')}`);
  }
  return lines.join('\n') + '\n';
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

export const command = defineCommand({
  summary: 'Check every manifest in a manifests repository.',
  description:
    'Check every manifest in a manifests repository: YAML safety, the schema of each kind, and the ' +
    'rules across objects (names, unique client ids, scopes, plans and owners that exist). Prints ' +
    'each problem as path:line:column: message, then a summary. Symbolic links are reported, not ' +
    'followed. Exits 0 when the repository is valid and 1 when it is not.',
  arguments: [{ name: 'DIR', description: 'The repository to check.', default: '.' }],
  options: {
    format: {
      type: 'string',
      valueName: 'FORMAT',
      description: 'text prints one line per problem; json prints { valid, objects, problems }.',
      choices: ['text', 'json'],
      default: 'text',
    },
  },
  examples: ['mergekey validate examples/manifests', 'mergekey validate --format json > report.json'],
  run: (input) => validate({ dir: input.dir }),
  render: (result, input) =>
    input.format === 'json' ? JSON.stringify(result, null, 2) + '\n' : formatText(result, input.dir),
  exitCode: (result) => (result.valid ? EXIT_CODES.ok : EXIT_CODES.failure),
});
