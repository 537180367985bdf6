import { describe, expect, it } from 'vitest';
import { countApplications, deriveStatus, deriveStatuses, matchesFilter, parseStatusFilter, stateOfApp, statusOfApp, STATUS_FILTERS, type AppStatus } from './status.ts';
import { app, request } from '../../test/support/request-fixtures.ts';
import type { RequestSummary } from './requests.ts';

describe('deriveStatus maps main plus pull requests to the brief’s statuses (SPEC.md lifecycle table)', () => {
  const cases: { name: string; onMain: boolean | 'inactive'; requests: () => RequestSummary[]; status: AppStatus; counts: [number, number, number] }[] = [
    { name: 'open create request → awaiting approval', onMain: false, requests: () => [request('create', 'billing', 'open')], status: 'awaiting', counts: [0, 0, 0] },
    { name: 'create merged → active', onMain: true, requests: () => [request('create', 'billing', 'merged')], status: 'active', counts: [1, 0, 0] },
    {
      name: 'create closed unmerged by a publisher → rejected',
      onMain: false,
      requests: () => [request('create', 'billing', { closedBy: 'pat' })],
      status: 'rejected',
      counts: [0, 1, 0],
    },
    {
      name: 'create closed unmerged by its author → cancelled',
      onMain: false,
      requests: () => [request('create', 'billing', { closedBy: 'alice' })],
      status: 'cancelled',
      counts: [0, 0, 1],
    },
    {
      name: 'logins compare case-insensitively: closed by ALICE is a cancellation',
      onMain: false,
      requests: () => [request('create', 'billing', { closedBy: 'ALICE' })],
      status: 'cancelled',
      counts: [0, 0, 1],
    },
    {
      name: 'closed by a user GitHub no longer knows counts as rejected, not cancelled',
      onMain: false,
      requests: () => [request('create', 'billing', { closedBy: null })],
      status: 'rejected',
      counts: [0, 1, 0],
    },
    {
      name: 'deactivation approved → inactive',
      onMain: 'inactive',
      requests: () => [request('create', 'billing', 'merged'), request('deactivate', 'billing', 'merged')],
      status: 'inactive',
      counts: [2, 0, 0],
    },
    {
      name: 'deactivation rejected → stays active',
      onMain: true,
      requests: () => [request('create', 'billing', 'merged'), request('deactivate', 'billing', { closedBy: 'pat' })],
      status: 'active',
      counts: [1, 1, 0],
    },
    {
      name: 'reactivation rejected → stays inactive; approved/rejected/cancelled all counted',
      onMain: 'inactive',
      requests: () => [
        request('create', 'billing', 'merged'),
        request('edit', 'billing', { closedBy: 'alice' }),
        request('deactivate', 'billing', 'merged'),
        request('reactivate', 'billing', { closedBy: 'pat' }),
      ],
      status: 'inactive',
      counts: [2, 1, 1],
    },
    {
      name: 'rejected, then asked again: the newest create decides → awaiting',
      onMain: false,
      requests: () => [request('create', 'billing', { closedBy: 'pat' }), request('create', 'billing', 'open')],
      status: 'awaiting',
      counts: [0, 1, 0],
    },
    {
      name: 'an older create still open behind a newer cancelled one → awaiting',
      onMain: false,
      requests: () => [request('create', 'billing', 'open'), request('create', 'billing', { closedBy: 'alice' })],
      status: 'awaiting',
      counts: [0, 0, 1],
    },
    {
      name: 'create merged but the manifest later left main → inactive (a removed manifest is a deactivation)',
      onMain: false,
      requests: () => [request('create', 'billing', 'merged')],
      status: 'inactive',
      counts: [1, 0, 0],
    },
    {
      name: 'on main without any request (added before Mergekey) → active',
      onMain: true,
      requests: () => [],
      status: 'active',
      counts: [0, 0, 0],
    },
  ];

  it.each(cases)('$name', ({ onMain, requests, status, counts }) => {
    const manifest = onMain === false ? undefined : app('billing', { state: onMain === 'inactive' ? 'inactive' : 'active' });
    const view = deriveStatus(manifest, requests());
    expect(view?.status).toBe(status);
    expect(view?.counts).toEqual({ approved: counts[0], rejected: counts[1], cancelled: counts[2] });
    expect(view?.reason).toMatch(/#\d+|on main/);
  });

  it('names the open request and lists requests newest first', () => {
    const created = request('create', 'billing', 'merged');
    const edit = request('edit', 'billing', 'open');
    const view = deriveStatus(app('billing'), [created, edit]);
    expect(view?.openRequest?.number).toBe(edit.number);
    expect(view?.requests.map((r) => r.number)).toEqual([edit.number, created.number]);
    expect(view?.reason).toBe(`on main with state active; edit request #${edit.number} is open`);
  });

  it('knows nothing of an app that is neither on main nor asked for', () => {
    expect(deriveStatus(undefined, [])).toBeUndefined();
    expect(deriveStatus(undefined, [request('edit', 'ghost', 'open')])).toBeUndefined();
  });

  it('refuses requests about another application', () => {
    expect(() => deriveStatus(app('billing'), [request('create', 'shipping', 'open')])).toThrow(/concerns "shipping", not "billing"/);
  });
});

describe('deriveStatuses and countApplications', () => {
  it('lists every app known to main or to a create request, with the brief’s headline counts', () => {
    const views = deriveStatuses(
      [app('billing'), app('ledger', { state: 'inactive' })],
      [
        request('create', 'billing', 'merged'),
        request('create', 'zeta', 'open'),
        request('create', 'crm', { closedBy: 'pat' }),
        request('create', 'draft', { closedBy: 'alice' }),
        request('edit', 'billing', 'open'),
      ],
    );
    expect(views.map((view) => [view.app, view.status])).toEqual([
      ['billing', 'active'],
      ['crm', 'rejected'],
      ['draft', 'cancelled'],
      ['ledger', 'inactive'],
      ['zeta', 'awaiting'],
    ]);
    expect(countApplications(views)).toEqual({ 'awaiting-approval': 1, approved: 2, rejected: 1, cancelled: 1, active: 1, inactive: 1 });
  });
});

describe('one vocabulary: a status and a state, shown apart', () => {
  it('an approved application is active or inactive; the others have a status and no state', () => {
    const table = (['awaiting', 'active', 'inactive', 'rejected', 'cancelled'] as const).map((status) => [status, statusOfApp(status), stateOfApp(status)]);
    expect(table).toEqual([
      ['awaiting', 'awaiting-approval', undefined],
      ['active', 'approved', 'active'],
      ['inactive', 'approved', 'inactive'],
      ['rejected', 'rejected', undefined],
      ['cancelled', 'cancelled', undefined],
    ]);
  });

  it('a filter is read from the names and from the printed words, in any case; nothing else', () => {
    expect(parseStatusFilter('awaiting-approval')).toBe('awaiting-approval');
    expect(parseStatusFilter('awaiting approval')).toBe('awaiting-approval');
    expect(parseStatusFilter(' Awaiting  Approval ')).toBe('awaiting-approval');
    for (const filter of STATUS_FILTERS) expect(parseStatusFilter(filter)).toBe(filter);
    expect(parseStatusFilter('awaiting')).toBeUndefined();
    expect(parseStatusFilter('')).toBeUndefined();
    expect(parseStatusFilter('approved,rejected')).toBeUndefined();
  });

  it('approved matches both states; active and inactive only their own', () => {
    expect((['awaiting', 'active', 'inactive', 'rejected', 'cancelled'] as const).filter((status) => matchesFilter(status, 'approved'))).toEqual(['active', 'inactive']);
    expect((['awaiting', 'active', 'inactive', 'rejected', 'cancelled'] as const).filter((status) => matchesFilter(status, 'inactive'))).toEqual(['inactive']);
    expect((['awaiting', 'active', 'inactive', 'rejected', 'cancelled'] as const).filter((status) => matchesFilter(status, 'awaiting-approval'))).toEqual(['awaiting']);
  });
});
