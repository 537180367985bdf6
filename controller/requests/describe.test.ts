import { describe, expect, it } from 'vitest';
import type { PlainManifestObject } from '../manifests/model.ts';
import type { Plan, Settings, User } from '../manifests/types.generated.ts';
import { describeChange, describePublisherChange } from './describe.ts';
import { api, app, entry } from '../../test/support/request-fixtures.ts';

const OTHER_SEALED = 'eyJhbGciOiJFQ0RILUVTK0EyNTZLVyJ9.a2V5Mg.aXY.Y2lwaGVydGV4dDI.dGFn';

describe('describeChange: what merging does to the token server', () => {
  const billing = app('billing');

  it('marks a description-only edit as low risk', () => {
    const plan = describeChange(billing, app('billing', { description: 'Bills customers monthly' }));
    expect(plan.lowRisk).toBe(true);
    expect(plan.lines).toEqual(['Description changes.']);
    expect(plan.markdown).toBe(
      ['### Edit `billing`', '', '- Description changes.', '', '**Risk: low.** A description-only edit: nothing the token server does changes.', ''].join('\n'),
    );
  });

  it('needs a review for anything beyond the description', () => {
    const plan = describeChange(billing, app('billing', { description: 'x', displayName: 'Billing' }));
    expect(plan.lowRisk).toBe(false);
    expect(plan.markdown).toContain('**Needs an approving review from a publisher**');
  });

  const editCases: [string, Parameters<typeof app>[1], string[]][] = [
    ['scopes', { scopes: ['payments:read', 'payments:write'] }, ['Scopes added: `payments:read`, `payments:write`; tokens may carry them.', 'Scopes removed: `open`; new tokens no longer carry them.']],
    ['grant types', { grantTypes: ['client_credentials', 'refresh_token'] }, ['Grant types added: `refresh_token`.']],
    ['redirect URIs', { redirectUris: ['https://app.example.com/cb'] }, ['Redirect URIs added: `https://app.example.com/cb`.']],
    ['plan', { plan: 'gold' }, ['Plan: bronze (default) → gold (token lifetimes and request rate follow it).']],
    ['auth method', { tokenEndpointAuthMethod: 'client_secret_post' }, ['Client authentication: `client_secret_basic` → `client_secret_post`.']],
    ['owners', { owners: ['alice', 'bob'] }, ['Owners added: `bob`.']],
  ];
  it.each(editCases)('describes a change of %s', (_field, spec, lines) => {
    const plan = describeChange(billing, app('billing', spec), { defaultPlan: 'bronze' });
    expect(plan.lines).toEqual(lines);
    expect(plan.lowRisk).toBe(false);
  });

  it('describes a secret rotation without printing any sealed value', () => {
    const old = billing.spec.credentials!.secrets![0]!;
    const plan = describeChange(billing, app('billing', { credentials: { secrets: [{ ...old, expiresAt: '2025-02-01T00:00:00Z' }, { sealed: OTHER_SEALED }] } }));
    expect(plan.lines).toEqual([
      '1 new client secret accepted.',
      'An existing client secret now expires at 2025-02-01T00:00:00Z (rotation: clients switch to the new one before then).',
    ]);
    expect(plan.markdown).not.toContain(old.sealed);
    expect(plan.markdown).not.toContain(OTHER_SEALED);
  });

  it('says how many tokens a deactivation revokes when the server was asked', () => {
    const plan = describeChange(billing, app('billing', { state: 'inactive' }), { activeTokens: 3 });
    expect(plan.markdown).toContain('### Deactivate `billing`');
    expect(plan.lines).toEqual([
      'Deactivates `billing`: the token server stops issuing tokens to it, and every token it holds stops working at once.',
      'Deactivation revokes 3 active tokens.',
    ]);
    expect(describeChange(billing, app('billing', { state: 'inactive' })).lines).toHaveLength(1);
  });

  it('describes a reactivation and a create', () => {
    expect(describeChange(app('billing', { state: 'inactive' }), billing).markdown).toContain('Reactivates `billing`');
    const create = describeChange(undefined, app('crm', { scopes: ['open', 'crm:read'] }), { defaultPlan: 'bronze' });
    expect(create.lines).toEqual([
      'Registers `crm` with client id `crm-0123456789`, active.',
      'Scopes: `open`, `crm:read`.',
      'Grant types: `client_credentials`.',
      'Plan: bronze (default).',
      'Client authentication: `client_secret_basic`.',
      'Credentials: 1 sealed client secret.',
      'Owners: `alice`.',
    ]);
    expect(create.lowRisk).toBe(false);
  });

  it('says what a public client and skipped consent mean, on create and on edit', () => {
    const { credentials: _none, ...spec } = app('spa', {
      scopes: ['openid', 'profile'],
      grantTypes: ['authorization_code', 'refresh_token'],
      redirectUris: ['https://spa.example.com/callback', 'http://127.0.0.1/callback'],
      tokenEndpointAuthMethod: 'none',
      consent: 'skip',
    }).spec;
    const spa = { ...app('spa'), spec };
    expect(describeChange(undefined, spa, { defaultPlan: 'bronze' }).lines).toEqual([
      'Registers `spa` with client id `spa-0123456789`, active.',
      'Scopes: `openid`, `profile`.',
      'Grant types: `authorization_code`, `refresh_token`.',
      'Plan: bronze (default).',
      'Client authentication: `none` (a public client: no client secret; PKCE protects its codes).',
      'Redirect URIs (matched exactly): `https://spa.example.com/callback`, `http://127.0.0.1/callback`.',
      'Consent: skipped, as for a first-party application: users are not asked before it signs them in.',
      'Owners: `alice`.',
    ]);
    const { consent: _skip, ...asking } = spec;
    expect(describeChange(spa, { ...spa, spec: asking }).lines).toEqual(['Consent: users are asked again before the application signs them in.']);
    expect(describeChange({ ...spa, spec: asking }, spa).lines).toEqual(['Consent: skipped, as for a first-party application: users are not asked before it signs them in.']);
    const { credentials: _secret, ...secretless } = billing.spec;
    expect(describeChange(billing, { ...billing, spec: { ...secretless, tokenEndpointAuthMethod: 'none' } }).lines).toEqual([
      'Client authentication: `client_secret_basic` → `none` (a public client: no client secret; PKCE protects its codes).',
      '1 client secret removed: clients using it can no longer authenticate.',
    ]);
  });

  it('says when nothing effective changes', () => {
    expect(describeChange(billing, app('billing')).markdown).toContain('No effective change');
  });
});

describe('describePublisherChange', () => {
  it('lists API scopes, plan limits and user roles that change', () => {
    const plan = (rate: number): Plan => ({
      apiVersion: 'mergekey/v1',
      kind: 'Plan',
      metadata: { name: 'gold' },
      spec: { description: 'Gold', accessTokenTtl: '15m', refreshTokenTtl: '30d', tokenRequestsPerMinute: rate },
    });
    const user = (roles: User['spec']['roles']): User => ({ apiVersion: 'mergekey/v1', kind: 'User', metadata: { name: 'bob' }, spec: { roles } });
    const base: PlainManifestObject[] = [entry(api('payments', ['payments:read'])), entry(plan(60)), entry(user(['developer']))];
    const head: PlainManifestObject[] = [entry(api('payments', ['payments:write'])), entry(plan(120)), entry(user(['developer', 'publisher'])), entry(api('crm', ['crm:read']))];
    const settings = (firstPartyApps?: string[]): Settings => ({
      apiVersion: 'mergekey/v1',
      kind: 'Settings',
      metadata: { name: 'mergekey' },
      spec: { issuer: 'https://auth.example.com', defaultPlan: 'gold', ...(firstPartyApps === undefined ? {} : { firstPartyApps }) },
    });
    base.push(entry(settings(['portal'])));
    head.push(entry(settings(['spa'])));
    const result = describePublisherChange(base, head, ['apis/payments.yaml', 'plans/gold.yaml', 'users/bob.yaml', 'apis/crm.yaml', 'mergekey.yaml', 'README.md']);
    expect(result.lines).toEqual([
      'Api `payments`: publishes scopes `payments:write`; withdraws scopes `payments:read`.',
      'Plan `gold`: token requests per minute 60 → 120.',
      'User `bob`: gains roles `publisher`.',
      'Adds Api `crm`.',
      'Settings `mergekey`: first-party applications (may skip consent) added: `spa`; first-party applications removed: `portal`.',
      '`README.md`: no effect on the token server.',
    ]);
    expect(result.lowRisk).toBe(false);
  });
});
