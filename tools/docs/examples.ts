// The README's manifest examples, one per kind, copied from examples/manifests so the README shows
// files that really validate. `npm run docs` rewrites the block; examples.test.ts fails on
// drift (for instance after `generate-sealed.ts` reseals the examples).
import { readFile } from 'node:fs/promises';
import { fence } from './readme.ts';
import { examplesDir } from '../../examples/generate-sealed.ts';

/** The example shown for each kind, chosen to show the most fields. */
export const SHOWN = [
  { kind: 'Settings', path: 'mergekey.yaml' },
  { kind: 'Api', path: 'apis/orders.yaml' },
  { kind: 'Plan', path: 'plans/premium.yaml' },
  { kind: 'User', path: 'users/alice.yaml' },
  { kind: 'Application', path: 'apps/storefront.yaml' },
] as const;

export async function manifestExamples(): Promise<string> {
  const parts: string[] = [];
  for (const { kind, path } of SHOWN) {
    const text = await readFile(`${examplesDir}${path}`, 'utf8');
    // Show the schema path a repository made by `mergekey init` uses, not the one into schemas/.
    const schemas = `${path.includes('/') ? '../' : ''}.mergekey/schemas/`;
    const body = text.replace(/\$schema=(?:\.\.\/)+schemas\//, `$schema=${schemas}`);
    parts.push(`#### ${kind}: \`${path}\``, fence(body, 'yaml'));
  }
  return parts.join('\n\n');
}
