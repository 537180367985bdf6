// One vocabulary and no action offered that will be refused, over real HTTP against a real
// `mergekey serve` and the local forge: the status and the state shown apart, count cards that
// filter, the actions of each status (disabled with the reason while a request is open), routes
// refusing what the page does not offer in the same words, and one readable UTC time format.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPortalWorld, Visitor, type PortalWorld } from '../../test/support/portal.ts';

let world: PortalWorld;
let alice: Visitor;
let pat: Visitor;

beforeAll(async () => {
  world = await startPortalWorld();
  alice = new Visitor(world.url);
  await alice.signIn('alice');
  pat = new Visitor(world.url);
  await pat.signIn('pat');
});

afterAll(async () => {
  await world?.close();
});

/** The actions group of a details page, as markup. */
function actionsOf(html: string): string {
  return /<div class="actions" role="group" aria-label="Actions">([\s\S]*?)<\/div>\s*<\/div>/.exec(html)?.[1] ?? '';
}

/** The buttons and links of an actions group, in order: the word, and `disabled` or the link. */
function buttonsOf(html: string): string[] {
  return [...actionsOf(html).matchAll(/<a class="[^"]*" href="([^"]+)">([^<]+)<\/a>|<button type="button" class="button" disabled aria-describedby="([^"]+)">([^<]+)<\/button>/g)].map((m) =>
    m[1] === undefined ? `${m[4]} (disabled: ${m[3]})` : `${m[2]} → ${m[1]}`,
  );
}

describe('an application through its lifecycle', () => {
  it('awaiting approval: a status and no state; Edit disabled with its reason; Cancel request offered', async () => {
    const created = await alice.post('/portal/apps', { _csrf: await alice.csrf('/portal/apps/new'), name: 'billing', description: 'Bills customers monthly.', grantType: 'client_credentials' });
    expect(created.status).toBe(200);
    const page = await alice.get('/portal/apps/billing');
    expect(page.html).toContain('<h1>billing <span class="status status--awaiting-approval">awaiting approval</span> </h1>');
    expect(buttonsOf(page.html)).toEqual(['Edit (disabled: action-reason-0)', 'Cancel request → /portal/apps/billing/cancel']);
    expect(actionsOf(page.html)).toContain('<p class="hint" id="action-reason-0">Create request #1 awaits approval.</p>');
    const edit = await alice.get('/portal/apps/billing/edit');
    expect(edit.status).toBe(409);
    expect(edit.html).toContain('Edit is not available: Create request #1 awaits approval.');
  });

  it('approved and active: Edit, Deactivate and Rotate secret offered, no Reactivate', async () => {
    expect((await pat.approve(1)).status).toBe(303);
    await world.sync();
    const page = await alice.get('/portal/apps/billing');
    expect(page.html).toContain('<h1>billing <span class="status status--approved">approved</span> <span class="state state--active">active</span></h1>');
    expect(buttonsOf(page.html)).toEqual(['Edit → /portal/apps/billing/edit', 'Deactivate → /portal/apps/billing/deactivate']);
    expect(page.html).toContain('<a class="button" href="/portal/apps/billing/rotate">Rotate secret</a>');
    expect((await alice.get('/portal/apps/billing/reactivate')).html).toContain('Reactivate is not available: billing is already active.');
  });

  it('while a request is open: Edit, Deactivate and Rotate secret disabled, the reason said once beside them; the routes refuse', async () => {
    const asked = await alice.post('/portal/apps/billing/deactivate', { _csrf: await alice.csrf('/portal/apps/billing/deactivate') });
    expect(asked.status).toBe(303);
    const page = await alice.get('/portal/apps/billing');
    expect(buttonsOf(page.html)).toEqual(['Edit (disabled: action-reason-0)', 'Deactivate (disabled: action-reason-0)', 'Cancel request → /portal/apps/billing/cancel']);
    expect(actionsOf(page.html).split('Deactivate request #2 awaits approval.')).toHaveLength(2);
    expect(page.html).toContain('<button type="button" class="button" disabled aria-describedby="rotate-reason-0">Rotate secret</button><div class="action-reasons"><p class="hint" id="rotate-reason-0">Deactivate request #2 awaits approval.</p></div>');
    const csrf = await alice.csrf('/portal/apps');
    for (const [path, action] of [['edit', 'Edit'], ['deactivate', 'Deactivate'], ['rotate', 'Rotate secret']] as const) {
      const refused = await alice.post(`/portal/apps/billing/${path}`, { _csrf: csrf, description: 'Changed.', grantType: 'client_credentials', confirm: 'yes' });
      expect(refused.status, path).toBe(409);
      expect(refused.html, path).toContain(`${action} is not available: Deactivate request #2 awaits approval.`);
    }
    expect((await world.github.listPullRequests({ state: 'open' })).map((pull) => pull.number)).toEqual([2]);
  });

  it('approved and inactive: Reactivate instead of Deactivate; history times readable in UTC with the ISO value', async () => {
    expect((await pat.approve(2)).status).toBe(303);
    await world.sync();
    const page = await alice.get('/portal/apps/billing');
    expect(page.html).toContain('<span class="status status--approved">approved</span> <span class="state state--inactive">inactive</span>');
    expect(buttonsOf(page.html)).toEqual(['Edit → /portal/apps/billing/edit', 'Reactivate → /portal/apps/billing/reactivate']);
    const confirm = await alice.get('/portal/apps/billing/reactivate');
    expect(confirm.html).toContain('<h1 id="confirm-title">Reactivate billing?</h1>');
    const times = [...page.html.matchAll(/<time datetime="([^"]+)">([^<]+)<\/time>/g)];
    expect(times.length).toBeGreaterThanOrEqual(4);
    for (const [, iso, shown] of times) {
      expect(iso).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
      const date = new Date(iso!);
      const month = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][date.getUTCMonth()];
      expect(shown).toBe(`${date.getUTCDate()} ${month} ${date.getUTCFullYear()}, ${iso!.slice(11, 16)} UTC`);
    }
    expect(page.html).toMatch(/<span class="outcome outcome--approved">approved<\/span>/);
  });
});

describe('My Applications', () => {
  it('shows the four status counts and Inactive, each a link that filters the list', async () => {
    await alice.post('/portal/apps', { _csrf: await alice.csrf('/portal/apps/new'), name: 'ledger', description: 'Keeps the books.', grantType: 'client_credentials' });
    const list = await alice.get('/portal/apps');
    const cards = [...list.html.matchAll(/<li class="count"><a href="([^"]+)"[^>]*><span class="count-label">([^<]+)<\/span> <span class="count-value">(\d+)<\/span><\/a><\/li>/g)].map((m) => [m[2], m[3], m[1]]);
    expect(cards).toEqual([
      ['Approved', '1', '/portal/apps?status=approved'],
      ['Awaiting approval', '1', '/portal/apps?status=awaiting-approval'],
      ['Rejected', '0', '/portal/apps?status=rejected'],
      ['Cancelled', '0', '/portal/apps?status=cancelled'],
      ['Inactive', '1', '/portal/apps?status=inactive'],
    ]);
    const rows = [...list.html.matchAll(/<th scope="row" data-label="Name"><a href="\/portal\/apps\/([a-z-]+)">[\s\S]*?<td data-label="Status">([\s\S]*?)<\/td>\s*<td data-label="State">([\s\S]*?)<\/td>\s*<td data-label="Open request">([\s\S]*?)<\/td>/g)].map((m) => [m[1], m[2], m[3], m[4]]);
    expect(rows).toEqual([
      ['billing', '<span class="status status--approved">approved</span>', '<span class="state state--inactive">inactive</span>', '<span class="hint">none</span>'],
      ['ledger', '<span class="status status--awaiting-approval">awaiting approval</span>', '<span class="hint">none yet</span>', 'Create request #3'],
    ]);
  });

  it('filters by status or state, by name or in the words the page prints; an unknown word is a 400 naming the choices', async () => {
    const names = (html: string) => [...html.matchAll(/<th scope="row" data-label="Name"><a href="\/portal\/apps\/([a-z-]+)">/g)].map((m) => m[1]);
    const inactive = await alice.get('/portal/apps?status=inactive');
    expect(names(inactive.html)).toEqual(['billing']);
    expect(inactive.html).toContain('<a href="/portal/apps?status=inactive" aria-current="true">');
    expect(names((await alice.get('/portal/apps?status=approved')).html)).toEqual(['billing']);
    expect(names((await alice.get('/portal/apps?status=awaiting%20approval')).html)).toEqual(['ledger']);
    expect(names((await alice.get('/portal/apps?status=awaiting-approval')).html)).toEqual(['ledger']);
    expect((await alice.get('/portal/apps?status=active')).html).toContain('<p>No application is active.</p>');
    const bad = await alice.get('/portal/apps?status=pending');
    expect(bad.status).toBe(400);
    expect(bad.html).toContain('There is no such status to filter by.');
    expect(bad.html).toContain('Choose one of: awaiting approval, approved, rejected, cancelled, active, inactive.');
    // Given twice, it is no filter either: a 400 that says so, never a 500.
    const twice = await alice.get('/portal/apps?status=approved&status=inactive');
    expect(twice.status).toBe(400);
    expect(twice.html).toContain('The address gives status more than once.');
  });
});
