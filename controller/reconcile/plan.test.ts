import { describe, expect, it } from 'vitest';
import type { Kind, ManifestObject } from '../manifests/index.ts';
import type { ActualEntry, ObjectKey, ReconcileProblem as Problem } from '../store/sync-records.ts';
import { identityOf, objectKey, plan, type DesiredEntry } from './plan.ts';

const OLD = 'a'.repeat(40);

function app(name: string, options: { state?: 'active' | 'inactive'; clientId?: string; fp?: string; problems?: Problem[] } = {}): DesiredEntry {
  const path = `apps/${name}.yaml`;
  const object: ManifestObject = {
    path,
    kind: 'Application',
    name,
    manifest: {
      apiVersion: 'mergekey/v1',
      kind: 'Application',
      metadata: { name },
      spec: {
        description: name,
        owners: ['alice'],
        clientId: options.clientId ?? `client-${name}`,
        state: options.state ?? 'active',
        scopes: ['open'],
        grantTypes: ['client_credentials'],
        tokenEndpointAuthMethod: 'client_secret_basic',
        credentials: { secrets: [{ sealed: 'x' }] },
      },
    },
    locate: (pointer) => ({ line: pointer.length + 1, column: 3 }),
  };
  return { path, kind: 'Application', name, object, fingerprint: options.fp ?? `fp-${name}`, problems: options.problems ?? [] };
}

function broken(path: string, message = 'bad'): DesiredEntry {
  const id = identityOf(path)!;
  return { path, ...id, problems: [{ path, line: 2, column: 5, message, code: 'schema.value' }] };
}

function stored(kind: Kind, name: string, extra: Partial<ActualEntry> = {}): [ObjectKey, ActualEntry] {
  const folder = { Application: 'apps', Api: 'apis', Plan: 'plans', User: 'users', Settings: '' }[kind];
  const entry: ActualEntry = {
    kind,
    name,
    path: kind === 'Settings' ? 'mergekey.yaml' : `${folder}/${name}.yaml`,
    fingerprint: `fp-${name}`,
    commit: OLD,
    ...(kind === 'Application' ? { state: 'active' as const, clientId: `client-${name}` } : {}),
    ...extra,
  };
  return [objectKey(kind, name), entry];
}

const options = { allowMassDeactivation: false };

describe('plan', () => {
  it('upserts new and changed objects and leaves unchanged ones alone', () => {
    const actual = new Map([stored('Application', 'same'), stored('Application', 'edited')]);
    const result = plan([app('same'), app('edited', { fp: 'fp-edited-2' }), app('fresh')], actual, options);
    expect(result.upserts.map((u) => u.key)).toEqual(['Application/edited', 'Application/fresh']);
    expect(result.deactivations).toEqual([]);
    expect(result.outcomes.map((o) => [o.path, o.outcome])).toEqual([
      ['apps/same.yaml', { kind: 'applied', changed: false }],
      ['apps/edited.yaml', { kind: 'applied', changed: true }],
      ['apps/fresh.yaml', { kind: 'applied', changed: true }],
    ]);
    expect(result.heldBack).toBeUndefined();
  });

  it('keeps the last good version of an invalid object and applies the rest', () => {
    const actual = new Map([stored('Application', 'a'), stored('Application', 'b')]);
    const result = plan([broken('apps/a.yaml'), app('b', { fp: 'fp-b-2' })], actual, options);
    expect(result.upserts.map((u) => u.key)).toEqual(['Application/b']);
    expect(result.outcomes[0]).toEqual({
      path: 'apps/a.yaml',
      key: 'Application/a',
      outcome: { kind: 'kept', commit: OLD, deactivated: false },
      problems: [{ path: 'apps/a.yaml', line: 2, column: 5, message: 'bad', code: 'schema.value' }],
    });
  });

  it('reports an invalid object that was never applied as absent', () => {
    const result = plan([broken('apps/new.yaml')], new Map(), options);
    expect(result.upserts).toEqual([]);
    expect(result.outcomes[0]!.outcome).toEqual({ kind: 'absent' });
  });

  it('deactivates an application whose manifest was removed, and deletes other removed kinds', () => {
    const actual = new Map([stored('Application', 'gone'), stored('Application', 'stays'), stored('User', 'bob'), stored('Plan', 'gold')]);
    const result = plan([app('stays')], actual, options);
    expect(result.deactivations).toEqual([{ key: 'Application/gone', path: 'apps/gone.yaml', reason: 'removed' }]);
    expect(result.deletions).toEqual([
      { key: 'Plan/gold', path: 'plans/gold.yaml' },
      { key: 'User/bob', path: 'users/bob.yaml' },
    ]);
    expect(result.outcomes.find((o) => o.path === 'apps/gone.yaml')!.outcome).toEqual({ kind: 'removed', deleted: false });
  });

  it('does not deactivate again an application that is already inactive and removed', () => {
    const actual = new Map([stored('Application', 'gone', { state: 'inactive' }), stored('Application', 'x')]);
    expect(plan([app('x')], actual, options).deactivations).toEqual([]);
  });

  it('keeps the settings when mergekey.yaml is removed, and says so', () => {
    const actual = new Map([stored('Settings', 'mergekey')]);
    const result = plan([], actual, options);
    expect(result.deletions).toEqual([]);
    expect(result.outcomes[0]!.problems[0]!.message).toBe(`mergekey.yaml was removed; the settings applied from commit ${OLD.slice(0, 12)} are kept`);
  });

  it('deactivates an application that asks for it even when another part of its manifest is invalid', () => {
    const problem: Problem = { path: 'apps/a.yaml', line: 9, column: 7, message: 'owner carol is not a User', code: 'rules.unknown-owner' };
    const actual = new Map([stored('Application', 'a'), stored('Application', 'b'), stored('Application', 'c')]);
    const result = plan([app('a', { state: 'inactive', problems: [problem], fp: 'fp-a-2' }), app('b'), app('c')], actual, options);
    expect(result.upserts).toEqual([]);
    expect(result.deactivations).toEqual([{ key: 'Application/a', path: 'apps/a.yaml', reason: 'requested' }]);
    expect(result.outcomes[0]!.outcome).toEqual({ kind: 'kept', commit: OLD, deactivated: true });
  });

  it('never lets a broken file block an unrelated deactivation', () => {
    const actual = new Map([stored('Application', 'a'), stored('Application', 'b'), stored('Application', 'c')]);
    const result = plan([broken('apps/a.yaml'), app('b', { state: 'inactive', fp: 'fp-b-2' }), app('c')], actual, options);
    expect(result.upserts.map((u) => u.key)).toEqual(['Application/b']);
    expect(result.heldBack).toBeUndefined();
  });

  it('refuses a changed client id and one already held by another application', () => {
    const actual = new Map([stored('Application', 'a'), stored('Application', 'b')]);
    const result = plan([app('a', { clientId: 'renamed-id', fp: 'x' }), app('b'), app('c', { clientId: 'CLIENT-b' })], actual, options);
    expect(result.upserts).toEqual([]);
    expect(result.outcomes.map((o) => o.problems.map((p) => `${p.path}:${p.line}:${p.column}: ${p.message}`))).toEqual([
      ['apps/a.yaml:3:3: spec.clientId is immutable: it was client-a'],
      [],
      ['apps/c.yaml:3:3: spec.clientId CLIENT-b already belongs to apps/b.yaml'],
    ]);
  });

  it.each([
    { active: 1, leaving: 1, held: false, why: 'a single deactivation is never held back' },
    { active: 4, leaving: 2, held: false, why: 'exactly half is not more than half' },
    { active: 5, leaving: 3, held: true, why: 'more than half' },
    { active: 10, leaving: 10, held: true, why: 'everything' },
  ])('mass deactivation: $leaving of $active → held $held ($why)', ({ active, leaving, held }) => {
    const names = Array.from({ length: active }, (_, i) => `app-${String(i).padStart(2, '0')}`);
    const actual = new Map(names.map((n) => stored('Application', n)));
    // Half the leavers are removed, half set `state: inactive`.
    const desired = names.flatMap((n, i) => (i >= leaving ? [app(n)] : i % 2 === 0 ? [] : [app(n, { state: 'inactive', fp: 'new' })]));
    const result = plan(desired, actual, options);
    expect(result.heldBack !== undefined).toBe(held);
    if (held) expect(result.heldBack!.message).toMatch(new RegExp(`^this commit would deactivate ${leaving} of ${active} active applications`));
    expect(plan(desired, actual, { allowMassDeactivation: true }).heldBack).toBeUndefined();
  });

  it('maps paths to the objects they define', () => {
    expect(identityOf('apps/billing.yaml')).toEqual({ kind: 'Application', name: 'billing' });
    expect(identityOf('users/alice.yaml')).toEqual({ kind: 'User', name: 'alice' });
    expect(identityOf('mergekey.yaml')).toEqual({ kind: 'Settings', name: 'mergekey' });
    expect(identityOf('apps/team/billing.yaml')).toEqual({ kind: 'Application', name: 'apps/team/billing.yaml' });
    expect(identityOf('docs/x.yaml')).toBeUndefined();
  });
});
