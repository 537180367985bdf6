import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { cliReference } from './cli-reference.ts';
import { readmeFile, replaceBlock } from './readme.ts';

describe("README's CLI reference", () => {
  it('matches the registry (run `npm run docs` after changing a command)', async () => {
    const readme = await readFile(readmeFile, 'utf8');
    expect(readme).toBe(replaceBlock(readme, 'cli-reference', await cliReference()));
  });
});
