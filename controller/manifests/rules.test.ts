import { beforeAll, describe, expect, it } from 'vitest';
import { runCase } from '../../test/support/manifests/cases.ts';
import { FILE_RULE_CASES, REPOSITORY_RULE_CASES } from '../../test/support/manifests/rule-cases.ts';
import { billingYaml, makeSealingKey, toFiles, validRepo, type SealingKey } from '../../test/support/manifests/repo.ts';
import { loadManifest } from './load.ts';
import type { ManifestObject } from './model.ts';
import { checkRules } from './rules.ts';

let key: SealingKey;
beforeAll(async () => {
  key = await makeSealingKey();
});

describe('per-file rules refuse', () => {
  it.each(FILE_RULE_CASES.map((testCase) => [testCase.title, testCase] as const))('%s', async (_title, testCase) => {
    const { actual, expected } = await runCase(testCase, key);
    expect(actual).toEqual(expected);
  });
});

describe('repository rules report', () => {
  it.each(REPOSITORY_RULE_CASES.map((testCase) => [testCase.title, testCase] as const))('%s', async (_title, testCase) => {
    const { actual, expected } = await runCase(testCase, key);
    expect(actual).toEqual(expected);
  });
});

describe('checkRules', () => {
  const load = (texts: Record<string, string | Uint8Array>): ManifestObject[] =>
    toFiles(texts).flatMap((file) => loadManifest(file).object ?? []);

  it('finds nothing wrong in the valid repository', async () => {
    const objects = load(await validRepo(key));
    expect(objects).toHaveLength(8);
    expect(checkRules(objects)).toEqual([]);
  });

  it('holds back references to objects that exist but did not load, when told which', async () => {
    const { 'users/alice.yaml': _alice, ...rest } = await validRepo(key);
    const objects = load(rest);
    expect(checkRules(objects).map((problem) => problem.message)).toEqual(['spec.owners[0]: "alice" is not a User: add users/alice.yaml or fix the name']);
    expect(checkRules(objects, { unloaded: ['users/alice.yaml'] })).toEqual([]);
  });

  it('puts each problem on the object to hold back, so the others can still apply', async () => {
    const repo = await validRepo(key);
    const objects = load({ ...repo, 'apps/billing.yaml': (await billingYaml(key)).replace('plan: gold', 'plan: platinum') });
    const held = new Set(checkRules(objects).map((problem) => problem.path));
    expect([...held]).toEqual(['apps/billing.yaml']);
    expect(objects.filter((object) => !held.has(object.path))).toHaveLength(7);
  });
});
