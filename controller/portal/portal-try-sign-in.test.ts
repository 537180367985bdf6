// Try sign-in over real HTTP against a real `mergekey serve` (the portal and the OAuth server in
// one process, a real manifests repository): an owner runs the authorization code flow as their
// confidential application with the portal's callback as the redirect URI, through the real
// /oauth2/authorize, consent page and token endpoint, and sees the claims of what it got.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ISSUER, startPortalWorld, Visitor, type PortalWorld } from '../../test/support/portal.ts';

const CALLBACK = `${ISSUER}/portal/try-sign-in/callback`;
let world: PortalWorld;
let alice: Visitor;
let secret: string;

function csrfOf(html: string): string {
  return /name="_csrf" value="([^"]*)"/.exec(html)![1]!;
}

/** The path and query of an absolute URL on the issuer, to send to the server the test runs. */
function local(location: string): string {
  const url = new URL(location, ISSUER);
  return `${url.pathname}${url.search}`;
}

async function createApp(visitor: Visitor, name: string, redirectUris: string): Promise<string> {
  const created = await visitor.post('/portal/apps', {
    _csrf: await visitor.csrf('/portal/apps/new'), name, description: `Signs people in (${name}).`, grantType: 'authorization_code', redirectUris, scope: 'open',
  });
  expect(created.status).toBe(200);
  return /<code class="secret-value" id="client-secret"[^>]*>([^<]+)<\/code>/.exec(created.html)![1]!;
}

beforeAll(async () => {
  world = await startPortalWorld();
  alice = new Visitor(world.url);
  await alice.signIn('alice');
  secret = await createApp(alice, 'webshop', CALLBACK);
  await createApp(alice, 'elsewhere', 'https://elsewhere.example.com/callback');
  const spa = await alice.post('/portal/apps', {
    _csrf: await alice.csrf('/portal/apps/new'), name: 'spa', displayName: 'Shop SPA', description: 'Signs people in from the browser.', clientType: 'public',
    grantType: 'authorization_code', redirectUris: CALLBACK, scope: ['openid', 'profile'],
  });
  expect(spa.status).toBe(200);
  const pat = new Visitor(world.url);
  await pat.signIn('pat');
  for (const number of [1, 2, 3]) expect((await pat.approve(number)).status).toBe(303);
  await world.sync();
});

afterAll(async () => {
  await world?.close();
});

describe('Try sign-in', () => {
  it('is offered to the owner of an application with the authorization_code grant, and not to another developer', async () => {
    expect((await alice.get('/portal/apps/webshop')).html).toContain('<a class="button" href="/portal/apps/webshop/try-sign-in">Try sign-in</a>');
    const bob = new Visitor(world.url);
    await bob.signIn('bob');
    const refused = await bob.get('/portal/apps/webshop/try-sign-in');
    expect(refused.status).toBe(403);
    expect(refused.html).toContain('webshop is not yours: only its owners, who hold the developer role, act on it.');
  });

  it('says which redirect URI to register when the application does not list the portal’s callback', async () => {
    const page = await alice.get('/portal/apps/elsewhere/try-sign-in');
    expect(page.status).toBe(200);
    expect(page.html).toContain(`<code id="callback-url">${CALLBACK}</code>`);
    expect(page.headers.get('location')).toBeNull();
  });

  it('runs the flow through the real endpoints: consent, the callback asks the secret, and shows the claims it got', async () => {
    const start = await alice.get('/portal/apps/webshop/try-sign-in');
    expect(start.status).toBe(303);
    const authorize = new URL(start.location!, ISSUER);
    expect(authorize.pathname).toBe('/oauth2/authorize');
    expect(Object.fromEntries([...authorize.searchParams].map(([key, value]) => [key, /^[A-Za-z0-9_-]{43}$/.test(value) ? 'random' : value]))).toEqual({
      response_type: 'code', client_id: expect.stringMatching(/^mk-/), redirect_uri: CALLBACK, scope: 'open', state: 'random', nonce: 'random', code_challenge: 'random', code_challenge_method: 'S256',
    });
    const toPortal = await alice.get(local(start.location!));
    expect(toPortal.status).toBe(303);
    const consent = await alice.get(local(toPortal.location!));
    expect(consent.status).toBe(200);
    expect(consent.html).toContain('wants to sign you in');
    const allowed = await alice.post(local(toPortal.location!), { _csrf: csrfOf(consent.html), decision: 'allow' });
    expect(allowed.status).toBe(303);
    const callback = new URL(allowed.location!);
    expect(`${callback.origin}${callback.pathname}`).toBe(CALLBACK);
    expect(callback.searchParams.get('state')).toBe(authorize.searchParams.get('state'));
    expect(callback.searchParams.get('iss')).toBe(ISSUER);

    const asked = await alice.get(local(allowed.location!));
    expect(asked.status).toBe(200);
    expect(asked.html).toContain('<label for="client_secret">Client secret</label>');
    const wrong = await alice.post('/portal/try-sign-in/callback', { _csrf: csrfOf(asked.html), code: callback.searchParams.get('code')!, client_secret: 'not-the-secret' });
    expect(wrong.status).toBe(400);
    expect(wrong.html).toContain('<code>invalid_client</code>');
    // The attempt ended with that answer: its cookie is gone, so the code cannot be tried again from here.
    const again = await alice.post('/portal/try-sign-in/callback', { _csrf: csrfOf(asked.html), code: callback.searchParams.get('code')!, client_secret: secret });
    expect(again.status).toBe(400);
    expect(again.html).toContain('This sign-in attempt is unknown or expired.');
  });

  it('exchanges the code with the secret and shows the access token’s claims; a remembered consent skips the page', async () => {
    const start = await alice.get('/portal/apps/webshop/try-sign-in');
    const toPortal = await alice.get(local(start.location!));
    const completed = await alice.get(local(toPortal.location!));
    expect(completed.status).toBe(303);
    const asked = await alice.get(local(completed.location!));
    const code = new URL(completed.location!).searchParams.get('code')!;
    const result = await alice.post('/portal/try-sign-in/callback', { _csrf: csrfOf(asked.html), code, client_secret: secret });
    expect(result.status).toBe(200);
    expect(result.html).toContain('The authorization code was exchanged');
    expect(result.html).toContain('<div><dt><code>sub</code></dt><dd><code>user:alice</code></dd></div>');
    expect(result.html).toContain('<div><dt><code>scope</code></dt><dd><code>open</code></dd></div>');
    expect(result.html).toContain('None: the application did not ask for the <code>openid</code> scope.');
  });

  it('exchanges a public client’s code at once, by its client id, and shows the ID token with the nonce it was sent', async () => {
    const start = await alice.get('/portal/apps/spa/try-sign-in');
    const nonce = new URL(start.location!, ISSUER).searchParams.get('nonce')!;
    const toPortal = await alice.get(local(start.location!));
    const consent = await alice.get(local(toPortal.location!));
    expect(consent.html).toContain('<h1 id="consent-title">Shop SPA wants to sign you in</h1>');
    const allowed = await alice.post(local(toPortal.location!), { _csrf: csrfOf(consent.html), decision: 'allow' });
    const result = await alice.get(local(allowed.location!));
    expect(result.status).toBe(200);
    expect(result.html).toContain('The authorization code was exchanged');
    expect(result.html).toContain('<p>Its <code>nonce</code> is the one the portal sent.</p>');
    expect(result.html).toContain(`<div><dt><code>nonce</code></dt><dd><code>${nonce}</code></dd></div>`);
    expect(result.html).toContain('<div><dt><code>sub</code></dt><dd><code>user:alice</code></dd></div>');
    expect(result.html).toContain('<div><dt><code>scope</code></dt><dd><code>openid profile</code></dd></div>');
    expect(result.html).not.toContain('client_secret');
  });

  it('refuses a callback whose state is not the attempt’s, or that names another issuer, and one from another session', async () => {
    const start = await alice.get('/portal/apps/webshop/try-sign-in');
    const state = new URL(start.location!, ISSUER).searchParams.get('state')!;
    const forged = await alice.get(`/portal/try-sign-in/callback?code=x&state=other&iss=${encodeURIComponent(ISSUER)}`);
    expect(forged.status).toBe(400);
    expect(forged.html).toContain('The answer’s state is not the one the portal sent: it does not belong to this attempt.');
    const mixUp = await alice.get(`/portal/try-sign-in/callback?code=x&state=${state}&iss=${encodeURIComponent('https://evil.example')}`);
    expect(mixUp.status).toBe(400);
    expect(mixUp.html).toContain('The answer does not come from this server (its iss parameter is missing or another issuer’s).');
    // The same cookie in another session of the same user does not verify: it is signed with the session's token.
    const other = new Visitor(world.url);
    await other.signIn('alice');
    const cookieName = 'mergekey-try-sign-in';
    other.setCookie(cookieName, alice.cookie(cookieName)!);
    const stolen = await other.get(`/portal/try-sign-in/callback?code=x&state=${state}&iss=${encodeURIComponent(ISSUER)}`);
    expect(stolen.status).toBe(400);
    expect(stolen.html).toContain('This sign-in attempt is unknown or expired.');
  });
});
