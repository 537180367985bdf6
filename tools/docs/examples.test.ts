import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { readmeFile, replaceBlock } from './readme.ts';
import { manifestExamples } from './examples.ts';

describe("README's manifest examples", () => {
  it('are the files in examples/manifests (run `npm run docs` after changing them)', async () => {
    const readme = await readFile(readmeFile, 'utf8');
    expect(readme).toBe(replaceBlock(readme, 'manifest-examples', await manifestExamples()));
  });
});
