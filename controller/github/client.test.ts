// The GitHub client against the stand-in over real HTTP: the request workflow, requests read back
// into the lifecycle's statuses, every error code, and waiting out GitHub's rate limit once.
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { deriveStatuses } from '../requests/status.ts';
import { REQUEST_LABELS, requestBranchName, requestMarker } from '../requests/requests.ts';
import { listRequests } from '../requests/state.ts';
import { createGitHubClient, fromGitHubFiles, type ClientOptions, type RequestsBackend } from './client.ts';
import type { GitHubConfig } from './config.ts';
import { GitHubError, type GitHubErrorCode } from './errors.ts';
import { startGitHubStandIn, type GitHubStandIn } from '../../forge/server.ts';
import { createTestRepository, type TestRepository } from '../../forge/test-repo.ts';

let standIn: GitHubStandIn;
let repo: TestRepository;
let clock = Date.parse('2025-03-01T10:00:00Z');
let sleeps: number[] = [];
const waits: number[] = [];

const client = (token: string, options: ClientOptions = {}, baseUrl = standIn.url): RequestsBackend => {
  const config: GitHubConfig = { baseUrl, host: '127.0.0.1', owner: 'acme', repo: 'manifests', token };
  return createGitHubClient(config, {
    now: () => clock,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock += ms;
    },
    onRateLimit: (event) => waits.push(event.waitMs),
    ...options,
  });
};
let alice: RequestsBackend;
let pat: RequestsBackend;
let rob: RequestsBackend;

async function failure(promise: Promise<unknown>, code: GitHubErrorCode): Promise<GitHubError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(GitHubError);
  expect((error as GitHubError).code, (error as Error).message).toBe(code);
  return error as GitHubError;
}

const app = (name: string, description: string) => `apiVersion: mergekey/v1\nkind: Application\nmetadata:\n  name: ${name}\nspec:\n  description: ${description}\n`;

/** What the CLI's create does: push a branch, open a labelled pull request. */
async function request(backend: RequestsBackend, kind: 'create' | 'edit', name: string, id: string, content: string) {
  const branch = requestBranchName(kind, name, id);
  await repo.pushBranch(branch, { [`apps/${name}.yaml`]: content });
  return backend.openPullRequest({ head: branch, base: 'main', title: `${kind} ${name}`, body: `Please.\n\n${requestMarker(kind, name)}`, labels: [REQUEST_LABELS[kind]] });
}

beforeAll(async () => {
  repo = await createTestRepository({ 'mergekey.yaml': 'kind: Settings\n' });
  standIn = await startGitHubStandIn({
    now: () => clock,
    users: [
      { login: 'alice', token: 'tok-alice' },
      { login: 'pat', token: 'tok-pat' },
      { login: 'rob', token: 'tok-rob' },
    ],
    repositories: [{ owner: 'acme', name: 'manifests', bareDir: repo.bareDir, permissions: { alice: 'write', pat: 'maintain', rob: 'read' }, requiredApprovingReviews: 1 }],
  });
  alice = client('tok-alice');
  pat = client('tok-pat');
  rob = client('tok-rob');
});

afterAll(async () => {
  await standIn?.close();
  await repo?.cleanup();
});

beforeEach(() => {
  sleeps = [];
  waits.length = 0;
});

describe('the request workflow through RequestsBackend', () => {
  it('opens, comments, approves and merges a create request; the bare repository’s main has it', async () => {
    expect(await alice.whoAmI()).toEqual({ login: 'alice', name: null });
    expect(await alice.getRepository()).toMatchObject({ fullName: 'acme/manifests', defaultBranch: 'main', canPush: true, isAdmin: false });

    const opened = await request(alice, 'create', 'billing', 'a1b2c3', app('billing', 'Bills'));
    expect(opened).toMatchObject({ state: 'open', merged: false, author: 'alice', labels: ['mergekey:create'], headRef: 'mergekey/create-billing-a1b2c3', baseRef: 'main' });
    expect(await alice.listChangedFiles(opened.number)).toEqual([{ status: 'added', path: 'apps/billing.yaml' }]);

    const first = await alice.upsertComment(opened.number, 'mergekey:check', 'Plan: create billing');
    const second = await alice.upsertComment(opened.number, 'mergekey:check', 'Plan: create billing, v2');
    expect([first.created, second.created, second.id]).toEqual([true, false, first.id]);
    expect((await pat.listComments(opened.number)).map((c) => c.body)).toEqual(['<!-- mergekey:check -->\nPlan: create billing, v2']);
    // A reader cannot edit alice's comment, so it keeps its own.
    const robs = await rob.upsertComment(opened.number, 'mergekey:check', 'Plan from rob');
    expect(robs).toMatchObject({ created: true, author: 'rob' });
    expect(await rob.upsertComment(opened.number, 'mergekey:check', 'Plan from rob, v2')).toMatchObject({ created: false, id: robs.id });

    expect((await pat.approve(opened.number, 'Approved')).state).toBe('APPROVED');
    const { sha } = await pat.mergePullRequest(opened.number, { expectedHeadSha: opened.headSha });
    expect(await repo.revParse('main')).toBe(sha);
    expect(await repo.show('main', 'apps/billing.yaml')).toBe(app('billing', 'Bills'));

    expect(await alice.getPullRequest(opened.number)).toMatchObject({ state: 'closed', merged: true, mergedBy: 'pat', closedBy: 'pat', mergeCommitSha: sha });
    expect((await pat.pullRequestsForCommit(sha)).map((p) => p.number)).toEqual([opened.number]);

    // The controller's confirmation once it applied the commit.
    await pat.setCommitStatus(sha, { state: 'success', context: 'mergekey/live', description: `live: client id billing-01 ${'x'.repeat(200)}` });
    const statuses = await alice.listCommitStatuses(sha);
    expect(statuses).toEqual([expect.objectContaining({ state: 'success', context: 'mergekey/live', creator: 'pat' })]);
    expect(statuses[0]!.description).toHaveLength(140);
  });

  it('reads requests back so the lifecycle tells approved, rejected and cancelled apart', async () => {
    const cancelled = await request(alice, 'create', 'crm', '000001', app('crm', 'CRM'));
    expect((await alice.closePullRequest(cancelled.number)).closedBy).toBe('alice');
    const rejected = await request(alice, 'create', 'erp', '000002', app('erp', 'ERP'));
    await pat.comment(rejected.number, 'Rejected: use the ledger instead');
    expect((await pat.closePullRequest(rejected.number)).closedBy).toBe('pat');
    await request(alice, 'create', 'wiki', '000003', app('wiki', 'Wiki'));
    const editOfBilling = await request(alice, 'edit', 'billing', '000004', app('billing', 'Bills monthly'));
    // A pull request made in the web interface: labelled by the check, named by no branch or marker.
    await repo.pushBranch('feature/ledger', { 'apps/ledger.yaml': app('ledger', 'Ledger') });
    const web = await alice.openPullRequest({ head: 'feature/ledger', base: 'main', title: 'Add ledger', body: '' });
    await alice.addLabels(web.number, [REQUEST_LABELS.create]);
    // Not a request at all.
    await repo.pushBranch('docs', { 'README.md': 'hello\n' });
    await alice.openPullRequest({ head: 'docs', base: 'main', title: 'Docs', body: '' });

    const summaries = await listRequests(alice, { withMergers: true });
    expect(summaries.map((s) => [s.app, s.kind, s.state])).toEqual([
      ['ledger', 'create', 'open'],
      ['billing', 'edit', 'open'],
      ['wiki', 'create', 'open'],
      ['erp', 'create', 'closed'],
      ['crm', 'create', 'closed'],
      ['billing', 'create', 'merged'],
    ]);
    expect(summaries.find((s) => s.state === 'merged')).toMatchObject({ mergedBy: 'pat' });

    const billingOnMain = { apiVersion: 'mergekey/v1', kind: 'Application', metadata: { name: 'billing' } } as const;
    const views = deriveStatuses([{ ...billingOnMain, spec: { description: 'Bills', owners: ['alice'], clientId: 'billing-01', state: 'active', scopes: ['open'], grantTypes: ['client_credentials'], tokenEndpointAuthMethod: 'client_secret_basic', credentials: {} } }], summaries);
    expect(views.map((v) => [v.app, v.status, v.counts])).toEqual([
      ['billing', 'active', { approved: 1, rejected: 0, cancelled: 0 }],
      ['crm', 'cancelled', { approved: 0, rejected: 0, cancelled: 1 }],
      ['erp', 'rejected', { approved: 0, rejected: 1, cancelled: 0 }],
      ['ledger', 'awaiting', { approved: 0, rejected: 0, cancelled: 0 }],
      ['wiki', 'awaiting', { approved: 0, rejected: 0, cancelled: 0 }],
    ]);
    expect(views[0]!.openRequest?.number).toBe(editOfBilling.number);
  });
});

describe('errors are GitHubErrors with stable codes and clear messages', () => {
  it('maps each GitHub refusal to its code', async () => {
    const opened = await request(alice, 'edit', 'billing', '0000aa', app('billing', 'v9'));
    expect((await failure(client('tok-wrong').whoAmI(), 'BAD_CREDENTIALS')).hint).toBe('check GITHUB_TOKEN, or run `gh auth login` again');
    const denied = await failure(rob.mergePullRequest(opened.number), 'NO_PERMISSION');
    expect(denied.message).toBe('no permission for merging pull request #' + opened.number + ' in acme/manifests: Must have push access to merge pull requests.');
    expect(denied.status).toBe(403);
    await failure(alice.getPullRequest(9999), 'NOT_FOUND');
    const blocked = await failure(pat.mergePullRequest(opened.number), 'NOT_MERGEABLE');
    expect(blocked.message).toContain('At least 1 approving review is required');
    await pat.approve(opened.number);
    await failure(pat.mergePullRequest(opened.number, { expectedHeadSha: 'f'.repeat(40) }), 'HEAD_MODIFIED');
    const own = await failure(alice.approve(opened.number), 'INVALID_REQUEST');
    expect(own.message).toBe(`GitHub refused approving pull request #${opened.number}: Unprocessable Entity: Can not approve your own pull request`);
    await alice.closePullRequest(opened.number);
    // A 403 that is not a rate limit is not retried.
    expect(standIn.requests.filter((r) => r.method === 'PUT' && r.login === 'rob')).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('reports an unreachable GitHub, and one that does not answer in time, as NETWORK', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const unreachable = await failure(client('tok-alice', {}, `http://127.0.0.1:${port}`).whoAmI(), 'NETWORK');
    expect(unreachable.message).toContain(`cannot reach GitHub at http://127.0.0.1:${port} while finding who the token belongs to`);

    // Accepts connections and never answers.
    const sockets: import('node:net').Socket[] = [];
    const silent: Server = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
      const slow = await failure(client('tok-alice', { timeoutMs: 100 }, url).whoAmI(), 'NETWORK');
      expect(slow.message).toContain('no answer in time');
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});

describe('rate limits: wait until GitHub says, retry once, then say so', () => {
  const attempts = (path: string) => standIn.requests.filter((r) => r.url === path).slice(-3).map((r) => r.status);

  it('waits for a primary limit to reset (x-ratelimit-reset) and retries once', async () => {
    clock = Math.floor(clock / 1000) * 1000;
    standIn.injectRateLimit({ status: 403, kind: 'primary', resetInSeconds: 30 });
    expect((await alice.whoAmI()).login).toBe('alice');
    expect(sleeps).toEqual([31_000]);
    expect(waits).toEqual([31_000]);
    expect(attempts('/user').slice(-2)).toEqual([403, 200]);
  });

  it('honours retry-after on a secondary limit (429)', async () => {
    standIn.injectRateLimit({ status: 429, kind: 'secondary', retryAfterSeconds: 5 });
    expect((await pat.getRepository()).defaultBranch).toBe('main');
    expect(sleeps).toEqual([5_000]);
  });

  it('gives up with RATE_LIMITED when the retry is limited too', async () => {
    standIn.injectRateLimit({ status: 403, kind: 'primary', resetInSeconds: 10, times: 2 });
    const error = await failure(alice.whoAmI(), 'RATE_LIMITED');
    expect(sleeps).toHaveLength(1);
    expect(error.message).toBe("GitHub's rate limit was still exhausted after waiting 11 s and retrying once (GET /user)");
    expect(error.retryAt).toBeGreaterThan(clock);
    expect(attempts('/user').slice(-2)).toEqual([403, 403]);
  });

  it('does not wait longer than the cap: says when to come back instead', async () => {
    standIn.injectRateLimit({ status: 403, kind: 'primary', resetInSeconds: 3600 });
    const error = await failure(alice.whoAmI(), 'RATE_LIMITED');
    expect(sleeps).toEqual([]);
    expect(error.message).toMatch(/resets at .* in 3601 s: longer than the 60 s this waits$/);
    expect(error.hint).toBe(`try again after ${new Date(error.retryAt!).toISOString()}`);
  });
});

describe('changed paths from GitHub', () => {
  it('converts GitHub’s pull request files', () => {
    expect(
      fromGitHubFiles([
        { filename: 'apps/a.yaml', status: 'added' },
        { filename: 'apps/b.yaml', status: 'removed' },
        { filename: 'apps/c2.yaml', status: 'renamed', previous_filename: 'apps/c.yaml' },
        { filename: 'apps/d.yaml', status: 'changed' },
      ]),
    ).toEqual([
      { status: 'added', path: 'apps/a.yaml' },
      { status: 'deleted', path: 'apps/b.yaml' },
      { status: 'renamed', path: 'apps/c2.yaml', previousPath: 'apps/c.yaml' },
      { status: 'modified', path: 'apps/d.yaml' },
    ]);
  });
});
