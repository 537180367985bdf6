// The person the portal records in a pull request's body (`requested-by=`) and in a decision comment
// (`by=`) over real HTTP against a real `mergekey serve` and the local forge: the portal opens and
// closes pull requests with one bot token, and anyone with write access may edit those bodies and
// comments afterwards (the forge's PATCH, as GitHub's). Only a marker whose MAC verifies under the
// server's key names anyone, so an edit cannot hand a request to someone else or change who decided.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOT, OWNER, REPO, startPortalWorld, Visitor, WRITER, type PortalWorld } from '../../test/support/portal.ts';

let world: PortalWorld;
let alice: Visitor;
let bob: Visitor;
let pat: Visitor;

/** Edits what the portal's account wrote, as someone with write access to the repository may. */
async function asWriter(path: string, body: string): Promise<void> {
  const response = await fetch(`${world.standIn.url}/repos/${OWNER}/${REPO}/${path}`, {
    method: 'PATCH',
    headers: { authorization: `token ${WRITER.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ body }),
  });
  expect(response.status).toBe(200);
}

/** The "Asked by" and "Decided by" cells of request #number on an application's details page. */
function historyRow(html: string, number: number): { askedBy: string; decidedBy: string } {
  const row = new RegExp(`#${number}</a></td>\\s*<td data-label="Asked by">([^<]*)</td>[\\s\\S]*?<td data-label="Decided by">(.*?)</td>`).exec(html);
  if (row === null) throw new Error(`no history row for #${number}`);
  return { askedBy: row[1]!, decidedBy: row[2]! };
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

afterAll(async () => {
  await world?.close();
});

describe('a request marker edited after the portal wrote it', () => {
  let signed: string;

  beforeAll(async () => {
    const created = await alice.post('/portal/apps', { _csrf: await alice.csrf('/portal/apps/new'), name: 'billing', description: 'Bills customers monthly.', grantType: 'client_credentials' });
    expect(created.status).toBe(200);
  });

  it('as the portal wrote it, names the person, signed: the page is theirs and shows them', async () => {
    const pull = await world.github.getPullRequest(1);
    expect(pull.author).toBe(BOT.login);
    signed = /<!-- mergekey:request kind=create app=billing requested-by=alice mac=[A-Za-z0-9_-]{43} -->/.exec(pull.body ?? '')![0];
    const page = await alice.get('/portal/apps/billing');
    expect(page.status).toBe(200);
    expect(historyRow(page.html, 1).askedBy).toBe('alice');
    expect((await bob.get('/portal/apps/billing')).status).toBe(403);
  });

  it('naming someone else gives them nothing: no page, no cancel, and the request stays open, not named after them', async () => {
    const pull = await world.github.getPullRequest(1);
    await asWriter('pulls/1', pull.body!.replace(signed, signed.replace('requested-by=alice', 'requested-by=bob')));

    const page = await bob.get('/portal/apps/billing');
    expect(page.status).toBe(403);
    expect(page.html).toContain('billing is not yours: only its owners and the publishers may see it.');
    expect((await bob.get('/portal/apps')).html).not.toContain('billing');
    const cancel = await bob.post('/portal/apps/billing/cancel', { _csrf: await bob.csrf('/portal/apps') });
    expect(cancel.status).toBe(403);
    expect((await world.github.getPullRequest(1)).state).toBe('open');

    // The marker no longer verifies for anyone: the request is the bot's, which no User owns, so
    // alice cannot act on it here either (she can on GitHub); a publisher sees who GitHub names.
    expect((await alice.get('/portal/apps/billing')).status).toBe(403);
    const seen = await pat.get('/portal/apps/billing');
    expect(seen.status).toBe(200);
    expect(historyRow(seen.html, 1).askedBy).toBe(BOT.login);
    expect(seen.html).not.toContain('>bob<');
  });

  it('a marker without its MAC (as the portal wrote before it signed them) is not believed either', async () => {
    const pull = await world.github.getPullRequest(1);
    await asWriter('pulls/1', pull.body!.replace(/<!-- mergekey:request [^>]*-->/, '<!-- mergekey:request kind=create app=billing requested-by=bob -->'));
    expect((await bob.get('/portal/apps/billing')).status).toBe(403);
    // Put back as the portal wrote it, it is alice's again.
    await asWriter('pulls/1', pull.body!.replace(/<!-- mergekey:request [^>]*-->/, signed));
    expect((await alice.get('/portal/apps/billing')).status).toBe(200);
    expect((await bob.get('/portal/apps/billing')).status).toBe(403);
  });

  it('is not decided here: the portal cannot tell whether the publisher asked for it themselves', async () => {
    const pull = await world.github.getPullRequest(1);
    await asWriter('pulls/1', pull.body!.replace(signed, signed.replace('requested-by=alice', 'requested-by=bob')));
    const queue = await pat.get('/portal/review');
    expect(queue.html).toContain('The portal cannot tell who asked for this request: its marker is not one the portal signed');
    expect(queue.html).not.toContain('action="/portal/review/1/approve"');
    // Crafted with every field the form would carry, the head commit included.
    const approved = await pat.post('/portal/review/1/approve', { _csrf: /name="_csrf" value="([^"]*)"/.exec(queue.html)![1]!, head: pull.headSha });
    expect(approved.status).toBe(409);
    expect(approved.html).toContain('the portal cannot tell who asked for #1: its request marker is not one the portal signed');
    const rejected = await pat.post('/portal/review/1/reject', { _csrf: await pat.csrf('/portal/review/1/reject'), reason: 'No.' });
    expect(rejected.status).toBe(409);
    expect((await world.github.getPullRequest(1)).state).toBe('open');
  });

  it('copied to another request, the MAC does not verify there: it is bound to the branch the portal chose', async () => {
    const created = await bob.post('/portal/apps', { _csrf: await bob.csrf('/portal/apps/new'), name: 'payroll', description: 'Pays people.', grantType: 'client_credentials' });
    expect(created.status).toBe(200);
    const payroll = await world.github.getPullRequest(2);
    expect((await alice.get('/portal/apps/payroll')).status).toBe(403);
    await asWriter('pulls/2', payroll.body!.replace(/<!-- mergekey:request [^>]*-->/, signed.replace('app=billing', 'app=payroll')));
    expect((await alice.get('/portal/apps/payroll')).status).toBe(403);
  });
});

describe('a decision comment edited after the portal wrote it', () => {
  /** Bob asks for `name` and pat rejects it: the number of its request and the portal's decision comment. */
  async function rejected(name: string): Promise<{ number: number; comment: { id: number; body: string } }> {
    const created = await bob.post('/portal/apps', { _csrf: await bob.csrf('/portal/apps/new'), name, description: 'Keeps the books.', grantType: 'client_credentials' });
    expect(created.status).toBe(200);
    const number = Math.max(...(await world.github.listPullRequests({ state: 'all' })).map((pull) => pull.number));
    const done = await pat.post(`/portal/review/${number}/reject`, { _csrf: await pat.csrf(`/portal/review/${number}/reject`), reason: 'The books are kept elsewhere.' });
    expect(done.status).toBe(303);
    return { number, comment: (await world.github.listComments(number)).at(-1)! };
  }

  it('as the portal wrote it, names the publisher, signed', async () => {
    const { number, comment } = await rejected('ledger');
    expect(comment.body).toMatch(/^<!-- mergekey:decision outcome=rejected by=pat mac=[A-Za-z0-9_-]{43} -->\nRejected by \*\*pat\*\* in the Mergekey portal:\n\nThe books are kept elsewhere\.$/);
    expect(historyRow((await bob.get('/portal/apps/ledger')).html, number).decidedBy).toMatch(/^pat, /);
  });

  it('naming another publisher does not make them the one who decided', async () => {
    const { number, comment } = await rejected('journal');
    // Edited before the portal first reads it (it remembers a closed request's decision once read).
    await asWriter(`issues/comments/${comment.id}`, comment.body.replace('by=pat', 'by=quinn'));
    const page = await bob.get('/portal/apps/journal');
    expect(page.status).toBe(200);
    expect(historyRow(page.html, number).decidedBy).toMatch(new RegExp(`^${BOT.login}, `));
    expect(page.html).not.toContain('quinn');
  });
});
