import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { readmeFile, replaceBlock } from '../../cli/reference.ts';
import { configurationTable } from './defaults.ts';
import { CONFIGURATION_BLOCK } from './readme-table.ts';

describe("README's configuration table", () => {
  it('is the defaults module\'s (run `npm run docs` after changing an option)', async () => {
    const readme = await readFile(readmeFile, 'utf8');
    expect(readme).toBe(replaceBlock(readme, CONFIGURATION_BLOCK, configurationTable()));
  });
});
