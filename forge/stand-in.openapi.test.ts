// Every response the stand-in gives in a realistic scenario, checked against the response schema
// GitHub's OpenAPI description declares for that operation and status.
import { Octokit } from '@octokit/rest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadGitHubOpenApi, type OpenApiChecker } from './openapi.ts';
import { startGitHubStandIn, type GitHubStandIn } from './server.ts';
import { createTestRepository, type TestRepository } from './test-repo.ts';

const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const params = { owner: 'acme', repo: 'manifests' };

let openapi: OpenApiChecker;
let standIn: GitHubStandIn;
let repo: TestRepository;

/** Runs a call that must fail, returning its status. */
async function fails(call: Promise<unknown>): Promise<number> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e as { status: number },
  );
  expect(error, 'the call should have failed').toBeDefined();
  return error!.status;
}

beforeAll(async () => {
  openapi = loadGitHubOpenApi();
  repo = await createTestRepository({ 'mergekey.yaml': 'kind: Settings\n', 'apps/ledger.yaml': 'ledger\n' });
  standIn = await startGitHubStandIn({
    now: () => Date.parse('2025-03-01T10:00:00Z'),
    users: [
      { login: 'alice', token: 'tok-alice', name: 'Alice' },
      { login: 'pat', token: 'tok-pat' },
      { login: 'rob', token: 'tok-rob' },
    ],
    repositories: [{ ...params, name: params.repo, bareDir: repo.bareDir, permissions: { alice: 'write', pat: 'maintain', rob: 'read' }, requiredApprovingReviews: 1, branchProtection: { main: { restrictions: { users: ['pat'], teams: [] } } } }],
  });
  const as = (token?: string) => new Octokit({ ...(token === undefined ? {} : { auth: token }), baseUrl: standIn.url, log: quiet });
  const alice = as('tok-alice');
  const pat = as('tok-pat');
  const rob = as('tok-rob');

  // Who am I, the repository, other users.
  await alice.rest.users.getAuthenticated();
  await alice.rest.users.getByUsername({ username: 'pat' });
  expect(await fails(alice.rest.users.getByUsername({ username: 'ghost' }))).toBe(404);
  await rob.rest.repos.get(params);
  await alice.rest.rateLimit.get();
  expect(await fails(as('tok-nobody').rest.users.getAuthenticated())).toBe(401);
  expect(await fails(as().rest.pulls.list(params))).toBe(401);

  // A create request: branch, pull request, label, comment, review, merge.
  const head = await repo.pushBranch('mergekey/create-billing-a1b2c3', { 'apps/billing.yaml': 'billing\n' });
  const pull = (await alice.rest.pulls.create({ ...params, head: 'mergekey/create-billing-a1b2c3', base: 'main', title: 'Create billing', body: 'please' })).data;
  expect(await fails(alice.rest.pulls.create({ ...params, head: 'missing', base: 'main', title: 'x' }))).toBe(422);
  await alice.rest.issues.addLabels({ ...params, issue_number: pull.number, labels: ['mergekey:create'] });
  expect(await fails(alice.rest.issues.addLabels({ ...params, issue_number: pull.number, labels: ['l'.repeat(60)] }))).toBe(422);
  await alice.rest.issues.listLabelsOnIssue({ ...params, issue_number: pull.number });
  const comment = (await alice.rest.issues.createComment({ ...params, issue_number: pull.number, body: 'plan v1' })).data;
  await alice.rest.issues.updateComment({ ...params, comment_id: comment.id, body: 'plan v2' });
  expect(await fails(rob.rest.issues.updateComment({ ...params, comment_id: comment.id, body: 'no' }))).toBe(403);
  await alice.rest.issues.listComments({ ...params, issue_number: pull.number });
  await alice.rest.pulls.listFiles({ ...params, pull_number: pull.number });
  await alice.rest.pulls.list({ ...params, state: 'all' });
  await alice.rest.pulls.get({ ...params, pull_number: pull.number });
  expect(await fails(alice.rest.pulls.createReview({ ...params, pull_number: pull.number, event: 'APPROVE' }))).toBe(422);
  expect(await fails(pat.rest.pulls.merge({ ...params, pull_number: pull.number }))).toBe(405);
  await pat.rest.pulls.createReview({ ...params, pull_number: pull.number, event: 'APPROVE', body: 'ok' });
  await rob.rest.pulls.createReview({ ...params, pull_number: pull.number, event: 'COMMENT', body: 'nice' });
  await alice.rest.pulls.listReviews({ ...params, pull_number: pull.number });
  expect(await fails(rob.rest.pulls.merge({ ...params, pull_number: pull.number }))).toBe(403);
  // Approved, but alice may not push to main (branch protection's restrictions).
  expect(await fails(alice.rest.pulls.merge({ ...params, pull_number: pull.number }))).toBe(405);
  expect(await fails(pat.rest.pulls.merge({ ...params, pull_number: pull.number, sha: '0'.repeat(40) }))).toBe(409);
  const merged = (await pat.rest.pulls.merge({ ...params, pull_number: pull.number, sha: head })).data;
  await alice.rest.pulls.get({ ...params, pull_number: pull.number });
  await alice.rest.issues.get({ ...params, issue_number: pull.number });
  await alice.rest.repos.listPullRequestsAssociatedWithCommit({ ...params, commit_sha: merged.sha });

  // The controller's confirmation on the merge commit.
  await pat.rest.repos.createCommitStatus({ ...params, sha: merged.sha, state: 'success', context: 'mergekey/live', target_url: 'https://tokens.example.com/status', description: 'live' });
  expect(await fails(rob.rest.repos.createCommitStatus({ ...params, sha: merged.sha, state: 'success' }))).toBe(403);
  expect(await fails(pat.rest.repos.createCommitStatus({ ...params, sha: merged.sha, state: 'great' as 'success' }))).toBe(422);
  await alice.rest.repos.listCommitStatusesForRef({ ...params, ref: merged.sha });
  await alice.rest.repos.getCombinedStatusForRef({ ...params, ref: 'main' });

  // Requests closed unmerged, and a conflict.
  await repo.pushBranch('mergekey/edit-ledger-000001', { 'apps/ledger.yaml': 'ledger v2\n' });
  await repo.pushBranch('mergekey/edit-ledger-000002', { 'apps/ledger.yaml': 'ledger v3\n' });
  const first = (await alice.rest.pulls.create({ ...params, head: 'mergekey/edit-ledger-000001', base: 'main', title: 'Edit ledger' })).data;
  const second = (await alice.rest.pulls.create({ ...params, head: 'mergekey/edit-ledger-000002', base: 'main', title: 'Edit ledger too' })).data;
  await pat.rest.pulls.createReview({ ...params, pull_number: first.number, event: 'APPROVE' });
  await pat.rest.pulls.createReview({ ...params, pull_number: second.number, event: 'REQUEST_CHANGES', body: 'no' });
  await pat.rest.pulls.merge({ ...params, pull_number: first.number, merge_method: 'squash' });
  await pat.rest.pulls.get({ ...params, pull_number: second.number });
  expect(await fails(pat.rest.pulls.merge({ ...params, pull_number: second.number }))).toBe(405);
  await pat.rest.pulls.update({ ...params, pull_number: second.number, state: 'closed' });
  await alice.rest.pulls.update({ ...params, pull_number: second.number, state: 'open', title: 'Edit ledger, again' });
  await alice.rest.pulls.update({ ...params, pull_number: second.number, state: 'closed' });
  expect(await fails(alice.rest.pulls.update({ ...params, pull_number: first.number, state: 'open' }))).toBe(422);
  await alice.paginate(alice.rest.pulls.list, { ...params, state: 'closed', per_page: 1 });

  // Rate limits, primary and secondary.
  standIn.injectRateLimit({ status: 403, kind: 'primary' });
  expect(await fails(alice.rest.pulls.list(params))).toBe(403);
  standIn.injectRateLimit({ status: 429, kind: 'secondary' });
  expect(await fails(alice.rest.pulls.get({ ...params, pull_number: 1 }))).toBe(429);
}, 60_000);

afterAll(async () => {
  await standIn?.close();
  await repo?.cleanup();
});

describe('the stand-in answers in the shapes of GitHub’s OpenAPI description', () => {
  it('gives only responses whose bodies match the schema for their operation and status', () => {
    const failures = standIn.requests
      .map((request) => ({ request, result: openapi.check(request.method, request.url, request.status, request.body) }))
      .filter(({ result }) => result.errors.length > 0)
      .map(({ request, result }) => `${request.method} ${request.url} → ${request.status} (${result.operationId}): ${result.errors.slice(0, 5).join('; ')}`);
    expect(failures).toEqual([]);
  });

  it('exercised every operation it implements, with the statuses that matter', () => {
    const seen = new Set(
      standIn.requests.map((request) => {
        const result = openapi.check(request.method, request.url, request.status, request.body);
        return `${result.operationId} ${request.status}`;
      }),
    );
    const expected = [
      'users/get-authenticated 200', 'users/get-authenticated 401', 'users/get-by-username 200', 'users/get-by-username 404',
      'repos/get 200', 'rate-limit/get 200',
      'pulls/create 201', 'pulls/create 422', 'pulls/list 200', 'pulls/list 401', 'pulls/list 403', 'pulls/get 200', 'pulls/get 429',
      'pulls/update 200', 'pulls/update 422', 'pulls/merge 200', 'pulls/merge 403', 'pulls/merge 405', 'pulls/merge 409',
      'pulls/list-files 200', 'pulls/create-review 200', 'pulls/create-review 422', 'pulls/list-reviews 200',
      'issues/get 200', 'issues/add-labels 200', 'issues/add-labels 422', 'issues/list-labels-on-issue 200',
      'issues/create-comment 201', 'issues/list-comments 200', 'issues/update-comment 200', 'issues/update-comment 403',
      'repos/create-commit-status 201', 'repos/create-commit-status 403', 'repos/create-commit-status 422',
      'repos/list-commit-statuses-for-ref 200', 'repos/get-combined-status-for-ref 200', 'repos/list-pull-requests-associated-with-commit 200',
    ];
    expect(expected.filter((key) => !seen.has(key))).toEqual([]);
  });

  it('would catch an invented property, a missing required one, and a wrong type', () => {
    const reply = standIn.requests.find((request) => request.method === 'GET' && /\/pulls\/1$/.test(request.url) && request.status === 200)!;
    const body = reply.body as Record<string, unknown>;
    const check = (mutated: unknown) => openapi.check('GET', reply.url, 200, mutated).errors;
    expect(check(body)).toEqual([]);
    expect(check({ ...body, closed_by: null })).not.toEqual([]);
    const { node_id: _dropped, ...missing } = body;
    expect(check(missing)).not.toEqual([]);
    expect(check({ ...body, number: '1' })).not.toEqual([]);
    expect(check({ ...body, merged_by: { login: 'pat' } })).not.toEqual([]);
  });
});
