// The README's configuration table, generated from the defaults module (`configurationTable()`).
// `npm run docs` rewrites the block; readme-table.test.ts fails when the README has drifted.
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { readmeFile, replaceBlock } from '../../cli/reference.ts';
import { configurationTable } from './defaults.ts';

export const CONFIGURATION_BLOCK = 'configuration';

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await writeFile(readmeFile, replaceBlock(await readFile(readmeFile, 'utf8'), CONFIGURATION_BLOCK, configurationTable()));
  console.log(`updated the configuration table in ${readmeFile}`);
}
