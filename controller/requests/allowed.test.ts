import { describe, expect, it } from 'vitest';
import { askAgainOf, isCancelAllowed, isRequestAllowed } from './allowed.ts';
import type { RefusalCode } from './refusals.ts';
import type { RequestKind } from './requests.ts';
import type { AppStatus } from './status.ts';
import { request } from '../../test/support/request-fixtures.ts';

describe('isRequestAllowed: which request may be opened from which status', () => {
  // [status, kind, expected: true or the refusal code]
  const table: [AppStatus | undefined, RequestKind, true | RefusalCode][] = [
    [undefined, 'create', true],
    [undefined, 'edit', 'app-not-on-main'],
    [undefined, 'deactivate', 'app-not-on-main'],
    [undefined, 'reactivate', 'app-not-on-main'],
    ['awaiting', 'create', 'awaiting-approval'],
    ['awaiting', 'edit', 'awaiting-approval'], // "You cannot update an application with the Awaiting approval … statuses."
    ['awaiting', 'deactivate', 'awaiting-approval'],
    ['awaiting', 'reactivate', 'awaiting-approval'],
    ['rejected', 'create', true],
    ['rejected', 'edit', 'rejected'], // "… or Rejected statuses."
    ['rejected', 'deactivate', 'rejected'],
    ['rejected', 'reactivate', 'rejected'],
    ['cancelled', 'create', true],
    ['cancelled', 'edit', 'app-not-on-main'],
    ['active', 'create', 'app-exists'],
    ['active', 'edit', true],
    ['active', 'deactivate', true], // "The deactivate option will be available for all active applications."
    ['active', 'reactivate', 'already-active'],
    ['inactive', 'create', 'app-exists'],
    ['inactive', 'edit', true],
    ['inactive', 'deactivate', 'already-inactive'],
    ['inactive', 'reactivate', true], // "Inactive applications can be reactivated."
  ];

  it.each(table)('status %s, %s request → %s', (status, kind, expected) => {
    const decision = isRequestAllowed('billing', status, kind, []);
    if (expected === true) {
      expect(decision).toEqual({ allowed: true });
    } else {
      expect(decision).toMatchObject({ allowed: false, code: expected });
      expect(decision.allowed === false && decision.message).toContain('billing');
    }
  });

  it('allows one open request per application at a time', () => {
    const pending = request('edit', 'billing', 'open');
    const decision = isRequestAllowed('billing', 'active', 'deactivate', [pending]);
    expect(decision).toEqual({
      allowed: false,
      code: 'open-request-exists',
      message:
        `billing already has an open edit request (#${pending.number}); one request per application at a time: ` +
        'wait until it is merged or closed, or cancel it with `mergekey app cancel billing`',
    });
  });

  it('ignores other applications’ open requests and closed ones', () => {
    const others = [request('edit', 'shipping', 'open'), request('edit', 'billing', { closedBy: 'pat' })];
    expect(isRequestAllowed('billing', 'active', 'edit', others)).toEqual({ allowed: true });
  });

  it('names the open create request when refusing an edit awaiting approval', () => {
    const pending = request('create', 'billing', 'open');
    const decision = isRequestAllowed('billing', 'awaiting', 'edit', [pending]);
    expect(decision.allowed === false && decision.message).toContain(`create request #${pending.number}`);
  });
});

describe('isCancelAllowed: only the author withdraws a request', () => {
  it('returns the open request to close for its author', () => {
    const pending = request('create', 'billing', 'open', 'alice');
    expect(isCancelAllowed('billing', 'Alice', [pending])).toEqual({ allowed: true, request: pending });
  });

  it('refuses anyone else, pointing publishers at review reject', () => {
    const pending = request('create', 'billing', 'open', 'alice');
    const decision = isCancelAllowed('billing', 'pat', [pending]);
    expect(decision).toMatchObject({ allowed: false, code: 'not-author' });
    expect(decision.allowed === false && decision.message).toContain(`mergekey review reject ${pending.number}`);
  });

  it('refuses when nothing is open', () => {
    expect(isCancelAllowed('billing', 'alice', [request('create', 'billing', 'merged')])).toMatchObject({ allowed: false, code: 'no-open-request' });
  });
});

describe('askAgainOf: the rejected request a developer may ask for again', () => {
  const rejected = (kind: RequestKind) => request(kind, 'billing', { closedBy: 'pat' });
  it.each([
    ['a rejected create leaves the name free', 'rejected', () => [request('create', 'billing', { closedBy: 'pat' })], 'create'],
    ['a rejected edit leaves it active', 'active', () => [request('create', 'billing', 'merged'), rejected('edit')], 'edit'],
    ['a rejected deactivation leaves it active', 'active', () => [request('create', 'billing', 'merged'), rejected('deactivate')], 'deactivate'],
    ['a rejected reactivation leaves it inactive', 'inactive', () => [request('create', 'billing', 'merged'), request('deactivate', 'billing', 'merged'), rejected('reactivate')], 'reactivate'],
  ] as const)('%s: ask again for a %s… request', (_why, status, requests, kind) => {
    const all = requests();
    expect(askAgainOf({ app: 'billing', status, requests: all })).toBe(all.at(-1));
    expect(all.at(-1)!.kind).toBe(kind);
  });

  it.each([
    ['the latest request was approved', 'active', () => [rejected('edit'), request('edit', 'billing', 'merged')]],
    ['the latest request was cancelled by its author', 'active', () => [request('create', 'billing', 'merged'), request('edit', 'billing', { closedBy: 'alice' })]],
    ['a request is open', 'active', () => [rejected('edit'), request('edit', 'billing', 'open')]],
    ['the lifecycle no longer allows it (a deactivation rejected, then the app deactivated by hand)', 'inactive', () => [request('create', 'billing', 'merged'), rejected('deactivate')]],
    ['nothing was ever asked', 'active', () => []],
  ] as const)('none when %s', (_why, status, requests) => {
    expect(askAgainOf({ app: 'billing', status, requests: requests() })).toBeUndefined();
  });
});
