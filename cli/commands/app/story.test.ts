// The brief's whole story, end to end: developers request through `mergekey app …`, the repo's
// check judges each pull request as the workflow would, publishers decide with `mergekey review …`,
// and `mergekey app list/show` report statuses and counts exactly as SPEC.md maps them.
// Real git (pushes, merges into the bare repository), real HTTP to the GitHub stand-in.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cancel } from './cancel.ts';
import { create } from './create.ts';
import { deactivate } from './deactivate.ts';
import { edit } from './edit.ts';
import { formatList, list } from './list.ts';
import { reactivate } from './reactivate.ts';
import { formatShow, show } from './show.ts';
import { check } from '../check.ts';
import { approve } from '../review/approve.ts';
import { reject } from '../review/reject.ts';
import { reviewList } from '../review/list.ts';
import { createWorld, type World } from '../../../test/support/requests-world.ts';

let world: World;
let checkoutBefore: Awaited<ReturnType<World['checkout']>>;

beforeAll(async () => {
  world = await createWorld();
  checkoutBefore = await world.checkout();
});
afterAll(async () => world?.close());

/** What the check workflow does on every push to a pull request. */
async function checkPullRequest(number: number, headSha: string) {
  return check({ ...world.as('pat'), base: 'refs/remotes/origin/main', head: headSha, pr: number, comment: true });
}

/** The status and, once approved, the state: two things, as `app list` prints them. */
async function statusOf(name: string) {
  const result = await list(world.as('alice'));
  const app = result.apps.find((candidate) => candidate.name === name);
  return app === undefined ? undefined : [app.status, app.state];
}

describe('a developer registers billing; a publisher approves it', () => {
  let number: number;

  it('create opens a create request: billing is awaiting approval', async () => {
    const created = await create({
      ...world.as('alice'),
      name: 'billing',
      description: 'Bills customers monthly.',
      scopes: ['invoices:read'],
      redirectUris: ['https://billing.example.com/callback'],
    });
    number = created.number;
    expect(created).toMatchObject({ kind: 'create', app: 'billing', title: 'Create application billing', labels: ['mergekey:create'] });
    expect(created.clientId).toMatch(/^mk-[0-9a-z]{26}$/);
    expect(created.clientSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const manifest = await world.repo.show(created.branch, 'apps/billing.yaml');
    expect(manifest).toContain(`clientId: ${created.clientId}`);
    expect(manifest).not.toContain(created.clientSecret!);
    // One commit on top of main, changing only the application's file.
    expect(await world.repo.log(created.branch, '%P')).toBe(await world.repo.revParse('main'));
    expect(await world.repo.log(created.branch, '%s')).toBe('Create application billing');

    const view = await show({ ...world.as('alice'), name: 'billing', reveal: true });
    expect(view).toMatchObject({ status: 'awaiting-approval', statusLabel: 'awaiting approval', overview: { source: 'request', scopes: ['invoices:read'] }, keys: { clientId: created.clientId, revealed: created.clientSecret } });
    expect(view.state).toBeUndefined();
    // The request in the shared words too: awaiting approval, not GitHub's "open".
    expect(view.requests).toEqual([expect.objectContaining({ number: created.number, kind: 'create', outcome: 'awaiting-approval', requestedBy: 'alice' })]);
    expect(formatShow(view)).toContain(`#${created.number} create, asked by alice: awaiting approval since `);
    // Nothing suggested that would be refused: Edit waits for the decision, Cancel request is possible.
    expect(view.actions).toEqual([
      { action: 'edit', label: 'Edit', reason: `Create request #${number} awaits approval` },
      { action: 'cancel-request', label: 'Cancel request', command: 'mergekey app cancel billing' },
    ]);
    expect(formatShow(view)).toContain(['Actions', `  Edit            not now: Create request #${number} awaits approval`, '  Cancel request  mergekey app cancel billing'].join('\n'));
  });

  it('the check allows it, and the publisher sees it in review list with that result', async () => {
    const pull = await world.github('pat').getPullRequest(number);
    const result = await checkPullRequest(number, pull.headSha);
    expect(result).toMatchObject({ allowed: true, kind: 'create', app: 'billing', declared: 'create', posted: { created: true, status: 'success' } });
    expect(result.markdown).toContain('Scopes: `invoices:read`.');

    const { items } = await reviewList(world.as('pat'));
    expect(items).toEqual([expect.objectContaining({ number, kind: 'create', app: 'billing', author: 'alice', check: expect.objectContaining({ state: 'allowed' }) })]);
  });

  it('review approve merges it: billing is active, approved by pat', async () => {
    const approved = await approve({ ...world.as('pat'), number });
    expect(approved.mergeCommit).toBe(await world.repo.revParse('main'));
    expect(await statusOf('billing')).toEqual(['approved', 'active']);
    const view = await show({ ...world.as('alice'), name: 'billing' });
    expect(view).toMatchObject({ status: 'approved', statusLabel: 'approved', state: 'active' });
    expect(formatShow(view)).toMatch(/^billing: approved, active \(/);
    expect(view.actions).toEqual([
      { action: 'edit', label: 'Edit', command: 'mergekey app edit billing' },
      { action: 'deactivate', label: 'Deactivate', command: 'mergekey app deactivate billing' },
      { action: 'rotate-secret', label: 'Rotate secret', command: 'mergekey app edit billing --rotate-secret' },
    ]);
    expect(view.requests).toEqual([expect.objectContaining({ number, kind: 'create', outcome: 'approved', decidedBy: 'pat' })]);
    expect(view.keys?.revealed).toBeUndefined();
    expect(view.keys?.savedLocally).toBe(true);
  });
});

describe('billing is edited, deactivated, and reactivated twice', () => {
  it('a description-only edit is allowed as low risk and approved', async () => {
    const opened = await edit({ ...world.as('alice'), name: 'billing', description: 'Bills customers monthly, in euros.' });
    expect(opened.title).toBe('Edit application billing (description)');
    const result = await checkPullRequest(opened.number, opened.commit);
    expect(result).toMatchObject({ allowed: true, kind: 'edit', lowRisk: true });
    expect(result.markdown).toContain('**Allowed** — low risk');
    await approve({ ...world.as('pat'), number: opened.number });
    expect(await world.repo.show('main', 'apps/billing.yaml')).toContain('description: Bills customers monthly, in euros.');
  });

  it('deactivate → approved → inactive; while it is open, show suggests nothing that would be refused', async () => {
    const opened = await deactivate({ ...world.as('alice'), name: 'billing' });
    const waiting = await show({ ...world.as('alice'), name: 'billing' });
    const reason = `Deactivate request #${opened.number} awaits approval`;
    expect(waiting.actions).toEqual([
      { action: 'edit', label: 'Edit', reason },
      { action: 'deactivate', label: 'Deactivate', reason },
      { action: 'rotate-secret', label: 'Rotate secret', reason },
      { action: 'cancel-request', label: 'Cancel request', command: 'mergekey app cancel billing' },
    ]);
    const result = await checkPullRequest(opened.number, opened.commit);
    expect(result).toMatchObject({ allowed: true, kind: 'deactivate', lowRisk: false });
    expect(result.markdown).toContain('every token it holds stops working at once');
    await approve({ ...world.as('pat'), number: opened.number });
    expect(await statusOf('billing')).toEqual(['approved', 'inactive']);
    expect((await show({ ...world.as('alice'), name: 'billing' })).actions.map((action) => action.label)).toEqual(['Edit', 'Reactivate', 'Rotate secret']);
  });

  it('reactivate → rejected → stays inactive', async () => {
    const opened = await reactivate({ ...world.as('alice'), name: 'billing' });
    await checkPullRequest(opened.number, opened.commit);
    await reject({ ...world.as('pat'), number: opened.number, reason: 'Billing moves to the new platform.' });
    expect(await statusOf('billing')).toEqual(['approved', 'inactive']);
    const view = await show({ ...world.as('alice'), name: 'billing' });
    expect(view.requests[0]).toMatchObject({ kind: 'reactivate', outcome: 'rejected', decidedBy: 'pat' });
  });

  it('reactivate → approved → active', async () => {
    const opened = await reactivate({ ...world.as('alice'), name: 'billing' });
    await checkPullRequest(opened.number, opened.commit);
    await approve({ ...world.as('pat'), number: opened.number });
    expect(await statusOf('billing')).toEqual(['approved', 'active']);
  });
});

describe('a rejected create and a cancelled create', () => {
  it('are counted right, and the list filters by status, by state and by owner', async () => {
    const ledger = await create({ ...world.as('bob'), name: 'ledger', description: 'Keeps the books.' });
    await reject({ ...world.as('pat'), number: ledger.number, reason: 'Use billing instead.' });
    await create({ ...world.as('bob'), name: 'sandbox', description: 'Experiments.' });
    const cancelled = await cancel({ ...world.as('bob'), name: 'sandbox' });
    expect(cancelled.deletedBranch).toMatch(/^mergekey\/create-sandbox-/);

    const all = await list(world.as('alice'));
    expect(all.apps.map((app) => [app.name, app.status, app.state])).toEqual([
      ['billing', 'approved', 'active'],
      ['ledger', 'rejected', undefined],
      ['sandbox', 'cancelled', undefined],
    ]);
    expect(all.counts).toEqual({ 'awaiting-approval': 0, approved: 1, rejected: 1, cancelled: 1, active: 1, inactive: 0 });
    expect(formatList(all).split('\n').slice(0, 5)).toEqual([
      'Applications: 1 approved (1 active, 0 inactive), 0 awaiting approval, 1 rejected, 1 cancelled',
      'Requests: 4 approved, 2 rejected, 1 cancelled',
      '',
      'NAME     STATUS     STATE   OPEN REQUEST  APPROVED/REJECTED/CANCELLED  CLIENT ID',
      `billing  approved   active                4/1/0                        ${all.apps[0]!.clientId}`,
    ]);
    // billing: create, edit, deactivate and the second reactivate approved; one reactivate rejected.
    expect(all.requests).toEqual({ approved: 4, rejected: 2, cancelled: 1 });
    expect(all.apps.find((app) => app.name === 'billing')?.requests).toEqual({ approved: 4, rejected: 1, cancelled: 0 });

    const filtered = async (status: Parameters<typeof list>[0]['status']) => (await list({ ...world.as('alice'), status })).apps.map((app) => app.name);
    expect(await filtered('rejected')).toEqual(['ledger']);
    expect(await filtered('approved')).toEqual(['billing']);
    expect(await filtered('active')).toEqual(['billing']);
    expect(await filtered('inactive')).toEqual([]);
    expect(await filtered('awaiting-approval')).toEqual([]);
    expect((await list({ ...world.as('bob'), mine: true })).apps.map((app) => app.name)).toEqual(['ledger', 'sandbox']);
    expect((await list({ ...world.as('alice'), mine: true })).apps.map((app) => app.name)).toEqual(['billing']);
  });

  it('a cancelled name is free again', async () => {
    const again = await create({ ...world.as('alice'), name: 'sandbox', description: 'Experiments, take two.' });
    expect(again.kind).toBe('create');
    expect(await statusOf('sandbox')).toEqual(['awaiting-approval', undefined]);
  });

  it("left the developer's checkout as it was, through the whole story", async () => {
    expect(await world.checkout()).toEqual(checkoutBefore);
  });
});
