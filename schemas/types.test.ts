import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { generateTypes, typesFile } from './generate-types.ts';

describe('generated manifest types', () => {
  it('match the schemas (run `npm run gen:types` after changing a schema)', async () => {
    expect(await readFile(typesFile, 'utf8')).toBe(await generateTypes());
  });
});
