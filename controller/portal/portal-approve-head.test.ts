// A publisher approves what they reviewed, and only that: a request's branch that moves after the
// queue was shown (a push by whoever can write to it) is not merged by the approval given to the
// earlier version, and a request the check could not run on has no Approve button. Over real
// HTTP against a real `mergekey serve` and the GitHub stand-in.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPortalWorld, Visitor, type PortalWorld } from '../../test/support/portal.ts';

let world: PortalWorld;
let pat: Visitor;

/** The hidden fields of the approve form of request #number on the queue page, as the browser would send them. */
function approveForm(html: string, number: number): Record<string, string> {
  const form = new RegExp(`<form method="post" action="/portal/review/${number}/approve"[^>]*>(.*?)</form>`, 's').exec(html)?.[1];
  if (form === undefined) throw new Error(`no approve form for #${number}`);
  const fields: Record<string, string> = {};
  for (const [, name, value] of form.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) fields[name!] = value!;
  return fields;
}

function bannerOf(html: string): string | undefined {
  return /<div class="banner banner--error" role="alert">(.*?)<\/div>/s.exec(html)?.[1];
}

beforeAll(async () => {
  world = await startPortalWorld();
  const alice = new Visitor(world.url);
  await alice.signIn('alice');
  const created = await alice.post('/portal/apps', { _csrf: await alice.csrf('/portal/apps/new'), name: 'billing', description: 'Bills customers monthly.', grantType: 'client_credentials' });
  expect(created.status).toBe(200);
  pat = new Visitor(world.url);
  await pat.signIn('pat');
});

afterAll(async () => {
  await world?.close();
});

describe('approving a request whose branch moved after the publisher saw it', () => {
  it('merges nothing, says why, and approves the new version once it was seen', async () => {
    const queue = await pat.get('/portal/review');
    expect(queue.status).toBe(200);
    const seen = approveForm(queue.html, 1);

    // Someone who can push to the request's branch changes it after the publisher looked.
    const pull = await world.github.getPullRequest(1);
    const reviewed = await world.repo.show(pull.headRef, 'apps/billing.yaml');
    const moved = await world.repo.pushBranch(pull.headRef, { 'apps/billing.yaml': reviewed.replace('Bills customers monthly.', 'Not what the publisher read.') }, 'After the review', `origin/${pull.headRef}`);

    const refused = await pat.post('/portal/review/1/approve', seen);
    expect(refused.status).toBe(409);
    expect(bannerOf(refused.html)).toBe('<p>Request #1 changed since the queue was shown (its branch has new commits), so nothing was merged.</p><p class="hint">Reload the queue and review it again.</p>');
    expect((await world.github.getPullRequest(1)).state).toBe('open');
    // A form without the version it approves is refused the same way.
    const { head: _head, ...withoutHead } = seen;
    expect((await pat.post('/portal/review/1/approve', withoutHead)).status).toBe(409);
    expect((await world.github.getPullRequest(1)).state).toBe('open');

    const again = await pat.get('/portal/review');
    expect(again.status).toBe(200);
    const fresh = approveForm(again.html, 1);
    expect(fresh.head).toBe(moved);
    const approved = await pat.post('/portal/review/1/approve', fresh);
    expect(approved.status).toBe(303);
    const merged = await world.github.getPullRequest(1);
    expect(merged.merged).toBe(true);
    expect(await world.repo.show('main', 'apps/billing.yaml')).toContain('Not what the publisher read.');
  });
});
