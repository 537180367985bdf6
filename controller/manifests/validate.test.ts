import { beforeAll, describe, expect, it } from 'vitest';
import { makeSealingKey, toFiles, validRepo, type SealingKey } from '../../test/support/manifests/repo.ts';
import { isManifestPath, validateRepository } from './index.ts';

let key: SealingKey;
beforeAll(async () => {
  key = await makeSealingKey();
});

describe('validateRepository', () => {
  it('accepts a well-formed repository, and skips files that are not manifests', async () => {
    const { objects, problems } = validateRepository(toFiles(await validRepo(key)));
    expect(problems).toEqual([]);
    expect(objects.map((object) => `${object.kind} ${object.name} ${object.path}`)).toEqual([
      'Api invoices apis/invoices.yaml',
      'Application billing apps/billing.yaml',
      'Application reports apps/reports.yaml',
      'Settings mergekey mergekey.yaml',
      'Plan gold plans/gold.yaml',
      'Plan standard plans/standard.yaml',
      'User alice users/alice.yaml',
      'User bob users/bob.yaml',
    ]);
  });

  it('locates nodes, and the nearest written ancestor of a default', async () => {
    const { objects } = validateRepository(toFiles(await validRepo(key)));
    const billing = objects.find((object) => object.path === 'apps/billing.yaml')!;
    const { locate } = billing; // usable on its own
    expect(locate(['spec', 'clientId'])).toEqual({ line: 9, column: 13 });
    expect(locate(['spec', 'scopes', 1])).toEqual({ line: 10, column: 27 });
    expect(locate(['spec', 'credentials'])).toEqual({ line: 13, column: 3 });
    expect(locate(['spec', 'credentials', 'secrets', 0])).toEqual({ line: 15, column: 9 });
    expect(locate(['spec', 'credentials', 'secrets', 0, 'sealed'])).toEqual({ line: 15, column: 17 });
    expect(billing.manifest.spec).toHaveProperty('state', 'active');
    expect(locate(['spec', 'state'])).toEqual({ line: 5, column: 1 });
    expect(locate([])).toEqual({ line: 1, column: 1 });
  });

  it('sorts problems by path, line and column', async () => {
    const repo = await validRepo(key);
    const { objects, problems } = validateRepository(
      toFiles({
        ...repo,
        'users/bob.yaml': 'kind: User\nspec: {}\n',
        'apis/invoices.yaml': '[',
        'apps/reports.yaml': String(repo['apps/reports.yaml']).replace('owners: [bob]', 'owners: [nobody]').replace('description: Nightly reports.', 'description: 7'),
      }),
    );
    expect(problems.map((problem) => `${problem.path}:${problem.line}:${problem.column} ${problem.code}`)).toEqual([
      'apis/invoices.yaml:1:2 yaml.syntax',
      'apps/reports.yaml:6:16 schema.type',
      'users/bob.yaml:1:1 schema.required',
      'users/bob.yaml:1:1 schema.required',
    ]);
    expect(objects.map((object) => object.path)).not.toContain('apps/reports.yaml');
  });
});

describe('isManifestPath', () => {
  it.each([
    ['mergekey.yaml', true],
    ['apps/billing.yaml', true],
    ['apis/invoices.yaml', true],
    ['plans/gold.yaml', true],
    ['users/alice.yaml', true],
    // Misplaced YAML is judged too, so it is reported rather than ignored.
    ['apps/billing.yml', true],
    ['mergekey.yml', true],
    ['apps/team/billing.yaml', true],
    ['README.md', false],
    ['apps/.gitkeep', false],
    ['apps/README.md', false],
    ['.github/workflows/check.yaml', false],
    ['examples/apps/billing.yaml', false],
    ['other.yaml', false],
    ['Apps/billing.yaml', false],
  ])('%s → %s', (path, expected) => {
    expect(isManifestPath(path)).toBe(expected);
  });
});
