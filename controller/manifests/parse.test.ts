import { beforeAll, describe, expect, it } from 'vitest';
import { runCase } from '../../test/support/manifests/cases.ts';
import { makeSealingKey, type SealingKey } from '../../test/support/manifests/repo.ts';
import { YAML_CASES } from '../../test/support/manifests/yaml-cases.ts';

let key: SealingKey;
beforeAll(async () => {
  key = await makeSealingKey();
});

describe('loading a manifest refuses', () => {
  it.each(YAML_CASES.map((testCase) => [testCase.title, testCase] as const))('%s', async (_title, testCase) => {
    const { actual, expected } = await runCase(testCase, key);
    expect(actual).toEqual(expected);
  });
});

describe('loading a manifest', () => {
  it('refuses a billion-laughs document at its anchors and aliases, expanding nothing', async () => {
    const { loadManifest } = await import('./load.ts');
    let text = 'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n';
    for (let level = 1; level < 10; level += 1) {
      const name = String.fromCharCode(97 + level);
      const previous = String.fromCharCode(96 + level);
      text += `${name}: &${name} [${Array(9).fill(`*${previous}`).join(', ')}]\n`;
    }
    const { object, problems } = loadManifest({ path: 'apps/lol.yaml', content: new TextEncoder().encode(text) });
    expect(object).toBeUndefined();
    expect(problems).toHaveLength(10 + 9 * 9);
    expect(problems[0]).toEqual({ path: 'apps/lol.yaml', line: 1, column: 4, code: 'yaml.anchor', message: 'anchors are not allowed (found &a): write each value out in full' });
    expect(problems[1]).toEqual({ path: 'apps/lol.yaml', line: 2, column: 4, code: 'yaml.anchor', message: 'anchors are not allowed (found &b): write each value out in full' });
    expect(problems[2]).toEqual({ path: 'apps/lol.yaml', line: 2, column: 8, code: 'yaml.alias', message: 'aliases are not allowed (found *a): write each value out in full' });
    expect(new Set(problems.map((problem) => problem.code))).toEqual(new Set(['yaml.anchor', 'yaml.alias']));
  });

  it('accepts a byte-order mark, and counts columns after it', async () => {
    const { loadManifest } = await import('./load.ts');
    const { billingYaml } = await import('../../test/support/manifests/repo.ts');
    const content = new TextEncoder().encode(`\uFEFF${await billingYaml(key)}`);
    expect(content[0]).toBe(0xef);
    const { object, problems } = loadManifest({ path: 'apps/billing.yaml', content });
    expect(problems).toEqual([]);
    expect(object?.locate(['apiVersion'])).toEqual({ line: 1, column: 13 });
    expect(object?.locate(['spec', 'clientId'])).toEqual({ line: 9, column: 13 });
  });
});
