// Generate Token is post/redirect/get: the POST asks the real token endpoint and keeps the answer
// in the session for the one page that shows it, so reloading shows it no more and makes no other
// token. The page offers "Use this refresh token" (the refresh grant, with a scope picker), the
// main form's scope picker serves the refresh grant too, and the live tokens are listed by id with
// nothing to "reveal". Over real HTTP against a real `mergekey serve`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handlesOf } from '../store/handles.ts';
import { startPortalWorld, Visitor, type PortalWorld } from '../../test/support/portal.ts';

let world: PortalWorld;
let secret: string;
let alice: Visitor;

/** The live tokens the details page lists. */
async function liveTokens(visitor: Visitor): Promise<number> {
  const page = await visitor.get('/portal/apps/billing');
  return [...page.html.matchAll(/<td data-label="Token">/g)].length;
}

function shownValue(html: string, id: string): string | undefined {
  return new RegExp(`<code class="secret-value" id="${id}"[^>]*>([^<]+)</code>`).exec(html)?.[1];
}

/** The fields of the form on `html` whose action is `action`, as a browser would send them (checkboxes left unchecked). */
function formFields(html: string, action: string): Record<string, string> {
  const form = new RegExp(`<form method="post" action="${action}"[^>]*>(.*?)</form>`, 's').exec(html)?.[1];
  if (form === undefined) throw new Error(`no form posting to ${action}`);
  const fields: Record<string, string> = {};
  for (const [, name, value] of form.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) fields[name!] = value!;
  return fields;
}

beforeAll(async () => {
  world = await startPortalWorld();
  alice = new Visitor(world.url);
  await alice.signIn('alice');
  const created = await alice.post('/portal/apps', {
    _csrf: await alice.csrf('/portal/apps/new'),
    name: 'billing',
    description: 'Bills customers monthly.',
    scope: ['invoices:read', 'invoices:write'],
    grantType: ['client_credentials', 'password', 'refresh_token'],
  });
  secret = shownValue(created.html, 'client-secret')!;
  expect(secret).toMatch(/^[\w-]{43}$/);
  const pat = new Visitor(world.url);
  await pat.signIn('pat');
  expect((await pat.approve(1)).status).toBe(303);
  await world.sync();
});

afterAll(async () => {
  await world?.close();
});

describe('Generate Token (post/redirect/get)', () => {
  it('redirects to a page that shows the token once; reloading it shows nothing and makes no other token', async () => {
    const before = await liveTokens(alice);
    const posted = await alice.post('/portal/apps/billing/token', { _csrf: await alice.csrf('/portal/apps/billing'), grant_type: 'client_credentials', client_secret: secret, scope: 'invoices:read' });
    expect([posted.status, posted.location, posted.html]).toEqual([303, '/portal/apps/billing/token', '']);

    const page = await alice.get('/portal/apps/billing/token');
    expect(page.status).toBe(200);
    expect(page.html).toContain('<strong>Access token generated</strong> with the Client Credentials grant.');
    expect(shownValue(page.html, 'access-token')).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(page.html).toContain('<div><dt>Scope</dt><dd><code>invoices:read</code></dd></div>');
    expect(await liveTokens(alice)).toBe(before + 1);

    // A reload is this GET again: the answer was shown and forgotten.
    const reloaded = await alice.get('/portal/apps/billing/token');
    expect([reloaded.status, reloaded.location]).toEqual([303, '/portal/apps/billing#generate']);
    const back = await alice.get('/portal/apps/billing');
    expect(back.html).toContain('<div class="banner banner--success">A generated token is shown once and kept nowhere: generate another one here if you need it.</div>');
    expect(shownValue(back.html, 'access-token')).toBeUndefined();
    expect(await liveTokens(alice)).toBe(before + 1);
  });

  it('keeps the answer in the store sealed, under a key only the browser holds: the store, or a stolen session cookie, opens nothing', async () => {
    await alice.post('/portal/apps/billing/token', { _csrf: await alice.csrf('/portal/apps/billing'), grant_type: 'password', client_secret: secret, username: 'alice', password: 'alice-correct-horse' });
    const atRest = JSON.stringify([...handlesOf(world.server.store).sessions.getRange()].map(({ value }) => value));
    expect(atRest).toContain('"generated":{"app":"billing","sealed":"');
    expect(alice.cookie('mergekey-generated')).toMatch(/^[\w-]{43}$/);
    const page = await alice.get('/portal/apps/billing/token');
    const access = shownValue(page.html, 'access-token')!;
    const refresh = shownValue(page.html, 'refresh-token')!;
    expect([access, refresh].map((token) => atRest.includes(token))).toEqual([false, false]);
    // Shown: gone from the session, and its key from the browser.
    expect(JSON.stringify([...handlesOf(world.server.store).sessions.getRange()].map(({ value }) => value))).not.toContain('"generated"');
    expect(alice.cookie('mergekey-generated')).toBeUndefined();

    // Someone holding the session cookie alone cannot open the next answer.
    await alice.post('/portal/apps/billing/token', { _csrf: await alice.csrf('/portal/apps/billing'), grant_type: 'client_credentials', client_secret: secret });
    const thief = new Visitor(world.url);
    thief.setCookie('mergekey-session', alice.cookie('mergekey-session')!);
    const stolen = await thief.get('/portal/apps/billing/token');
    expect([stolen.status, stolen.location]).toEqual([303, '/portal/apps/billing#generate']);
  });

  it('shows a refusal the same way, once', async () => {
    await alice.post('/portal/apps/billing/token', { _csrf: await alice.csrf('/portal/apps/billing'), grant_type: 'client_credentials', client_secret: 'not-the-secret' });
    const page = await alice.get('/portal/apps/billing/token');
    expect(/<div class="banner banner--error" role="alert"><p>(.*?)<\/p><\/div>/s.exec(page.html)?.[1]).toBe(
      '<strong>No token:</strong> the token endpoint answered <code>invalid_client</code>: client authentication failed.',
    );
    expect((await alice.get('/portal/apps/billing/token')).status).toBe(303);
  });

  it('keeps the answer to the session that asked: another session of the same person, or another person, sees none', async () => {
    await alice.post('/portal/apps/billing/token', { _csrf: await alice.csrf('/portal/apps/billing'), grant_type: 'client_credentials', client_secret: secret });
    const elsewhere = new Visitor(world.url);
    await elsewhere.signIn('alice');
    expect((await elsewhere.get('/portal/apps/billing/token')).location).toBe('/portal/apps/billing#generate');
    const bob = new Visitor(world.url);
    await bob.signIn('bob');
    expect((await bob.get('/portal/apps/billing/token')).status).toBe(403);
    // Still there for the session that asked.
    expect(shownValue((await alice.get('/portal/apps/billing/token')).html, 'access-token')).toMatch(/^eyJ/);
  });

  it('offers "Use this refresh token": the refresh grant with it, narrowed to a scope it was granted', async () => {
    await alice.post('/portal/apps/billing/token', {
      _csrf: await alice.csrf('/portal/apps/billing'),
      grant_type: 'password',
      client_secret: secret,
      username: 'alice',
      password: 'alice-correct-horse',
    });
    const first = await alice.get('/portal/apps/billing/token');
    const refreshToken = shownValue(first.html, 'refresh-token')!;
    expect(refreshToken).toMatch(/^[\w-]{43}$/);
    expect(first.html).toContain('<h2 id="refresh-title">Use this refresh token</h2>');
    expect(formFields(first.html, '/portal/apps/billing/token')).toEqual({ _csrf: expect.any(String), grant_type: 'refresh_token', refresh_token: refreshToken });
    // The scope picker lists what the refresh token was granted.
    const picker = /<h2 id="refresh-title">.*?<\/form>/s.exec(first.html)![0];
    expect([...picker.matchAll(/name="scope" value="([^"]+)"/g)].map((match) => match[1])).toEqual(['invoices:read', 'invoices:write']);

    await alice.post('/portal/apps/billing/token', { ...formFields(first.html, '/portal/apps/billing/token'), client_secret: secret, scope: 'invoices:write' });
    const next = await alice.get('/portal/apps/billing/token');
    expect(next.html).toContain('<strong>Access token generated</strong> with the Refresh Token grant.');
    expect(next.html).toContain('<div><dt>Scope</dt><dd><code>invoices:write</code></dd></div>');
    expect(shownValue(next.html, 'refresh-token')).not.toBe(refreshToken);
  });

  it('asks a public client for no secret, and offers only the grants the form can run (the code comes from Try sign-in)', async () => {
    const csrf = await alice.csrf('/portal/apps/new');
    const created = await alice.post('/portal/apps', {
      _csrf: csrf, name: 'spa', description: 'Signs people in.', clientType: 'public', scope: ['openid'],
      grantType: ['authorization_code', 'refresh_token'], redirectUris: 'https://spa.example.com/callback',
    });
    expect(created.status).toBe(200);
    const pat = new Visitor(world.url);
    await pat.signIn('pat');
    const queue = await pat.get('/portal/review');
    const number = Number(/action="\/portal\/review\/(\d+)\/approve"/.exec(queue.html)![1]);
    expect((await pat.approve(number)).status).toBe(303);
    await world.sync();

    const page = await alice.get('/portal/apps/spa');
    const generate = /<section id="generate".*?<\/section>/s.exec(page.html)![0];
    expect(generate).toContain('a public client sends its client ID alone.');
    expect(generate).not.toContain('name="client_secret"');
    expect([...generate.matchAll(/name="grant_type" value="([^"]+)"/g)].map((match) => match[1])).toEqual(['refresh_token']);
    // Posted without a secret, it reaches the token endpoint, which judges the refresh token.
    await alice.post('/portal/apps/spa/token', { _csrf: await alice.csrf('/portal/apps/spa'), grant_type: 'refresh_token', refresh_token: 'not-a-refresh-token' });
    expect((await alice.get('/portal/apps/spa/token')).html).toContain('<strong>No token:</strong> the token endpoint answered <code>invalid_grant</code>');
  });

  it('offers the scope picker for the refresh grant in the main form, and lists live tokens by id with nothing to reveal', async () => {
    const page = await alice.get('/portal/apps/billing');
    expect(page.html).toContain('<fieldset class="field choices grant-fields" data-grant="client_credentials password refresh_token">');
    // How the same application works from the CLI, with the secret the portal showed once.
    const clientId = /<code id="client-id">([^<]+)<\/code>/.exec(page.html)![1]!;
    expect(page.html).toContain(`<p class="hint" id="from-the-cli">From the command line: <code>mergekey token get billing --client-id ${clientId} --save</code> asks for the secret once`);
    const tokens = /<section id="tokens".*?<\/section>/s.exec(page.html)![0];
    expect(tokens).not.toMatch(/<details|Reveal/);
    expect(tokens).toMatch(/<td data-label="Token"><code class="token-id">(at|rt)_[\w-]+\.\.\.[\w-]+<\/code><\/td>/);
  });
});
