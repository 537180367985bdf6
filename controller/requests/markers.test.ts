// The portal's markers: a name is believed only from the portal's account and with a MAC that
// verifies under the server's key for this request's branch (and a decision's outcome).
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { markerKey } from '../sealing/markers.ts';
import { believeRequesters, signedDecider, signedRequester, verifiedDecider, verifiedRequester } from './markers.ts';
import { decisionMarker, parseDecisionMarker, parseRequestMarker, requestMarker, toRequestSummary, type PullRequestFacts } from './requests.ts';

const secretHashKey = randomBytes(32);
const key = markerKey(secretHashKey);
const BRANCH = 'mergekey/create-billing-a1b2c3';
const trust = { key, portalLogin: 'mergekey-bot' };

function pull(body: string, overrides: Partial<PullRequestFacts> = {}): PullRequestFacts {
  return {
    number: 1, state: 'open', merged: false, title: 'Create application billing', body, author: 'mergekey-bot', labels: ['mergekey:create'],
    headRef: BRANCH, headSha: 'a'.repeat(40), createdAt: '2026-12-07T12:00:00Z', updatedAt: '2026-12-07T12:00:00Z',
    closedAt: null, mergedAt: null, mergeCommitSha: null, ...overrides,
  } as PullRequestFacts;
}

describe('request markers', () => {
  it('believes the person the portal signed for this branch, from its account only', () => {
    const body = requestMarker('create', 'billing', signedRequester(key, BRANCH, 'alice'));
    expect(body).toMatch(/^<!-- mergekey:request kind=create app=billing requested-by=alice mac=[A-Za-z0-9_-]{43} -->$/);
    expect(verifiedRequester(toRequestSummary(pull(body))!, trust)).toBe('alice');
    expect(believeRequesters([toRequestSummary(pull(body))!], trust)[0]!.requestedBy).toBe('alice');
    // The same line in a pull request someone else opened names nobody.
    expect(verifiedRequester(toRequestSummary(pull(body, { author: 'alice-gh' }))!, trust)).toBeUndefined();
  });

  it('believes no edited name, no unsigned marker, no marker moved to another branch, and no other key', () => {
    const signed = signedRequester(key, BRANCH, 'alice');
    const cases: [string, PullRequestFacts][] = [
      ['another name', pull(requestMarker('create', 'billing', { name: 'bob', mac: signed.mac! }))],
      ['unsigned (as the portal wrote before)', pull(requestMarker('create', 'billing', { name: 'alice' }))],
      ['another branch', pull(requestMarker('create', 'billing', signed), { headRef: 'mergekey/create-billing-d4e5f6' })],
      ['another key', pull(requestMarker('create', 'billing', signedRequester(markerKey(randomBytes(32)), BRANCH, 'alice')))],
    ];
    for (const [what, facts] of cases) {
      const summary = toRequestSummary(facts)!;
      expect(verifiedRequester(summary, trust), what).toBeUndefined();
      expect(believeRequesters([{ ...summary, requestedBy: 'alice' }], trust)[0]!.requestedBy, what).toBeUndefined();
      // What it says stays readable, as what was recorded.
      expect(summary.recordedRequester?.name, what).toBe(facts.body!.includes('bob') ? 'bob' : 'alice');
    }
  });

  it('the same key from the same data directory keys: a rebuilt store or another replica verifies it', () => {
    const mac = signedRequester(markerKey(secretHashKey), BRANCH, 'alice').mac!;
    expect(parseRequestMarker(requestMarker('create', 'billing', { name: 'alice', mac }))?.requestedBy).toEqual({ name: 'alice', mac });
    expect(verifiedRequester({ author: 'mergekey-bot', headRef: BRANCH, recordedRequester: { name: 'alice', mac } }, trust)).toBe('alice');
  });
});

describe('decision markers', () => {
  it('believes the publisher signed for this branch and outcome, and nothing edited', () => {
    const text = decisionMarker('rejected', signedDecider(key, BRANCH, 'rejected', 'pat'));
    const marker = parseDecisionMarker(text)!;
    expect(verifiedDecider(BRANCH, marker, key)).toBe('pat');
    expect(verifiedDecider(BRANCH, { ...marker, by: { ...marker.by!, name: 'quinn' } }, key)).toBeUndefined();
    expect(verifiedDecider(BRANCH, { ...marker, outcome: 'cancelled' }, key)).toBeUndefined();
    expect(verifiedDecider('mergekey/create-ledger-d4e5f6', marker, key)).toBeUndefined();
    expect(verifiedDecider(BRANCH, parseDecisionMarker('<!-- mergekey:decision outcome=rejected by=pat -->')!, key)).toBeUndefined();
  });
});
