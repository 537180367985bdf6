import { describe, expect, it } from 'vitest';
import { lifecycleOffers } from './actions.ts';
import { deriveStatus } from './status.ts';
import { app, request } from '../../test/support/request-fixtures.ts';
import type { Application } from '../manifests/types.generated.ts';
import type { RequestSummary } from './requests.ts';

function offersOf(onMain: Application | undefined, requests: RequestSummary[]) {
  const view = deriveStatus(onMain, requests);
  if (view === undefined) throw new Error('no view');
  return { numbers: requests.map((r) => r.number), offers: lifecycleOffers(view) };
}

describe('lifecycleOffers: what is offered on an application, and why it cannot be taken now', () => {
  it('an active application: Edit, Deactivate, Rotate secret, all available', () => {
    const { offers } = offersOf(app('billing'), [request('create', 'billing', 'merged')]);
    expect(offers).toEqual({
      edit: { shown: true },
      deactivate: { shown: true },
      reactivate: { shown: false, reason: 'billing is already active' },
      'rotate-secret': { shown: true },
      'cancel-request': { shown: false, reason: 'billing has no open request' },
      'ask-again': { shown: false },
    });
  });

  it('while a request is open, Edit, Deactivate and Rotate are shown disabled, naming it; Cancel request is offered', () => {
    const { offers, numbers } = offersOf(app('billing'), [request('create', 'billing', 'merged'), request('edit', 'billing', 'open')]);
    const reason = `Edit request #${numbers[1]} awaits approval`;
    expect(offers).toEqual({
      edit: { shown: true, reason },
      deactivate: { shown: true, reason },
      reactivate: { shown: false, reason },
      'rotate-secret': { shown: true, reason },
      'cancel-request': { shown: true },
      'ask-again': { shown: false },
    });
  });

  it('an inactive application: Reactivate instead of Deactivate', () => {
    const { offers, numbers } = offersOf(app('billing', { state: 'inactive' }), [request('create', 'billing', 'merged'), request('deactivate', 'billing', 'merged')]);
    expect(offers.reactivate).toEqual({ shown: true });
    expect(offers.deactivate).toEqual({ shown: false, reason: 'billing is already inactive' });
    expect(offers.edit).toEqual({ shown: true });
    expect(numbers).toHaveLength(2);
  });

  it('awaiting approval: Edit disabled with the create request named; Cancel request offered', () => {
    const { offers, numbers } = offersOf(undefined, [request('create', 'billing', 'open')]);
    expect(offers).toEqual({
      edit: { shown: true, reason: `Create request #${numbers[0]} awaits approval` },
      deactivate: { shown: false, reason: `Create request #${numbers[0]} awaits approval` },
      reactivate: { shown: false, reason: `Create request #${numbers[0]} awaits approval` },
      'rotate-secret': { shown: false, reason: `Create request #${numbers[0]} awaits approval` },
      'cancel-request': { shown: true },
      'ask-again': { shown: false },
    });
  });

  it('rejected: Edit disabled, saying so; cancelled: nothing offered', () => {
    const rejected = offersOf(undefined, [request('create', 'billing', { closedBy: 'pat' })]);
    expect(rejected.offers.edit).toEqual({ shown: true, reason: `Create request #${rejected.numbers[0]} was rejected` });
    // What is offered instead: asking again (allowed.ts askAgainOf).
    expect(rejected.offers['ask-again']).toEqual({ shown: true });
    const cancelled = offersOf(undefined, [request('create', 'draft', { closedBy: 'alice' })]);
    expect(Object.values(cancelled.offers).filter((offer) => offer.shown)).toEqual([]);
    expect(cancelled.offers.edit).toEqual({ shown: false, reason: `Create request #${cancelled.numbers[0]} was cancelled` });
  });

  it('approved, then its manifest removed from main: shown as inactive, nothing to request', () => {
    const { offers } = offersOf(undefined, [request('create', 'gone', 'merged')]);
    expect(offers.reactivate).toEqual({ shown: true, reason: 'gone is no longer on the main branch' });
    expect(offers.edit).toEqual({ shown: true, reason: 'gone is no longer on the main branch' });
    expect(offers['rotate-secret'].shown).toBe(false);
  });

  it('no Rotate secret for a client without a secret, whatever its state', () => {
    for (const method of ['none', 'private_key_jwt'] as const) {
      const { offers } = offersOf(app('spa', { tokenEndpointAuthMethod: method }), [request('create', 'spa', 'merged')]);
      expect(offers['rotate-secret']).toEqual({ shown: false, reason: 'spa has no client secret to rotate' });
    }
  });
});
