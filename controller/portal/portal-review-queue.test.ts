// The publishers' queue over real HTTP against a real `mergekey serve` and the local forge: each
// request with the application's description, the check's result and the manifest diff, and an
// approval that takes an optional comment, which the developer then reads with the request.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPortalWorld, Visitor, type PortalWorld } from '../../test/support/portal.ts';

let world: PortalWorld;
let alice: Visitor;
let pat: Visitor;

const cardOf = (page: string, number: number) => new RegExp(`<article class="card request" aria-labelledby="request-${number}">[\\s\\S]*?</article>`).exec(page)?.[0];

beforeAll(async () => {
  world = await startPortalWorld();
  alice = new Visitor(world.url);
  await alice.signIn('alice');
  pat = new Visitor(world.url);
  await pat.signIn('pat');
  await alice.post('/portal/apps', { _csrf: await alice.csrf('/portal/apps/new'), name: 'billing', description: 'Bills customers monthly.', grantType: 'client_credentials' });
  expect((await pat.approve(1)).status).toBe(303);
  await world.sync();
});
afterAll(async () => world?.close());

it('shows the description, the check and the manifest diff of each request, and an optional comment to approve with', async () => {
  const form = await alice.get('/portal/apps/billing/edit');
  const csrf = /name="_csrf" value="([^"]*)"/.exec(form.html)![1]!;
  expect((await alice.post('/portal/apps/billing/edit', { _csrf: csrf, description: 'Bills customers <weekly>.', grantType: 'client_credentials', scope: 'open', confirm: 'yes' })).status).toBe(303);
  const pull = await world.github.getPullRequest(2);

  const card = cardOf((await pat.get('/portal/review')).html, 2)!;
  expect(card).toContain('<p class="description"><span class="label">Description:</span> Bills customers &lt;weekly&gt;.</p>');
  expect(card).toContain('<p class="check check--allowed"><strong>Check: allowed</strong> — low risk: a description-only edit</p>');
  const diff = /<details class="diff" open><summary>The manifest diff<\/summary><pre><code>([\s\S]*?)<\/code><\/pre><\/details>/.exec(card)?.[1];
  expect(diff?.split('\n').filter((line) => /diff-(added|removed)/.test(line))).toEqual([
    '<span class="diff-removed">-  description: Bills customers monthly.</span>',
    '<span class="diff-added">+  description: Bills customers &lt;weekly&gt;.</span>',
  ]);
  expect(card).toContain(`<input type="hidden" name="head" value="${pull.headSha}">`);
  expect(card).toContain('<label for="comment-2">Comment <span class="optional">(optional)</span></label>');
  expect(card).toContain('<textarea id="comment-2" name="comment" rows="2" maxlength="2000" aria-describedby="comment-2-hint"></textarea>');

  const csrfOfQueue = /name="_csrf" value="([^"]*)"/.exec((await pat.get('/portal/review')).html)![1]!;
  const tooLong = await pat.post('/portal/review/2/approve', { _csrf: csrfOfQueue, head: pull.headSha, comment: 'x'.repeat(2001) });
  expect(tooLong.status).toBe(400);
  expect(tooLong.html).toContain('The comment is 2001 characters long; at most 2000 are kept.');
  expect((await world.github.getPullRequest(2)).state).toBe('open');

  const approved = await pat.post('/portal/review/2/approve', { _csrf: csrfOfQueue, head: pull.headSha, comment: '  Weekly is fine.\nTell finance.  ' });
  expect(approved.status).toBe(303);
  const merged = await world.github.getPullRequest(2);
  expect(await world.repo.log(merged.mergeCommitSha!, '%B')).toBe(`Approve: Edit application billing (description) (#2)\n\nApproved by pat in the Mergekey portal.\n\nWeekly is fine.\nTell finance.\n\nApproved-by: pat`);

  const details = await alice.get('/portal/apps/billing');
  expect(details.html).toMatch(/edit #2<\/a><\/td>\s*<td data-label="Asked by">alice<\/td>[\s\S]*?outcome--approved">approved<\/span><blockquote class="comment">Weekly is fine\.\nTell finance\.<\/blockquote><\/td>\s*<td data-label="Decided by">pat, /);
});

it('refuses to approve what the queue shows as refused: a second open request for one application', async () => {
  const onMain = await world.repo.show('main', 'apps/billing.yaml');
  const edited = (description: string) => onMain.replace(/description: .*/, `description: ${description}`);
  for (const [branch, description] of [['mergekey/edit-billing-000201', 'First edit.'], ['mergekey/edit-billing-000202', 'Second edit.']] as const) {
    await world.repo.pushBranch(branch, { 'apps/billing.yaml': edited(description) }, `Edit application billing (${description})`);
    await world.github.openPullRequest({ head: branch, base: 'main', title: `Edit application billing (${description})`, body: '' });
  }
  const [first, second] = (await world.github.listPullRequests({ state: 'open', direction: 'asc' })).slice(-2);
  const queue = await pat.get('/portal/review');
  expect(cardOf(queue.html, second!.number)).toContain(`billing already has an open edit request (#${first!.number}); one request per application at a time`);

  const csrf = /name="_csrf" value="([^"]*)"/.exec(queue.html)![1]!;
  const refused = await pat.post(`/portal/review/${second!.number}/approve`, { _csrf: csrf, head: second!.headSha });
  expect(refused.status).toBe(409);
  expect(refused.html).toContain(`The check refuses #${second!.number}: billing already has an open edit request (#${first!.number}); one request per application at a time`);
  expect((await world.github.getPullRequest(second!.number)).state).toBe('open');
});
