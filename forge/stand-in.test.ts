// The whole pull request story through real @octokit/rest against the stand-in, over real HTTP,
// merging for real into a bare git repository.
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Octokit } from '@octokit/rest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGitHubStandIn, type GitHubStandIn } from './server.ts';
import { createTestRepository, type TestRepository } from './test-repo.ts';

const OWNER = 'acme';
const REPO = 'manifests';
const repoParams = { owner: OWNER, repo: REPO };

const billing = (description: string) =>
  ['apiVersion: mergekey/v1', 'kind: Application', 'metadata:', '  name: billing', 'spec:', `  description: ${description}`, ''].join('\n');

let standIn: GitHubStandIn;
let repo: TestRepository;
let clock = Date.parse('2025-03-01T10:00:00Z');
// Octokit logs every failed request; these tests expect failures and assert on them instead.
const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const as = (token: string) => new Octokit({ auth: token, baseUrl: standIn.url, log: quiet });
let alice: Octokit;
let pat: Octokit;
let rob: Octokit;

beforeAll(async () => {
  repo = await createTestRepository({ 'mergekey.yaml': 'kind: Settings\n', 'README.md': 'Manifests\n' });
  standIn = await startGitHubStandIn({
    now: () => clock,
    users: [
      { login: 'alice', token: 'tok-alice', name: 'Alice Developer' },
      { login: 'pat', token: 'tok-pat', name: 'Pat Publisher', email: 'pat@example.com' },
      { login: 'rob', token: 'tok-rob' },
    ],
    repositories: [
      { owner: OWNER, name: REPO, bareDir: repo.bareDir, permissions: { alice: 'write', pat: 'maintain', rob: 'read' }, requiredApprovingReviews: 1 },
    ],
  });
  alice = as('tok-alice');
  pat = as('tok-pat');
  rob = as('tok-rob');
});

afterAll(async () => {
  await standIn?.close();
  await repo?.cleanup();
});

describe('a create request, approved and merged', () => {
  let number: number;
  let headSha: string;

  it('opens a pull request from a pushed branch', async () => {
    headSha = await repo.pushBranch('mergekey/create-billing-a1b2c3', { 'apps/billing.yaml': billing('Bills customers') }, 'Request billing');
    const { status, data, headers } = await alice.rest.pulls.create({ ...repoParams, head: 'mergekey/create-billing-a1b2c3', base: 'main', title: 'Create billing', body: 'Please approve.' });
    expect(status).toBe(201);
    expect(headers.location).toBe(`${standIn.url}/repos/acme/manifests/pulls/${data.number}`);
    expect(data).toMatchObject({ state: 'open', merged: false, title: 'Create billing', user: { login: 'alice' }, head: { ref: 'mergekey/create-billing-a1b2c3', sha: headSha }, base: { ref: 'main' } });
    expect(data).toMatchObject({ mergeable: true, mergeable_state: 'blocked', changed_files: 1, additions: 6, deletions: 0, commits: 1 });
    number = data.number;
  });

  it('refuses a second pull request for the same branch, and one with no commits', async () => {
    await expect(alice.rest.pulls.create({ ...repoParams, head: 'mergekey/create-billing-a1b2c3', base: 'main', title: 'again' })).rejects.toMatchObject({
      status: 422,
      response: { data: { message: 'Validation Failed', errors: [{ code: 'custom', message: 'A pull request already exists for acme:mergekey/create-billing-a1b2c3.' }] } },
    });
    await expect(alice.rest.pulls.create({ ...repoParams, head: 'main', base: 'main', title: 'nothing' })).rejects.toMatchObject({
      status: 422,
      response: { data: { errors: [{ message: 'No commits between main and main' }] } },
    });
    await expect(alice.rest.pulls.create({ ...repoParams, head: 'nope', base: 'main', title: 'x' })).rejects.toMatchObject({
      status: 422,
      response: { data: { errors: [{ resource: 'PullRequest', field: 'head', code: 'invalid' }] } },
    });
  });

  it('labels, lists files, and keeps a comment that can be edited', async () => {
    const labels = await alice.rest.issues.addLabels({ ...repoParams, issue_number: number, labels: ['mergekey:create'] });
    expect(labels.data.map((l) => l.name)).toEqual(['mergekey:create']);
    const again = await alice.rest.issues.addLabels({ ...repoParams, issue_number: number, labels: ['MERGEKEY:create', 'extra'] });
    expect(again.data.map((l) => l.name)).toEqual(['mergekey:create', 'extra']);
    await expect(alice.rest.issues.addLabels({ ...repoParams, issue_number: number, labels: ['x'.repeat(51)] })).rejects.toMatchObject({ status: 422 });

    const files = await alice.rest.pulls.listFiles({ ...repoParams, pull_number: number });
    expect(files.data).toEqual([expect.objectContaining({ filename: 'apps/billing.yaml', status: 'added', additions: 6, deletions: 0, changes: 6 })]);

    const created = await alice.rest.issues.createComment({ ...repoParams, issue_number: number, body: '<!-- mergekey:check -->\nfirst' });
    expect(created.status).toBe(201);
    const updated = await alice.rest.issues.updateComment({ ...repoParams, comment_id: created.data.id, body: '<!-- mergekey:check -->\nsecond' });
    expect(updated.data.body).toBe('<!-- mergekey:check -->\nsecond');
    await expect(rob.rest.issues.updateComment({ ...repoParams, comment_id: created.data.id, body: 'vandal' })).rejects.toMatchObject({ status: 403 });
    const comments = await pat.rest.issues.listComments({ ...repoParams, issue_number: number });
    expect(comments.data.map((c) => [c.user?.login, c.body])).toEqual([['alice', '<!-- mergekey:check -->\nsecond']]);
  });

  it('refuses to let the author approve their own request, and to merge without an approval', async () => {
    await expect(alice.rest.pulls.createReview({ ...repoParams, pull_number: number, event: 'APPROVE' })).rejects.toMatchObject({
      status: 422,
      response: { data: { errors: ['Can not approve your own pull request'] } },
    });
    await expect(pat.rest.pulls.merge({ ...repoParams, pull_number: number })).rejects.toMatchObject({
      status: 405,
      response: { data: { message: 'At least 1 approving review is required by reviewers with write access.' } },
    });
  });

  it('does not count an approval from a reader', async () => {
    await rob.rest.pulls.createReview({ ...repoParams, pull_number: number, event: 'APPROVE' });
    await expect(pat.rest.pulls.merge({ ...repoParams, pull_number: number })).rejects.toMatchObject({ status: 405 });
  });

  it('merges after a publisher approves, into the bare repository’s main', async () => {
    clock += 60_000;
    const review = await pat.rest.pulls.createReview({ ...repoParams, pull_number: number, event: 'APPROVE', body: 'LGTM' });
    expect(review.data).toMatchObject({ state: 'APPROVED', commit_id: headSha, user: { login: 'pat' } });
    const reviews = await alice.rest.pulls.listReviews({ ...repoParams, pull_number: number });
    expect(reviews.data.map((r) => [r.user?.login, r.state])).toEqual([['rob', 'APPROVED'], ['pat', 'APPROVED']]);
    expect((await pat.rest.pulls.get({ ...repoParams, pull_number: number })).data.mergeable_state).toBe('clean');

    await expect(rob.rest.pulls.merge({ ...repoParams, pull_number: number })).rejects.toMatchObject({ status: 403 });
    await expect(pat.rest.pulls.merge({ ...repoParams, pull_number: number, sha: 'f'.repeat(40) })).rejects.toMatchObject({
      status: 409,
      response: { data: { message: 'Head branch was modified. Review and try the merge again.' } },
    });

    const mainBefore = await repo.revParse('main');
    const merged = await pat.rest.pulls.merge({ ...repoParams, pull_number: number, sha: headSha });
    expect(merged.data).toEqual({ sha: merged.data.sha, merged: true, message: 'Pull Request successfully merged' });
    expect(await repo.revParse('main')).toBe(merged.data.sha);
    expect(await repo.show('main', 'apps/billing.yaml')).toBe(billing('Bills customers'));
    expect(await repo.log(merged.data.sha, '%P')).toBe(`${mainBefore} ${headSha}`);
    expect(await repo.log(merged.data.sha, '%an <%ae>|%cn|%s')).toBe('Pat Publisher <pat@example.com>|GitHub|Merge pull request #1 from acme/mergekey/create-billing-a1b2c3');

    const pull = (await alice.rest.pulls.get({ ...repoParams, pull_number: number })).data;
    expect(pull).toMatchObject({ state: 'closed', merged: true, merged_by: { login: 'pat' }, merge_commit_sha: merged.data.sha, merged_at: '2025-03-01T10:01:00Z' });
    const issue = (await alice.rest.issues.get({ ...repoParams, issue_number: number })).data;
    expect(issue).toMatchObject({ state: 'closed', closed_by: { login: 'pat' }, pull_request: { merged_at: '2025-03-01T10:01:00Z' } });
    await expect(pat.rest.pulls.merge({ ...repoParams, pull_number: number })).rejects.toMatchObject({ status: 405, response: { data: { message: 'Pull Request is not mergeable' } } });

    const forCommit = await pat.rest.repos.listPullRequestsAssociatedWithCommit({ ...repoParams, commit_sha: merged.data.sha });
    expect(forCommit.data.map((p) => p.number)).toEqual([number]);
  });

  it('keeps commit statuses on the merge commit', async () => {
    const sha = await repo.revParse('main');
    const created = await pat.rest.repos.createCommitStatus({ ...repoParams, sha, state: 'success', context: 'mergekey/live', description: 'live: client id billing-01' });
    expect(created.status).toBe(201);
    await pat.rest.repos.createCommitStatus({ ...repoParams, sha, state: 'pending', context: 'other' });
    const listed = await alice.rest.repos.listCommitStatusesForRef({ ...repoParams, ref: 'main' });
    expect(listed.data.map((s) => s.context)).toEqual(['other', 'mergekey/live']);
    const combined = await alice.rest.repos.getCombinedStatusForRef({ ...repoParams, ref: sha });
    expect(combined.data).toMatchObject({ state: 'pending', total_count: 2, sha });
    await expect(rob.rest.repos.createCommitStatus({ ...repoParams, sha, state: 'success' })).rejects.toMatchObject({ status: 403 });
    await expect(pat.rest.repos.createCommitStatus({ ...repoParams, sha: '0'.repeat(40), state: 'success' })).rejects.toMatchObject({ status: 422 });
  });
});

describe('requests closed unmerged, conflicts and squash merges', () => {
  it('records who closed a pull request: its author (cancelled) or someone else (rejected)', async () => {
    await repo.pushBranch('mergekey/edit-billing-000001', { 'apps/billing.yaml': billing('v2') });
    const cancelled = (await alice.rest.pulls.create({ ...repoParams, head: 'mergekey/edit-billing-000001', base: 'main', title: 'Edit billing' })).data;
    const closed = await alice.rest.pulls.update({ ...repoParams, pull_number: cancelled.number, state: 'closed' });
    expect(closed.data).toMatchObject({ state: 'closed', merged: false, merged_at: null });
    expect((await pat.rest.issues.get({ ...repoParams, issue_number: cancelled.number })).data.closed_by?.login).toBe('alice');

    await repo.pushBranch('mergekey/edit-billing-000002', { 'apps/billing.yaml': billing('v3') });
    const rejected = (await alice.rest.pulls.create({ ...repoParams, head: 'mergekey/edit-billing-000002', base: 'main', title: 'Edit billing again' })).data;
    await expect(rob.rest.pulls.update({ ...repoParams, pull_number: rejected.number, state: 'closed' })).rejects.toMatchObject({ status: 403 });
    await pat.rest.pulls.update({ ...repoParams, pull_number: rejected.number, state: 'closed' });
    expect((await alice.rest.issues.get({ ...repoParams, issue_number: rejected.number })).data.closed_by?.login).toBe('pat');
    expect(await repo.show('main', 'apps/billing.yaml')).toBe(billing('Bills customers'));

    const reopened = await alice.rest.pulls.update({ ...repoParams, pull_number: rejected.number, state: 'open' });
    expect(reopened.data.state).toBe('open');
    expect((await alice.rest.issues.get({ ...repoParams, issue_number: rejected.number })).data.closed_by).toBeNull();
    await alice.rest.pulls.update({ ...repoParams, pull_number: rejected.number, state: 'closed' });
  });

  it('answers 405 "not mergeable" for a conflict, and leaves main alone', async () => {
    await repo.pushBranch('conflict-a', { 'README.md': 'Version A\n' });
    await repo.pushBranch('conflict-b', { 'README.md': 'Version B\n' });
    const a = (await alice.rest.pulls.create({ ...repoParams, head: 'conflict-a', base: 'main', title: 'A' })).data;
    const b = (await alice.rest.pulls.create({ ...repoParams, head: 'conflict-b', base: 'main', title: 'B' })).data;
    for (const pull of [a, b]) await pat.rest.pulls.createReview({ ...repoParams, pull_number: pull.number, event: 'APPROVE' });
    await pat.rest.pulls.merge({ ...repoParams, pull_number: a.number });
    const main = await repo.revParse('main');
    expect((await pat.rest.pulls.get({ ...repoParams, pull_number: b.number })).data).toMatchObject({ mergeable: false, mergeable_state: 'dirty' });
    await expect(pat.rest.pulls.merge({ ...repoParams, pull_number: b.number })).rejects.toMatchObject({
      status: 405,
      response: { data: { message: 'Pull Request is not mergeable' } },
    });
    expect(await repo.revParse('main')).toBe(main);
    await pat.rest.pulls.update({ ...repoParams, pull_number: b.number, state: 'closed' });
  });

  it('squash-merges into one commit authored by the requester, and refuses rebase', async () => {
    await repo.pushBranch('mergekey/create-ledger-abcdef', { 'apps/ledger.yaml': 'ledger\n' });
    const pull = (await alice.rest.pulls.create({ ...repoParams, head: 'mergekey/create-ledger-abcdef', base: 'main', title: 'Create ledger' })).data;
    await pat.rest.pulls.createReview({ ...repoParams, pull_number: pull.number, event: 'APPROVE' });
    await expect(pat.rest.pulls.merge({ ...repoParams, pull_number: pull.number, merge_method: 'rebase' })).rejects.toMatchObject({
      status: 405,
      response: { data: { message: 'Rebase merges are not allowed on this repository.' } },
    });
    const before = await repo.revParse('main');
    const merged = await pat.rest.pulls.merge({ ...repoParams, pull_number: pull.number, merge_method: 'squash' });
    expect(await repo.log(merged.data.sha, '%P|%an|%s')).toBe(`${before}|Alice Developer|Create ledger (#${pull.number})`);
    expect(await repo.show('main', 'apps/ledger.yaml')).toBe('ledger\n');
  });

  it('follows a branch pushed after the pull request opened', async () => {
    await repo.pushBranch('mergekey/edit-ledger-123456', { 'apps/ledger.yaml': 'ledger v2\n' });
    const pull = (await alice.rest.pulls.create({ ...repoParams, head: 'mergekey/edit-ledger-123456', base: 'main', title: 'Edit ledger' })).data;
    const newHead = await repo.pushBranch('mergekey/edit-ledger-123456', { 'apps/ledger.yaml': 'ledger v3\n' }, 'second', 'mergekey/edit-ledger-123456');
    expect((await alice.rest.pulls.get({ ...repoParams, pull_number: pull.number })).data).toMatchObject({ head: { sha: newHead }, commits: 2 });
  });
});

describe('listing, users, authentication and rate limits', () => {
  it('filters and paginates pull requests with Link headers that Octokit follows', async () => {
    const all = await alice.paginate(alice.rest.pulls.list, { ...repoParams, state: 'all', per_page: 2 });
    expect(all.map((p) => p.number)).toEqual([...Array(all.length).keys()].map((i) => all.length - i));
    expect(all.length).toBeGreaterThanOrEqual(7);
    const first = await alice.rest.pulls.list({ ...repoParams, state: 'all', per_page: 2 });
    expect(first.headers.link).toContain('rel="next"');
    const open = await alice.rest.pulls.list({ ...repoParams });
    expect(open.data.every((p) => p.state === 'open')).toBe(true);
    const oldestFirst = await alice.rest.pulls.list({ ...repoParams, state: 'closed', sort: 'created', direction: 'asc' });
    expect(oldestFirst.data[0]?.number).toBe(1);
    const byHead = await alice.rest.pulls.list({ ...repoParams, state: 'all', head: 'acme:mergekey/create-billing-a1b2c3' });
    expect(byHead.data.map((p) => p.number)).toEqual([1]);
  });

  it('answers who the token belongs to, and other users', async () => {
    expect((await alice.rest.users.getAuthenticated()).data).toMatchObject({ login: 'alice', name: 'Alice Developer', type: 'User' });
    expect((await alice.rest.users.getByUsername({ username: 'pat' })).data).toMatchObject({ login: 'pat', email: 'pat@example.com' });
    await expect(alice.rest.users.getByUsername({ username: 'nobody' })).rejects.toMatchObject({ status: 404 });
    const repository = (await rob.rest.repos.get(repoParams)).data;
    expect(repository).toMatchObject({ full_name: 'acme/manifests', default_branch: 'main', permissions: { pull: true, push: false, admin: false } });
    expect((await pat.rest.repos.get(repoParams)).data.permissions).toMatchObject({ push: true, maintain: true, admin: false });
  });

  it('answers 401 with GitHub’s body for a missing or unknown token, and hides repositories from strangers', async () => {
    await expect(as('tok-wrong').rest.users.getAuthenticated()).rejects.toMatchObject({
      status: 401,
      response: { data: { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' } },
    });
    await expect(new Octokit({ baseUrl: standIn.url, log: quiet }).rest.pulls.list(repoParams)).rejects.toMatchObject({
      status: 401,
      response: { data: { message: 'Requires authentication' } },
    });
    const stranger = await startGitHubStandIn({ users: [{ login: 'eve', token: 'tok-eve' }], repositories: [{ owner: OWNER, name: REPO, bareDir: repo.bareDir }] });
    try {
      await expect(new Octokit({ auth: 'tok-eve', baseUrl: stranger.url, log: quiet }).rest.repos.get(repoParams)).rejects.toMatchObject({ status: 404 });
    } finally {
      await stranger.close();
    }
  });

  it('refuses injected rate-limited requests with GitHub’s headers, then serves again', async () => {
    standIn.injectRateLimit({ status: 403, kind: 'primary', resetInSeconds: 30 });
    const error = await alice.rest.users.getAuthenticated().catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 403, response: { headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(Math.floor(clock / 1000) + 30) } } });
    standIn.injectRateLimit({ status: 429, kind: 'secondary', retryAfterSeconds: 5 });
    await expect(alice.rest.users.getAuthenticated()).rejects.toMatchObject({ status: 429, response: { headers: { 'retry-after': '5' } } });
    const ok = await alice.rest.users.getAuthenticated();
    expect(Number(ok.headers['x-ratelimit-remaining'])).toBeGreaterThan(0);
    const overview = (await alice.rest.rateLimit.get()).data;
    expect(overview.resources.core.limit).toBe(5000);
    expect(overview.rate.used).toBe(5000 - Number(ok.headers['x-ratelimit-remaining']));
  });
});

// The page at a pull request's html_url, for the quickstart's links (routes/web.ts).
describe('the web page of a pull request', () => {
  it('shows the request, its comments and its diff to a browser without a token, and says it is not GitHub', async () => {
    await repo.pushBranch('mergekey/create-notes-0001', { 'apps/notes.yaml': billing('Takes <notes>') }, 'Request notes');
    const { data: pull } = await alice.rest.pulls.create({ ...repoParams, head: 'mergekey/create-notes-0001', base: 'main', title: 'Create notes', body: 'For the <b>team</b>.' });
    const { data: comment } = await pat.rest.issues.createComment({ ...repoParams, issue_number: pull.number, body: 'Not this quarter.' });
    expect(pull.html_url).toBe(`${standIn.url}/web/acme/manifests/pull/${pull.number}`);
    const response = await fetch(pull.html_url);
    expect([response.status, response.headers.get('content-type')]).toEqual([200, 'text/html; charset=utf-8']);
    const html = await response.text();
    expect(html).toContain("<p class=\"note\">Mergekey's local forge, for trying Mergekey and for tests: not GitHub. This page is read-only.</p>");
    expect(html).toContain(`<h1>Create notes <small>#${pull.number}</small></h1>`);
    expect(html).toContain('<pre>For the &#60;b&#62;team&#60;/b&#62;.</pre>');
    expect(html).toContain(`<p id="issuecomment-${comment.id}"><strong>pat</strong> commented at ${comment.created_at}</p><pre>Not this quarter.</pre>`);
    expect(html).toContain('+  description: Takes &#60;notes&#62;');
    const missing = await fetch(`${standIn.url}/web/acme/manifests/pull/999`);
    expect([missing.status, await missing.text()]).toEqual([404, expect.stringContaining('<p>No pull request acme/manifests#999 on this forge.</p>')]);
    // The API still asks for a token, whatever the path says.
    expect((await fetch(`${standIn.url}/repos/acme/manifests/pulls/${pull.number}`)).status).toBe(401);
    // Sent as written (a URL would resolve the dots first): only the page's own route goes without a token.
    const { hostname, port } = new URL(standIn.url);
    for (const path of [`/web/../repos/acme/manifests/pulls/${pull.number}`, `/web/%2E%2E/repos/acme/manifests/pulls/${pull.number}`]) {
      const status = await new Promise<number | undefined>((resolve, reject) =>
        request({ hostname, port, path }, (response) => resolve(response.resume().statusCode)).on('error', reject).end(),
      );
      expect([path, status]).toEqual([path, 401]);
    }
  });
});

describe('branch protection restricting who may push to main', () => {
  const refused = {
    status: 405,
    response: {
      data: {
        message: "You're not authorized to push to this branch. Visit https://docs.github.com/articles/about-protected-branches/ for more information.",
        documentation_url: 'https://docs.github.com/rest/pulls/pulls#merge-a-pull-request',
      },
    },
  };

  it('refuses a writer not in restrictions.users the merge (a push to main), and merges for those listed and for admins', async () => {
    const protectedRepo = await createTestRepository({ 'mergekey.yaml': 'kind: Settings\n' });
    const forge = await startGitHubStandIn({
      users: [
        { login: 'alice', token: 'tok-alice' },
        { login: 'pat', token: 'tok-pat' },
        { login: 'root', token: 'tok-root' },
        { login: 'Bot', token: 'tok-bot' },
      ],
      repositories: [
        {
          owner: OWNER,
          name: REPO,
          bareDir: protectedRepo.bareDir,
          permissions: { alice: 'write', pat: 'maintain', root: 'admin', bot: 'write' },
          branchProtection: { main: { restrictions: { users: ['pat', 'bot'], teams: [] } } },
        },
      ],
    });
    try {
      const on = (token: string) => new Octokit({ auth: token, baseUrl: forge.url, log: quiet });
      const open = async (branch: string) => {
        await protectedRepo.pushBranch(branch, { [`apps/${branch.split('/')[1]}.yaml`]: billing(branch) }, `Request ${branch}`);
        return (await on('tok-alice').rest.pulls.create({ ...repoParams, head: branch, base: 'main', title: branch })).data.number;
      };
      const mine = await open('mergekey/create-mine-0001');
      const before = await protectedRepo.revParse('main');
      await expect(on('tok-alice').rest.pulls.merge({ ...repoParams, pull_number: mine })).rejects.toMatchObject(refused);
      expect(await protectedRepo.revParse('main')).toBe(before);
      expect((await on('tok-alice').rest.pulls.get({ ...repoParams, pull_number: mine })).data).toMatchObject({ state: 'open', merged: false });

      // Listed (logins match case-insensitively), or an admin: the merge goes through.
      expect((await on('tok-pat').rest.pulls.merge({ ...repoParams, pull_number: mine })).data.merged).toBe(true);
      const second = await open('mergekey/create-second-0001');
      expect((await on('tok-bot').rest.pulls.merge({ ...repoParams, pull_number: second })).data.merged).toBe(true);
      const third = await open('mergekey/create-third-0001');
      expect((await on('tok-root').rest.pulls.merge({ ...repoParams, pull_number: third })).data.merged).toBe(true);

      // Only main is protected: a pull request into another branch merges for any writer.
      await protectedRepo.pushBranch('staging', { 'STAGING.md': 'staging\n' }, 'Open staging');
      await protectedRepo.pushBranch('mergekey/create-staged-0001', { 'apps/staged.yaml': billing('staged') }, 'Request staged');
      const staged = (await on('tok-alice').rest.pulls.create({ ...repoParams, head: 'mergekey/create-staged-0001', base: 'staging', title: 'staged' })).data.number;
      expect((await on('tok-alice').rest.pulls.merge({ ...repoParams, pull_number: staged })).data.merged).toBe(true);
    } finally {
      await forge.close();
      await protectedRepo.cleanup();
    }
  });

  it('refuses to start with restrictions by team or app, which it cannot keep', async () => {
    await expect(
      startGitHubStandIn({
        users: [],
        repositories: [{ owner: OWNER, name: REPO, bareDir: repo.bareDir, branchProtection: { main: { restrictions: { users: [], teams: ['publishers'] } } } }],
      }),
    ).rejects.toThrow('acme/manifests: the forge restricts pushes to main by user only; it has no teams or apps');
  });
});

describe('a forge that keeps no record of requests', () => {
  it('answers as usual and records nothing, for the quickstart, which runs for days', async () => {
    const quiet = await startGitHubStandIn({ users: [{ login: 'alice', token: 'tok-alice' }], repositories: [{ owner: OWNER, name: REPO, bareDir: repo.bareDir, permissions: { alice: 'write' } }], recordRequests: false });
    try {
      const response = await fetch(`${quiet.url}/repos/${OWNER}/${REPO}`, { headers: { authorization: 'token tok-alice' } });
      expect([response.status, ((await response.json()) as { full_name: string }).full_name]).toEqual([200, 'acme/manifests']);
      expect(quiet.requests).toEqual([]);
    } finally {
      await quiet.close();
    }
  });
});

describe('a forge that keeps its state in a file', () => {
  it('starts again with the pull requests, labels and comments it had, and numbers on after them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mergekey-forge-state-'));
    try {
      const stateFile = join(dir, 'forge-state.json');
      const options = {
        users: [{ login: 'alice', token: 'tok-alice' }, { login: 'pat', token: 'tok-pat' }],
        repositories: [{ owner: OWNER, name: REPO, bareDir: repo.bareDir, permissions: { alice: 'write' as const, pat: 'maintain' as const } }],
        stateFile,
      };
      const first = await startGitHubStandIn(options);
      const on = (forge: GitHubStandIn, token: string) => new Octokit({ auth: token, baseUrl: forge.url, log: quiet });
      await repo.pushBranch('mergekey/create-kept-0001', { 'apps/kept.yaml': billing('Kept across runs') }, 'Request kept');
      const { data: pull } = await on(first, 'tok-alice').rest.pulls.create({ ...repoParams, head: 'mergekey/create-kept-0001', base: 'main', title: 'Create kept' });
      await on(first, 'tok-alice').rest.issues.addLabels({ ...repoParams, issue_number: pull.number, labels: ['mergekey:create'] });
      await on(first, 'tok-pat').rest.issues.createComment({ ...repoParams, issue_number: pull.number, body: 'Looking at it.' });
      await first.close();
      expect((await stat(stateFile)).mode & 0o777).toBe(0o600);

      const second = await startGitHubStandIn(options);
      try {
        const { data: again } = await on(second, 'tok-pat').rest.pulls.get({ ...repoParams, pull_number: pull.number });
        expect(again).toMatchObject({ number: pull.number, id: pull.id, title: 'Create kept', state: 'open', user: { login: 'alice' }, labels: [{ name: 'mergekey:create' }] });
        const { data: comments } = await on(second, 'tok-pat').rest.issues.listComments({ ...repoParams, issue_number: pull.number });
        expect(comments.map((comment) => [comment.user?.login, comment.body])).toEqual([['pat', 'Looking at it.']]);
        await repo.pushBranch('mergekey/create-later-0001', { 'apps/later.yaml': billing('Asked later') }, 'Request later');
        const { data: later } = await on(second, 'tok-alice').rest.pulls.create({ ...repoParams, head: 'mergekey/create-later-0001', base: 'main', title: 'Create later' });
        expect(later.number).toBe(pull.number + 1);
        expect(later.id).toBeGreaterThan(pull.id);
      } finally {
        await second.close();
      }
      // A damaged file stops the start, saying which file and what to do.
      await writeFile(stateFile, '{"version":1,');
      await expect(startGitHubStandIn(options)).rejects.toThrow(
        new RegExp(`^the forge's state file ${stateFile} cannot be read \\(.+\\): move it away to start without its requests$`),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
