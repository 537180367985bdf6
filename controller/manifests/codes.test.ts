import { describe, expect, it } from 'vitest';
import { PROBLEM_CODES } from './codes.ts';
import { FILE_RULE_CASES, REPOSITORY_RULE_CASES } from '../../test/support/manifests/rule-cases.ts';
import { SCHEMA_CASES } from '../../test/support/manifests/schema-cases.ts';
import { YAML_CASES } from '../../test/support/manifests/yaml-cases.ts';
import { makeSealingKey } from '../../test/support/manifests/repo.ts';

describe('problem codes', () => {
  // The case tables are run, and their problems checked exactly, by parse, schema and rules
  // tests; here they only have to cover every code, so none is unreachable or undocumented.
  it('are each produced by some case', async () => {
    const key = await makeSealingKey();
    const produced = new Set<string>();
    for (const testCase of [...YAML_CASES, ...SCHEMA_CASES, ...FILE_RULE_CASES, ...REPOSITORY_RULE_CASES]) {
      const expected = typeof testCase.expected === 'function' ? await testCase.expected(key) : testCase.expected;
      for (const problem of expected) produced.add(problem.code);
    }
    expect(Object.keys(PROBLEM_CODES).filter((code) => !produced.has(code))).toEqual([]);
    expect([...produced].filter((code) => !(code in PROBLEM_CODES))).toEqual([]);
  });
});
