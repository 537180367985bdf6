import { describe, expect, it } from 'vitest';
import {
  decisionMarker,
  LABEL_DEFINITIONS,
  parseDecisionMarker,
  REJECTED_LABEL,
  requesterOf,
  REQUEST_KINDS,
  REQUEST_LABELS,
  parseRequestBranch,
  parseRequestMarker,
  requestBranchName,
  requestKindFromLabels,
  requestMarker,
  requestOutcome,
  toRequestSummary,
  type PullRequestFacts,
} from './requests.ts';
import { REFUSAL_CODES } from './refusals.ts';

const pr = (facts: Partial<PullRequestFacts>): PullRequestFacts => ({
  number: 7,
  title: 'Create billing',
  body: null,
  author: 'alice',
  labels: [],
  state: 'open',
  merged: false,
  headRef: 'feature',
  headSha: 'c'.repeat(40),
  createdAt: '2025-01-01T00:00:00Z',
  updatedAt: '2025-01-01T00:00:00Z',
  closedAt: null,
  mergedAt: null,
  mergeCommitSha: null,
  ...facts,
});

describe('request branches, labels and markers', () => {
  it.each([
    ['create', 'billing', 'a1b2c3'],
    ['edit', 'my-app-abc123', 'ff00aa11'],
    ['deactivate', 'x-1', 'abcdef'],
  ] as const)('branch for %s %s round-trips', (kind, app, id) => {
    const branch = requestBranchName(kind, app, id);
    expect(branch).toBe(`mergekey/${kind}-${app}-${id}`);
    expect(parseRequestBranch(branch)).toEqual({ kind, app, id });
  });

  it('refuses to build a branch from a bad name or id, and reads no other branch', () => {
    expect(() => requestBranchName('create', 'Billing', 'a1b2c3')).toThrow(TypeError);
    expect(() => requestBranchName('create', 'billing', 'xyz')).toThrow(TypeError);
    expect(parseRequestBranch('feature/billing')).toBeUndefined();
    expect(parseRequestBranch('mergekey/delete-billing-a1b2c3')).toBeUndefined();
  });

  it('labels fit GitHub’s 50-character limit', () => {
    for (const label of LABEL_DEFINITIONS) expect(label.name.length).toBeLessThanOrEqual(50);
    expect(LABEL_DEFINITIONS.map((label) => label.name)).toEqual(expect.arrayContaining(Object.values(REQUEST_LABELS)));
  });

  it('reads the kind from exactly one request label', () => {
    expect(requestKindFromLabels(['bug', 'mergekey:deactivate'])).toBe('deactivate');
    expect(requestKindFromLabels(['mergekey:edit', 'mergekey:create'])).toBeUndefined();
    expect(requestKindFromLabels([])).toBeUndefined();
  });

  it('round-trips the body marker', () => {
    for (const kind of REQUEST_KINDS) {
      expect(parseRequestMarker(`Please approve.\n\n${requestMarker(kind, 'billing')}\n`)).toEqual({ kind, app: 'billing' });
    }
    expect(parseRequestMarker('<!-- mergekey:request kind=delete app=billing -->')).toBeUndefined();
    expect(parseRequestMarker(null)).toBeUndefined();
  });

  it('records who a shared token asked for in the marker, and who decided in a decision marker', () => {
    expect(requestMarker('create', 'billing', { name: 'alice' })).toBe('<!-- mergekey:request kind=create app=billing requested-by=alice -->');
    expect(parseRequestMarker(`Hi\n${requestMarker('edit', 'billing', { name: 'alice' })}`)).toEqual({ kind: 'edit', app: 'billing', requestedBy: { name: 'alice' } });
    expect(parseDecisionMarker(`${decisionMarker('rejected', { name: 'pat' })}\nRejected by pat: no.`)).toEqual({ outcome: 'rejected', by: { name: 'pat' } });
    expect(parseDecisionMarker('<!-- mergekey:decision outcome=deleted by=pat -->')).toBeUndefined();
    expect(parseDecisionMarker(null)).toBeUndefined();
  });

  it('documents every refusal code', () => {
    for (const [code, meaning] of Object.entries(REFUSAL_CODES)) expect(meaning.length, code).toBeGreaterThan(10);
  });
});

describe('toRequestSummary', () => {
  it('takes the kind from the label and the app from the branch', () => {
    const summary = toRequestSummary(pr({ labels: ['mergekey:edit'], headRef: 'mergekey/edit-billing-a1b2c3' }));
    expect(summary).toMatchObject({ number: 7, kind: 'edit', app: 'billing', state: 'open', author: 'alice' });
  });

  it('falls back to the body marker, then to the single app file changed (a pull request made in the web UI)', () => {
    expect(toRequestSummary(pr({ body: requestMarker('create', 'ledger') }))).toMatchObject({ kind: 'create', app: 'ledger' });
    expect(toRequestSummary(pr({ labels: ['mergekey:edit'] }), ['apps/crm.yaml'])).toMatchObject({ kind: 'edit', app: 'crm' });
    expect(toRequestSummary(pr({ labels: ['mergekey:edit'] }), ['apps/crm.yaml', 'apps/erp.yaml'])).toBeUndefined();
  });

  it('is undefined for a pull request that is not a Mergekey request', () => {
    expect(toRequestSummary(pr({}))).toBeUndefined();
  });

  it('maps closed unmerged to rejected or cancelled by who closed it, and insists on knowing who', () => {
    const closed = { state: 'closed' as const, closedAt: '2025-01-03T00:00:00Z', headRef: 'mergekey/create-billing-a1b2c3' };
    expect(requestOutcome(toRequestSummary(pr({ ...closed, closedBy: 'alice' }))!)).toBe('cancelled');
    expect(requestOutcome(toRequestSummary(pr({ ...closed, closedBy: 'pat' }))!)).toBe('rejected');
    expect(() => toRequestSummary(pr(closed))).toThrow(/who closed it was not fetched/);
  });

  it('counts a request the portal closed for a publisher as rejected: its token is both author and closer', () => {
    const portal = { state: 'closed' as const, closedAt: '2025-01-03T00:00:00Z', author: 'mergekey-bot', closedBy: 'mergekey-bot', body: requestMarker('create', 'billing', { name: 'alice' }) };
    const cancelled = toRequestSummary(pr(portal))!;
    expect(requestOutcome(cancelled)).toBe('cancelled');
    // The marker's name is kept as recorded; who asked is believed only once its MAC verifies (markers.ts).
    expect(cancelled.recordedRequester).toEqual({ name: 'alice' });
    expect(requesterOf(cancelled)).toBe('mergekey-bot');
    expect(requestOutcome(toRequestSummary(pr({ ...portal, labels: [REJECTED_LABEL] }))!)).toBe('rejected');
    // Without a requester in the marker, the GitHub author asked.
    expect(requesterOf(toRequestSummary(pr({ body: requestMarker('create', 'billing') }))!)).toBe('alice');
  });

  it('maps merged to approved, keeping who merged it and the merge commit', () => {
    const merged = toRequestSummary(
      pr({
        state: 'closed',
        merged: true,
        mergedAt: '2025-01-03T00:00:00Z',
        closedAt: '2025-01-03T00:00:00Z',
        mergedBy: 'pat',
        mergeCommitSha: 'd'.repeat(40),
        headRef: 'mergekey/create-billing-a1b2c3',
      }),
    );
    expect(merged).toMatchObject({ state: 'merged', mergedBy: 'pat', mergeCommitSha: 'd'.repeat(40) });
    expect(requestOutcome(merged!)).toBe('approved');
  });
});
