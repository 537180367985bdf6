import { describe, expect, it } from 'vitest';
import type { ChangedPath } from '../git/changes.ts';
import type { PlainManifestObject } from '../manifests/model.ts';
import { classifyChange, type ClassifyOptions } from './classify.ts';
import type { RefusalCode } from './refusals.ts';
import { api, app, entry } from '../../test/support/request-fixtures.ts';

const billing = app('billing');
const inactiveBilling = app('billing', { state: 'inactive' });
const payments = api('payments', ['payments:read']);
const base: PlainManifestObject[] = [entry(billing), entry(app('ledger', { state: 'inactive' })), entry(payments)];

const modified = (path: string): ChangedPath => ({ status: 'modified', path });
const added = (path: string): ChangedPath => ({ status: 'added', path });

/** The base objects with `replacements` swapped in (by path) or added. */
function headWith(...replacements: PlainManifestObject[]): PlainManifestObject[] {
  const byPath = new Map(base.map((object) => [object.path, object]));
  for (const object of replacements) byPath.set(object.path, object);
  return [...byPath.values()];
}

interface Case {
  name: string;
  head: PlainManifestObject[];
  changed: ChangedPath[];
  options?: ClassifyOptions;
  kind?: string;
  refusals?: RefusalCode[];
}

const cases: Case[] = [
  { name: 'a new app file → create', head: headWith(entry(app('crm'))), changed: [added('apps/crm.yaml')], kind: 'create' },
  {
    name: 'a field change that keeps the state → edit',
    head: headWith(entry(app('billing', { scopes: ['open', 'payments:read'] }))),
    changed: [modified('apps/billing.yaml')],
    kind: 'edit',
  },
  { name: 'active → inactive → deactivate', head: headWith(entry(inactiveBilling)), changed: [modified('apps/billing.yaml')], kind: 'deactivate' },
  {
    name: 'inactive → active → reactivate',
    head: headWith(entry(app('ledger', { state: 'active' }))),
    changed: [modified('apps/ledger.yaml')],
    kind: 'reactivate',
  },
  {
    name: 'an edit of an inactive app is allowed (the brief forbids edits only while awaiting approval or rejected)',
    head: headWith(entry(app('ledger', { state: 'inactive', description: 'Ledger v2' }))),
    changed: [modified('apps/ledger.yaml')],
    kind: 'edit',
  },
  {
    name: 'an API change → publisher',
    head: headWith(entry(api('payments', ['payments:read', 'payments:write']))),
    changed: [modified('apis/payments.yaml')],
    kind: 'publisher',
  },
  {
    name: 'settings, a plan and repository files together → publisher',
    head: base,
    changed: [modified('mergekey.yaml'), added('plans/gold.yaml'), modified('.github/CODEOWNERS')],
    kind: 'publisher',
  },
  // Refusals.
  { name: 'deleting an app manifest', head: base.slice(1), changed: [{ status: 'deleted', path: 'apps/billing.yaml' }], refusals: ['manifest-deleted'] },
  { name: 'deleting an API manifest', head: base.slice(0, 2), changed: [{ status: 'deleted', path: 'apis/payments.yaml' }], refusals: ['manifest-deleted'] },
  {
    name: 'renaming an app manifest',
    head: [entry(app('billing2')), ...base.slice(1)],
    changed: [{ status: 'renamed', path: 'apps/billing2.yaml', previousPath: 'apps/billing.yaml' }],
    refusals: ['manifest-renamed'],
  },
  {
    name: 'changing clientId',
    head: headWith(entry(app('billing', { clientId: 'billing-9999999999' }))),
    changed: [modified('apps/billing.yaml')],
    refusals: ['client-id-changed'],
  },
  {
    name: 'changing metadata.name inside the file',
    head: headWith({ ...entry(app('billing2')), path: 'apps/billing.yaml' }),
    changed: [modified('apps/billing.yaml')],
    refusals: ['name-changed', 'client-id-changed'],
  },
  {
    name: 'two apps in one request',
    head: headWith(entry(app('crm')), entry(app('billing', { description: 'x' }))),
    changed: [added('apps/crm.yaml'), modified('apps/billing.yaml')],
    refusals: ['multiple-apps'],
  },
  {
    name: 'an app change mixed with a publisher change',
    head: headWith(entry(app('crm')), entry(api('payments', ['payments:read', 'crm:read']))),
    changed: [added('apps/crm.yaml'), modified('apis/payments.yaml')],
    refusals: ['mixed-change'],
  },
  {
    name: 'a deactivation that also edits',
    head: headWith(entry(app('billing', { state: 'inactive', scopes: ['open', 'payments:read'] }))),
    changed: [modified('apps/billing.yaml')],
    refusals: ['mixed-state-change'],
  },
  {
    name: 'a deactivation of an app already inactive (declared by its label; the diff alone shows an edit)',
    head: headWith(entry(app('ledger', { state: 'inactive', description: 'off' }))),
    changed: [modified('apps/ledger.yaml')],
    options: { declared: 'deactivate' },
    refusals: ['already-inactive'],
  },
  {
    name: 'a reactivation of an app already active',
    head: headWith(entry(app('billing', { description: 'on' }))),
    changed: [modified('apps/billing.yaml')],
    options: { declared: 'reactivate' },
    refusals: ['already-active'],
  },
  { name: 'an edit of an app not on the base branch', head: headWith(entry(app('crm'))), changed: [added('apps/crm.yaml')], options: { declared: 'edit' }, refusals: ['app-not-on-main'] },
  {
    name: 'a deactivation of an app not on the base branch',
    head: headWith(entry(app('crm', { state: 'inactive' }))),
    changed: [added('apps/crm.yaml')],
    options: { declared: 'deactivate' },
    refusals: ['created-inactive', 'app-not-on-main'],
  },
  { name: 'a create of an app already on main', head: headWith(entry(app('billing', { description: 'again' }))), changed: [modified('apps/billing.yaml')], options: { declared: 'create' }, refusals: ['app-exists'] },
  { name: 'labelled edit but changes the state', head: headWith(entry(inactiveBilling)), changed: [modified('apps/billing.yaml')], options: { declared: 'edit' }, refusals: ['kind-mismatch'] },
  { name: 'labelled as an app request but changes no app', head: base, changed: [modified('apis/payments.yaml')], options: { declared: 'edit' }, refusals: ['kind-mismatch'] },
  { name: 'an app file that does not load on head', head: base, changed: [added('apps/broken.yaml')], refusals: ['invalid-manifest'] },
  { name: 'an app file outside apps/<name>.yaml', head: base, changed: [added('apps/nested/x.yaml')], refusals: ['invalid-manifest'] },
  { name: 'nothing changed', head: base, changed: [], refusals: ['no-change'] },
];

describe('classifyChange (the repo check’s rules)', () => {
  it.each(cases)('$name', ({ head, changed, options, kind, refusals }) => {
    const result = classifyChange(base, head, changed, options);
    if (refusals === undefined) {
      expect(result.ok, JSON.stringify(result)).toBe(true);
      expect(result.ok && result.change.kind).toBe(kind);
      expect(result.reasons.length).toBeGreaterThan(0);
    } else {
      expect(result.ok).toBe(false);
      expect(result.ok === false && result.refusals.map((r) => r.code)).toEqual(refusals);
      for (const r of result.ok === false ? result.refusals : []) expect(r.message.length).toBeGreaterThan(20);
    }
  });

  it('keeps the recognised change beside the refusal, so the plan can still be written', () => {
    const result = classifyChange(base, headWith(entry(app('billing', { state: 'inactive', description: 'bye' }))), [modified('apps/billing.yaml')]);
    expect(result).toMatchObject({ ok: false, change: { kind: 'deactivate', app: 'billing', base: billing } });
  });

  it('reports every refusal at once', () => {
    const result = classifyChange(base, headWith(entry(app('crm'))), [
      { status: 'deleted', path: 'apps/billing.yaml' },
      { status: 'deleted', path: 'mergekey.yaml' },
      added('apps/crm.yaml'),
    ]);
    expect(result.ok === false && result.refusals.map((r) => [r.code, r.path])).toEqual([
      ['manifest-deleted', 'apps/billing.yaml'],
      ['manifest-deleted', 'mergekey.yaml'],
    ]);
  });
});
