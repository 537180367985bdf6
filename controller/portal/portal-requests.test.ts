// Requests made and decided in the portal, over real HTTP against a real `mergekey serve` and the
// GitHub stand-in: the edit's confirmation step, who asked recorded in the pull request and its
// commit, cancellation, rotation, and publishers who may not decide their own requests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPortalWorld, Visitor, BOT, type PortalWorld } from '../../test/support/portal.ts';

let world: PortalWorld;
let alice: Visitor;
let pat: Visitor;

function flashOf(html: string): string | undefined {
  return /<div class="live"[^>]*><div class="banner banner--success">([^<]*)<\/div>/.exec(html)?.[1];
}

beforeAll(async () => {
  world = await startPortalWorld();
  alice = new Visitor(world.url);
  await alice.signIn('alice');
  await alice.post('/portal/apps', { _csrf: await alice.csrf('/portal/apps/new'), name: 'billing', description: 'Bills customers monthly.', grantType: 'client_credentials' });
  pat = new Visitor(world.url);
  await pat.signIn('pat');
  expect((await pat.approve(1)).status).toBe(303);
  await world.sync();
});

afterAll(async () => {
  await world?.close();
});

describe('an edit', () => {
  it('is confirmed with what approving it changes, then opened as a request that names who asked', async () => {
    const form = await alice.get('/portal/apps/billing/edit');
    expect(form.status).toBe(200);
    expect(form.html).toContain('>Bills customers monthly.</textarea>');
    const csrf = /name="_csrf" value="([^"]*)"/.exec(form.html)![1]!;
    const unchanged = await alice.post('/portal/apps/billing/edit', { _csrf: csrf, description: 'Bills customers monthly.', grantType: 'client_credentials', scope: 'open' });
    expect(unchanged.status).toBe(400);
    expect(unchanged.html).toContain('Nothing changes: the form holds what the application already has.');

    const edit = { _csrf: csrf, description: 'Bills customers weekly.', grantType: 'client_credentials', scope: 'open' };
    const preview = await alice.post('/portal/apps/billing/edit', edit);
    expect(preview.status).toBe(200);
    expect(preview.html).toContain('<h1>Update billing?</h1>');
    expect(preview.html).toContain('This opens an edit request changing the description.');
    expect(preview.html).toContain('<li>Description changes.</li>');
    expect(await world.github.listPullRequests({ state: 'open' })).toHaveLength(0);

    const done = await alice.post('/portal/apps/billing/edit', { ...edit, confirm: 'yes' });
    expect(done.status).toBe(303);
    expect(done.location).toBe('/portal/apps/billing');
    const page = await alice.get('/portal/apps/billing');
    expect(flashOf(page.html)).toBe('Your update of billing was submitted for approval as edit request #2. Until a publisher approves it, billing keeps its current settings.');
    // Shown once.
    expect(flashOf((await alice.get('/portal/apps/billing')).html)).toBeUndefined();

    const pull = await world.github.getPullRequest(2);
    expect(pull).toMatchObject({ title: 'Edit application billing (description)', author: BOT.login, labels: ['mergekey:edit'] });
    // Signed with the server's key, bound to the branch: an edit of the body cannot give it to anyone else (portal-markers.test.ts).
    expect(pull.body).toMatch(/<!-- mergekey:request kind=edit app=billing requested-by=alice mac=[A-Za-z0-9_-]{43} -->/);
    expect(pull.body).toContain('Asked for by **alice** in the Mergekey portal.');
    expect(await world.repo.log(pull.headSha, '%B')).toContain('Requested-by: alice');
  });

  it('is withdrawn by the one who asked: cancelled, not rejected', async () => {
    const confirm = await alice.get('/portal/apps/billing/cancel');
    expect(confirm.html).toContain('Cancel edit request #2?');
    const done = await alice.post('/portal/apps/billing/cancel', { _csrf: /name="_csrf" value="([^"]*)"/.exec(confirm.html)![1]! });
    expect(done.status).toBe(303);
    const page = await alice.get('/portal/apps/billing');
    expect(flashOf(page.html)).toBe('Your edit request #2 for billing was cancelled.');
    expect(page.html).toMatch(/edit #2<\/a><\/td>\s*<td data-label="Asked by">alice<\/td>[\s\S]*?outcome--cancelled[\s\S]*?<td data-label="Decided by">alice, /);
    expect((await world.github.getPullRequest(2)).closedBy).toBe(BOT.login);
    expect((await alice.get('/portal/apps')).html).toContain('Requests decided so far: 1 approved, 0 rejected, 1 cancelled.');
  });
});

it('rotates the client secret as an edit request, showing the new secret once', async () => {
  const confirm = await alice.get('/portal/apps/billing/rotate');
  expect(confirm.html).toContain('Rotate the client secret of billing?');
  const rotated = await alice.post('/portal/apps/billing/rotate', { _csrf: /name="_csrf" value="([^"]*)"/.exec(confirm.html)![1]! });
  expect(rotated.status).toBe(200);
  const secret = /id="client-secret"[^>]*>([^<]+)</.exec(rotated.html)![1]!;
  expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
  expect(rotated.html).toContain('It works once a publisher approves request #3');
  expect(rotated.html).toMatch(/the current secret keeps working until <time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ">\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d UTC<\/time>\./);
  expect((await world.github.getPullRequest(3)).title).toBe('Edit application billing (new client secret)');
  expect((await alice.get('/portal/apps/billing')).html).not.toContain(secret);
  // One open request per application.
  const again = await alice.get('/portal/apps/billing/deactivate');
  expect(again.status).toBe(409);
  expect(again.html).toContain('Deactivate is not available: Edit request #3 awaits approval.');
});

describe('publishers', () => {
  it('cannot decide their own requests, and a rejection needs a reason; a rejected application cannot be edited', async () => {
    const quinn = new Visitor(world.url);
    await quinn.signIn('quinn');
    const created = await quinn.post('/portal/apps', { _csrf: await quinn.csrf('/portal/apps/new'), name: 'ledger', description: 'Keeps the books.', grantType: 'client_credentials' });
    expect(created.status).toBe(200);
    const queue = await quinn.get('/portal/review');
    expect(queue.html).toMatch(/#4<\/a> Create application ledger[\s\S]*?You asked for this request: another publisher decides it./);
    // Crafted with every field the form would carry, the head commit included.
    const own = await quinn.post('/portal/review/4/approve', { _csrf: /name="_csrf" value="([^"]*)"/.exec(queue.html)![1]!, head: (await world.github.getPullRequest(4)).headSha });
    expect(own.status).toBe(409);
    expect(own.html).toContain('you opened #4 yourself; another publisher must approve it');
    expect((await world.github.getPullRequest(4)).state).toBe('open');

    const csrf = await pat.csrf('/portal/review/4/reject');
    const noReason = await pat.post('/portal/review/4/reject', { _csrf: csrf, reason: '  ' });
    expect(noReason.status).toBe(400);
    expect(noReason.html).toContain('Give a reason: the developer needs to know why.');
    expect((await pat.post('/portal/review/4/reject', { _csrf: csrf, reason: 'The books are kept elsewhere.' })).status).toBe(303);
    const comments = await world.github.listComments(4);
    expect(comments.at(-1)!.body).toMatch(/^<!-- mergekey:decision outcome=rejected by=pat mac=[A-Za-z0-9_-]{43} -->\nRejected by \*\*pat\*\* in the Mergekey portal:\n\nThe books are kept elsewhere\.$/);
    expect((await world.github.getPullRequest(4)).labels).toContain('mergekey:rejected');

    const page = await quinn.get('/portal/apps/ledger');
    expect(page.html).toContain('Create request #4 was rejected by pat.');
    const edit = await quinn.get('/portal/apps/ledger/edit');
    expect(edit.status).toBe(409);
    expect(edit.html).toContain('Edit is not available: Create request #4 was rejected.');
    expect(edit.html).toContain('A rejected application cannot be changed: ask for it again with a new create request.');
  });
});

describe('a public client (an SPA or a mobile app)', () => {
  it('is offered on the form, checked by the manifest’s own rules, and registered with no secret at all', async () => {
    const form = await alice.get('/portal/apps/new');
    expect(form.html).toContain('<label for="clientType-public">Public client (SPA or mobile app: no secret, PKCE) <span class="hint">');
    expect(form.html).toMatch(/<input type="radio" id="clientType-confidential" name="clientType" value="confidential" checked>/);
    expect(form.html).toContain('<label for="grant-authorization_code">Authorization code');
    expect(form.html).toContain('<code>openid</code>');
    const csrf = /name="_csrf" value="([^"]*)"/.exec(form.html)![1]!;
    const openBefore = (await world.github.listPullRequests({ state: 'open' })).length;
    const spa = { _csrf: csrf, name: 'spa', description: 'Signs people in from the browser.', clientType: 'public', scope: ['openid', 'profile'] };

    const refusals: [Record<string, string | string[]>, string][] = [
      [{ grantType: ['authorization_code', 'client_credentials'], redirectUris: 'https://spa.example.com/callback' }, 'A public client has no secret to prove who asks: it may use only the authorization code grant (with PKCE) and refresh tokens.'],
      [{ grantType: 'authorization_code' }, 'The authorization code grant sends people back to a redirect URI: enter at least one.'],
      [{ grantType: 'authorization_code', redirectUris: 'http://localhost:3000/cb' }, '“http://localhost:3000/cb” is not a redirect URI: names &quot;localhost&quot;, which a resolver may send elsewhere (RFC 8252 section 8.3: NOT RECOMMENDED): use the loopback IP literal, http://127.0.0.1:3000/cb.'],
      [{ grantType: 'authorization_code', redirectUris: 'https://*.example.com/cb' }, '“https://*.example.com/cb” is not a redirect URI: holds a wildcard (*): redirect URIs are compared exactly, never as patterns (RFC 9700 section 4.1.3), so list each URI in full.'],
      [{ grantType: 'authorization_code', redirectUris: 'http://spa.example.com/cb' }, '“http://spa.example.com/cb” is not a redirect URI: uses http on a host that is not a loopback IP, so the code would cross the network in the clear: use https, or http://127.0.0.1 or http://[::1] for a native app on the same device (RFC 8252 section 7.3).'],
    ];
    for (const [fields, message] of refusals) {
      const refused = await alice.post('/portal/apps', { ...spa, ...fields });
      expect(refused.status).toBe(400);
      expect(refused.html).toContain(message);
      // The choice is kept for the next attempt.
      expect(refused.html).toMatch(/<input type="radio" id="clientType-public" name="clientType" value="public" checked>/);
    }
    expect(await world.github.listPullRequests({ state: 'open' })).toHaveLength(openBefore);

    const created = await alice.post('/portal/apps', { ...spa, grantType: ['authorization_code', 'refresh_token'], redirectUris: 'https://spa.example.com/callback\nhttp://127.0.0.1/callback' });
    expect(created.status).toBe(200);
    expect(created.html).toContain('A public client: it has no client secret. It signs people in with the authorization code grant and PKCE (S256), with the client ID alone.');
    expect(created.html).not.toContain('id="client-secret"');
    const pull = (await world.github.listPullRequests({ state: 'open' })).find((candidate) => candidate.title === 'Create application spa')!;
    const manifest = await world.repo.show(pull.headSha, 'apps/spa.yaml');
    expect(manifest).toContain('tokenEndpointAuthMethod: none');
    expect(manifest).toMatch(/redirectUris:\n {4}- https:\/\/spa\.example\.com\/callback\n {4}- http:\/\/127\.0\.0\.1\/callback\n/);
    expect(manifest).not.toContain('credentials');
    expect(pull.body).toContain('Client authentication: `none` (a public client: no client secret; PKCE protects its codes).');

    // Approved and applied, it keeps its type: the edit form says so and checks grants against it.
    expect((await pat.approve(pull.number)).status).toBe(303);
    await world.sync();
    const details = await alice.get('/portal/apps/spa');
    expect(details.html).toContain('A public client: it has no client secret to show or rotate. It signs people in with the authorization code grant and PKCE (S256), with the client ID alone.');
    expect(details.html).not.toContain('Rotate secret');
    const edit = await alice.get('/portal/apps/spa/edit');
    expect(edit.html).toContain('A public client (SPA or mobile app: no secret, PKCE): it may use only the authorization code grant and refresh tokens.');
    expect(edit.html).not.toContain('name="clientType"');
    const editCsrf = /name="_csrf" value="([^"]*)"/.exec(edit.html)![1]!;
    const widened = await alice.post('/portal/apps/spa/edit', {
      _csrf: editCsrf,
      description: 'Signs people in from the browser.',
      grantType: ['authorization_code', 'password'],
      redirectUris: 'https://spa.example.com/callback',
      scope: 'openid',
    });
    expect(widened.status).toBe(400);
    expect(widened.html).toContain('A public client has no secret to prove who asks: it may use only the authorization code grant (with PKCE) and refresh tokens.');
  });
});
