// The portal decides Mergekey requests only. It acts on GitHub with the server's token, which can
// close or merge any pull request of the manifests repository: a publisher who types another
// number into /portal/review/N/reject (or approve) must not reach a pull request that is not a
// request (a change to the repository's code, say), nor one that does not exist. Over real HTTP
// against a real `mergekey serve` and the GitHub stand-in.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPortalWorld, Visitor, type PortalWorld } from '../../test/support/portal.ts';

let world: PortalWorld;
let pat: Visitor;
let codeChange: number;

function bannerOf(html: string): string | undefined {
  return /<div class="banner banner--error" role="alert">(.*?)<\/div>/s.exec(html)?.[1];
}

beforeAll(async () => {
  world = await startPortalWorld();
  await world.repo.pushBranch('tooling/lint', { 'scripts/lint.sh': '#!/bin/sh\nexit 0\n' }, 'Add a lint script');
  codeChange = (await world.github.openPullRequest({ head: 'tooling/lint', base: 'main', title: 'Add a lint script', body: 'Not a Mergekey request.' })).number;
  pat = new Visitor(world.url);
  await pat.signIn('pat');
});

afterAll(async () => {
  await world?.close();
});

describe('a publisher reaching for a pull request that is not a request', () => {
  it('cannot reject (close) it, nor open its reject page: 404 like a number that does not exist', async () => {
    const csrf = await pat.csrf('/portal/review');
    const page = await pat.get(`/portal/review/${codeChange}/reject`);
    expect(page.status).toBe(404);
    expect(bannerOf(page.html)).toBe('<p>There is no such request.</p>');
    const refused = await pat.post(`/portal/review/${codeChange}/reject`, { _csrf: csrf, reason: 'Closing it from the portal.' });
    expect(refused.status).toBe(404);
    expect(bannerOf(refused.html)).toBe('<p>There is no such request.</p>');
    const pull = await world.github.getPullRequest(codeChange);
    expect(pull.state).toBe('open');
    expect(pull.labels).toEqual([]);
    expect(await world.github.listComments(codeChange)).toEqual([]);
  });

  it('cannot approve (merge) it', async () => {
    const pull = await world.github.getPullRequest(codeChange);
    const refused = await pat.post(`/portal/review/${codeChange}/approve`, { _csrf: await pat.csrf('/portal/review'), head: pull.headSha });
    expect(refused.status).toBe(404);
    expect(bannerOf(refused.html)).toBe('<p>There is no such request.</p>');
    expect((await world.github.getPullRequest(codeChange)).state).toBe('open');
  });

  it('gets 404 for a number GitHub does not know, not a 502', async () => {
    const csrf = await pat.csrf('/portal/review');
    for (const response of [
      await pat.post('/portal/review/999/reject', { _csrf: csrf, reason: 'No such thing.' }),
      await pat.post('/portal/review/999/approve', { _csrf: csrf, head: 'a'.repeat(40) }),
    ]) {
      expect(response.status).toBe(404);
      expect(bannerOf(response.html)).toBe('<p>There is no such request.</p>');
    }
  });
});

describe('what the forge says, shown in the queue', () => {
  it('is text: markup in a pull request title or branch stays escaped, and its link is only http(s)', async () => {
    const title = '<img src=x onerror="alert(1)"><script>alert(2)</script>';
    await world.repo.pushBranch('hostile/title', { 'apps/hostile.yaml': 'apiVersion: mergekey/v1\nkind: Application\nmetadata:\n  name: hostile\nspec:\n  description: x\n  owners: [alice]\n  clientId: hostile-client-0001\n' }, 'Hostile');
    const opened = await world.github.openPullRequest({ head: 'hostile/title', base: 'main', title, body: '<script>alert(3)</script>' });
    const queue = await pat.get('/portal/review');
    expect(queue.status).toBe(200);
    expect(queue.html).toContain(`#${opened.number}</a> &lt;img src=x onerror=&quot;alert(1)&quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;</h2>`);
    expect(queue.html).not.toContain('<img src=x');
    expect(queue.html).not.toContain('<script>alert');
  });
});
