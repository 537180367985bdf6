// What a developer sees of a rejection in the portal, over real HTTP against a real `mergekey
// serve` and the local forge: who rejected it, when and why on the details page, and "Ask again"
// where the lifecycle allows it, starting from what the rejected request asked for.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPortalWorld, Visitor, type PortalWorld } from '../../test/support/portal.ts';
import { time } from './pages/layout.ts';

let world: PortalWorld;
let alice: Visitor;
let bob: Visitor;
let pat: Visitor;

const csrfOf = (page: string) => /name="_csrf" value="([^"]*)"/.exec(page)![1]!;
const sectionOf = (page: string, id: string) => new RegExp(`<section id="${id}"[\\s\\S]*?</section>`).exec(page)?.[0];

async function rejectAs(publisher: Visitor, number: number, reason: string): Promise<string> {
  const done = await publisher.post(`/portal/review/${number}/reject`, { _csrf: await publisher.csrf(`/portal/review/${number}/reject`), reason });
  expect(done.status).toBe(303);
  return (await world.github.getPullRequest(number)).closedAt!;
}

beforeAll(async () => {
  world = await startPortalWorld();
  alice = new Visitor(world.url);
  await alice.signIn('alice');
  bob = new Visitor(world.url);
  await bob.signIn('bob');
  pat = new Visitor(world.url);
  await pat.signIn('pat');
});
afterAll(async () => world?.close());

describe('a rejected create request', () => {
  let closedAt: string;

  beforeAll(async () => {
    const created = await alice.post('/portal/apps', {
      _csrf: await alice.csrf('/portal/apps/new'),
      name: 'ledger',
      description: 'Keeps the books.',
      grantType: 'client_credentials',
      scope: 'invoices:read',
    });
    expect(created.status).toBe(200);
    const tooLong = await pat.post('/portal/review/1/reject', { _csrf: await pat.csrf('/portal/review/1/reject'), reason: 'x'.repeat(2001) });
    expect(tooLong.status).toBe(400);
    expect(tooLong.html).toContain('The reason is 2001 characters long; at most 2000 are kept.');
    closedAt = await rejectAs(pat, 1, 'The books are kept in billing.\nAsk for <invoices:read> there.');
  });

  it('shows who rejected it, when and why, with Ask again, on the details page', async () => {
    const page = await alice.get('/portal/apps/ledger');
    expect(page.status).toBe(200);
    expect(sectionOf(page.html, 'rejection')).toBe(`<section id="rejection" aria-labelledby="rejection-title" class="card rejection">
    <h2 id="rejection-title">Create request #1 was rejected</h2>
    <p>Rejected by <strong>pat</strong>, ${time(closedAt)!.toString()}:</p>
    <blockquote class="reason">The books are kept in billing.
Ask for &lt;invoices:read&gt; there.</blockquote>
    <p><a class="button button--primary" href="/portal/apps/ledger/ask-again">Ask again</a> <span class="hint">A new create request, starting from what this one asked for.</span></p>
  </section>`);
    // The history names the person who asked and who decided, not the portal's account.
    expect(page.html).toMatch(/create #1<\/a><\/td>\s*<td data-label="Asked by">alice<\/td>[\s\S]*?outcome--rejected">rejected<\/span><blockquote class="reason">The books are kept in billing\.\nAsk for &lt;invoices:read&gt; there\.<\/blockquote><\/td>\s*<td data-label="Decided by">pat, /);
  });

  it('a publisher sees the rejection but is offered no Ask again: only an owner asks', async () => {
    const page = await pat.get('/portal/apps/ledger');
    expect(sectionOf(page.html, 'rejection')).toContain('<h2 id="rejection-title">Create request #1 was rejected</h2>');
    expect(page.html).not.toContain('/ask-again');
    expect((await pat.get('/portal/apps/ledger/ask-again')).status).toBe(403);
    expect((await bob.get('/portal/apps/ledger/ask-again')).status).toBe(403);
  });

  it('Ask again opens the New Application form holding what was asked for, under the rejection', async () => {
    const form = await alice.get('/portal/apps/ledger/ask-again');
    expect(form.status).toBe(200);
    expect(/<div class="banner banner--info" id="asking-again">[\s\S]*?<\/div>/.exec(form.html)?.[0]).toBe(`<div class="banner banner--info" id="asking-again">
    <p><strong>Asking again.</strong> Create request #1 was rejected by pat:</p>
    <blockquote class="reason">The books are kept in billing.
Ask for &lt;invoices:read&gt; there.</blockquote>
    <p>The form holds what it asked for: change what the publisher refused, then send it.</p>
  </div>`);
    expect(form.html).toContain('value="ledger"');
    expect(form.html).toContain('>Keeps the books.</textarea>');
    expect(form.html).toMatch(/<input type="checkbox" id="scope-\d+" name="scope" value="invoices:read" checked>/);

    const again = await alice.post('/portal/apps', { _csrf: csrfOf(form.html), name: 'ledger', description: 'Keeps the books of the shop.', grantType: 'client_credentials', scope: 'open' });
    expect(again.status).toBe(200);
    const pull = await world.github.getPullRequest(2);
    expect(pull).toMatchObject({ title: 'Create application ledger', state: 'open' });
    expect(await world.repo.show(pull.headSha, 'apps/ledger.yaml')).toContain('description: Keeps the books of the shop.');
    // Open again: no rejection box offers to ask a second time.
    const page = await alice.get('/portal/apps/ledger');
    expect(page.html).not.toContain('id="rejection"');
    const refused = await alice.get('/portal/apps/ledger/ask-again');
    expect(refused.status).toBe(409);
    expect(refused.html).toContain('ledger has no rejected request to ask for again.');
  });
});

describe('a rejected edit and a rejected deactivation', () => {
  beforeAll(async () => {
    expect((await pat.approve(2)).status).toBe(303);
    await world.sync();
  });

  it('Ask again for an edit opens the edit form with what the edit asked for', async () => {
    const form = await alice.get('/portal/apps/ledger/edit');
    const edit = { _csrf: csrfOf(form.html), description: 'Keeps the books, daily.', grantType: 'client_credentials', scope: 'open', confirm: 'yes' };
    expect((await alice.post('/portal/apps/ledger/edit', edit)).status).toBe(303);
    await rejectAs(pat, 3, 'Daily is too often.');

    const page = await alice.get('/portal/apps/ledger');
    expect(sectionOf(page.html, 'rejection')).toContain('<h2 id="rejection-title">Edit request #3 was rejected</h2>');
    expect(sectionOf(page.html, 'rejection')).toContain('<a class="button button--primary" href="/portal/apps/ledger/ask-again">Ask again</a> <span class="hint">A new edit request, starting from what this one asked for.</span>');
    const again = await alice.get('/portal/apps/ledger/ask-again');
    expect(again.status).toBe(200);
    expect(again.html).toContain('<h1>Edit ledger</h1>');
    expect(again.html).toContain('<p><strong>Asking again.</strong> Edit request #3 was rejected by pat:</p>');
    expect(again.html).toContain('>Keeps the books, daily.</textarea>');
    expect(again.html).toContain('action="/portal/apps/ledger/edit"');
  });

  it('Ask again for a deactivation leads to the deactivation confirmation', async () => {
    const confirm = await alice.get('/portal/apps/ledger/deactivate');
    expect((await alice.post('/portal/apps/ledger/deactivate', { _csrf: csrfOf(confirm.html) })).status).toBe(303);
    await rejectAs(pat, 4, 'Month end is near.');
    const page = await alice.get('/portal/apps/ledger');
    expect(sectionOf(page.html, 'rejection')).toContain('<h2 id="rejection-title">Deactivate request #4 was rejected</h2>');
    const again = await alice.get('/portal/apps/ledger/ask-again');
    expect(again.status).toBe(303);
    expect(again.location).toBe('/portal/apps/ledger/deactivate');
  });
});
