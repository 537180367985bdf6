// Table-driven cases: each changes the valid repository a little and lists exactly the problems
// validateRepository must report, message, line and column included. codes.test.ts checks that
// the tables together produce every problem code.
import type { Problem } from '../../../controller/manifests/model.ts';
import { validateRepository } from '../../../controller/manifests/validate.ts';
import { toFiles, validRepo, type RepoTexts, type SealingKey } from './repo.ts';

export interface Case {
  title: string;
  /** Files to write over the valid repository's (null deletes one). */
  change: (key: SealingKey, repo: RepoTexts) => Promise<Record<string, string | Uint8Array | null>> | Record<string, string | Uint8Array | null>;
  /** For what no repository can hold: the problems, found some other way. */
  run?: (key: SealingKey, repo: RepoTexts) => Problem[];
  expected: Problem[] | ((key: SealingKey) => Problem[] | Promise<Problem[]>);
}

export async function runCase(testCase: Case, key: SealingKey): Promise<{ actual: Problem[]; expected: Problem[] }> {
  const repo = await validRepo(key);
  const expected = typeof testCase.expected === 'function' ? await testCase.expected(key) : testCase.expected;
  if (testCase.run !== undefined) return { actual: testCase.run(key, repo), expected };
  const changed: RepoTexts = { ...repo };
  for (const [path, content] of Object.entries(await testCase.change(key, repo))) {
    if (content === null) delete changed[path];
    else changed[path] = content;
  }
  const { problems } = validateRepository(toFiles(changed));
  return { actual: problems, expected };
}

/** Replaces `from` in `text`, which must hold it: a fixture that stops matching fails loudly. */
export function edit(text: string | Uint8Array | undefined, from: string, to: string): string {
  if (typeof text !== 'string' || !text.includes(from)) throw new Error(`fixture does not contain ${JSON.stringify(from)}`);
  return text.replace(from, to);
}

export function bytes(...parts: (string | number[])[]): Uint8Array {
  const chunks = parts.map((part) => (typeof part === 'string' ? new TextEncoder().encode(part) : Uint8Array.from(part)));
  const out = new Uint8Array(chunks.reduce((n, chunk) => n + chunk.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
