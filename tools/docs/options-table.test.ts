import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { readmeFile, replaceBlock } from './readme.ts';
import { configurationTable } from '../../controller/config/defaults.ts';

describe("README's configuration table", () => {
  it('is the defaults module\'s (run `npm run docs` after changing an option)', async () => {
    const readme = await readFile(readmeFile, 'utf8');
    expect(readme).toBe(replaceBlock(readme, 'configuration', configurationTable()));
  });
});
