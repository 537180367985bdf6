import { readdirSync, readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCase } from '../../test/support/manifests/cases.ts';
import { makeSealingKey, toFiles, validRepo, type SealingKey } from '../../test/support/manifests/repo.ts';
import { SCHEMA_CASES } from '../../test/support/manifests/schema-cases.ts';
import type { Api, Application, Plan, User } from './types.generated.ts';
import { PATTERN_WORDS, schemaProblems } from './schema-messages.ts';
import type { Locator } from './source.ts';
import { validateRepository } from './validate.ts';

let key: SealingKey;
beforeAll(async () => {
  key = await makeSealingKey();
});

describe('the schemas refuse', () => {
  it.each(SCHEMA_CASES.map((testCase) => [testCase.title, testCase] as const))('%s', async (_title, testCase) => {
    const { actual, expected } = await runCase(testCase, key);
    expect(actual).toEqual(expected);
  });
});

describe('the schemas', () => {
  it('fill in their defaults', async () => {
    const { objects, problems } = validateRepository(toFiles(await validRepo(key)));
    expect(problems).toEqual([]);
    const manifest = <T,>(path: string): T => objects.find((object) => object.path === path)!.manifest as T;

    const billing = manifest<Application>('apps/billing.yaml').spec;
    expect(billing.state).toBe('active');
    expect(billing.tokenEndpointAuthMethod).toBe('client_secret_basic');
    const reports = manifest<Application>('apps/reports.yaml').spec;
    expect(reports.scopes).toEqual(['open']);
    expect(reports.grantTypes).toEqual(['client_credentials']);
    expect(reports.plan).toBeUndefined(); // the default plan is the repository's, not the schema's
    expect(manifest<User>('users/alice.yaml').spec.roles).toEqual(['developer']);
    expect(manifest<Plan>('plans/gold.yaml').spec).toEqual({
      description: 'The gold plan.',
      accessTokenTtl: '15m',
      refreshTokenTtl: '30d',
      tokenRequestsPerMinute: 600,
    });
    expect(manifest<Api>('apis/invoices.yaml').spec.scopes.map((scope) => scope.name)).toEqual(['invoices:read', 'invoices:write']);
  });

  it('have every string pattern explained in words', () => {
    const patterns = new Set<string>();
    const collect = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(collect);
      else if (node !== null && typeof node === 'object') {
        for (const [name, value] of Object.entries(node)) {
          if (name === 'pattern' && typeof value === 'string') patterns.add(value);
          else collect(value);
        }
      }
    };
    const dir = new URL('../../schemas/', import.meta.url);
    for (const file of readdirSync(dir).filter((name) => name.endsWith('.schema.json'))) {
      collect(JSON.parse(readFileSync(new URL(file, dir), 'utf8')));
    }
    expect(patterns.size).toBeGreaterThan(5);
    expect([...patterns].filter((pattern) => PATTERN_WORDS[pattern] === undefined)).toEqual([]);
  });
});

describe('schema messages', () => {
  // No Mergekey field is a boolean today; when one is, a YAML 1.1 `yes` must be explained.
  it('explain that a YAML 1.1 boolean is not a boolean', () => {
    const validate = new Ajv2020({ allErrors: true, verbose: true }).compile({
      type: 'object',
      properties: { enabled: { type: 'boolean' } },
    });
    const value = { enabled: 'yes' };
    expect(validate(value)).toBe(false);
    const source: Locator = {
      locate: () => ({ line: 3, column: 12 }),
      locateKey: () => ({ line: 3, column: 3 }),
      sourceText: () => 'yes',
    };
    expect(schemaProblems(validate.errors ?? [], value, source)).toEqual([
      { line: 3, column: 12, code: 'schema.type', message: 'enabled: must be true or false: yes is a YAML 1.1 boolean, which YAML 1.2 reads as the string "yes"' },
    ]);
  });
});
