// The portal's hostile cases over real HTTP against a real `mergekey serve`: other people's
// applications, forged forms, dead sessions, password guessing, and markup in what users type.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CSP } from './responses.ts';
import { PEOPLE, startPortalWorld, Visitor, type PortalWorld } from '../../test/support/portal.ts';

let world: PortalWorld;
let alice: Visitor;
let bob: Visitor;

/** How many pull requests exist: a refused action must not have opened one. */
async function pullCount(): Promise<number> {
  return (await world.github.listPullRequests({ state: 'all' })).length;
}

function csrfOf(html: string): string {
  return /name="_csrf" value="([^"]*)"/.exec(html)![1]!;
}

beforeAll(async () => {
  world = await startPortalWorld();
  alice = new Visitor(world.url);
  await alice.signIn('alice');
  const created = await alice.post('/portal/apps', {
    _csrf: await alice.csrf('/portal/apps/new'),
    name: 'billing',
    description: 'Bills customers monthly.',
    grantType: 'client_credentials',
  });
  expect(created.status).toBe(200);
  const pat = new Visitor(world.url);
  await pat.signIn('pat');
  const approved = await pat.approve(1);
  expect(approved.status).toBe(303);
  await world.sync();
  bob = new Visitor(world.url);
  await bob.signIn('bob');
});

afterAll(async () => {
  await world?.close();
});

describe('another developer’s application', () => {
  it('is not in their list; its page answers 403, and a name nobody knows 404', async () => {
    const list = await bob.get('/portal/apps');
    expect(list.status).toBe(200);
    expect(list.html).not.toContain('billing');
    expect(list.html).toContain('No applications yet.');
    const page = await bob.get('/portal/apps/billing');
    expect(page.status).toBe(403);
    expect(page.html).toContain('billing is not yours: only its owners and the publishers may see it.');
    const missing = await bob.get('/portal/apps/no-such-app');
    expect(missing.status).toBe(404);
    expect(missing.html).toContain('There is no application no-such-app.');
  });

  it('refuses every action on it with 403, even crafted with a valid CSRF token, and opens no request', async () => {
    const before = await pullCount();
    const csrf = await bob.csrf('/portal/apps');
    const crafted: [string, Record<string, string>][] = [
      ['/portal/apps/billing/edit', { description: 'Mine now.', grantType: 'client_credentials', confirm: 'yes' }],
      ['/portal/apps/billing/deactivate', {}],
      ['/portal/apps/billing/reactivate', {}],
      ['/portal/apps/billing/rotate', {}],
      ['/portal/apps/billing/cancel', {}],
      ['/portal/apps/billing/token', { grant_type: 'client_credentials', client_secret: 'guess' }],
      ['/portal/apps/billing/tokens/at_x/revoke', {}],
    ];
    for (const [path, form] of crafted) {
      const response = await bob.post(path, { _csrf: csrf, ...form });
      expect(response.status, path).toBe(403);
    }
    for (const path of ['/portal/apps/billing/edit', '/portal/apps/billing/deactivate', '/portal/apps/billing/rotate']) {
      expect((await bob.get(path)).status, path).toBe(403);
    }
    expect((await bob.get('/portal/review')).status).toBe(403);
    expect((await bob.post('/portal/review/1/approve', { _csrf: csrf })).status).toBe(403);
    expect(await pullCount()).toBe(before);
  });
});

describe('forms', () => {
  it('refuses a post without the CSRF token, with another session’s, or from another site, and does nothing', async () => {
    const before = await pullCount();
    const bobs = await bob.csrf('/portal/apps');
    const mine = await alice.csrf('/portal/apps/billing/deactivate');
    for (const form of [{}, { _csrf: '' }, { _csrf: bobs }] as Record<string, string>[]) {
      const response = await alice.post('/portal/apps/billing/deactivate', form);
      expect(response.status).toBe(403);
      expect(response.html).toContain('The form expired or did not come from this portal, so nothing was done.');
    }
    const crossSite = await alice.post('/portal/apps/billing/deactivate', { _csrf: mine }, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' });
    expect(crossSite.status).toBe(403);
    expect(await pullCount()).toBe(before);
    expect((await alice.get('/portal/apps/billing')).html).toContain('state--active');
  });

  it('escapes what users type, and says what is wrong with a field', async () => {
    const csrf = await alice.csrf('/portal/apps/new');
    const bad = await alice.post('/portal/apps', { _csrf: csrf, name: '<b>x</b>', description: '', redirectUris: 'ftp://x', grantType: 'client_credentials' });
    expect(bad.status).toBe(400);
    expect(bad.html).not.toContain('<b>x</b>');
    expect(bad.html).toContain('value="&lt;b&gt;x&lt;/b&gt;"');
    expect(bad.html).toContain('Enter a description: publishers read it to decide.');
    expect(bad.html).toContain('“ftp://x” is not a redirect URI: use an absolute http:// or https:// URI, without a fragment (#) or spaces.');
    expect(bad.html).toMatch(/id="description" name="description"[^>]* aria-invalid="true" aria-describedby="description-hint description-error"/);

    const created = await alice.post('/portal/apps', {
      _csrf: csrf,
      name: 'scripted',
      description: '<script>alert("owned")</script>',
      redirectUris: 'https://app.example.com/cb',
      grantType: 'client_credentials',
    });
    expect(created.status).toBe(200);
    const page = await alice.get('/portal/apps/scripted');
    expect(page.html).not.toContain('<script>alert');
    expect(page.html).toContain('&lt;script&gt;alert(&quot;owned&quot;)&lt;/script&gt;');
  });

  it('refuses an edit while the application awaits approval, with a clear message', async () => {
    const page = await alice.get('/portal/apps/scripted/edit');
    expect(page.status).toBe(409);
    expect(page.html).toMatch(/Edit is not available: Create request #\d+ awaits approval\./);
  });
});

describe('sessions', () => {
  it('sets an HttpOnly, SameSite=Lax session cookie and serves every page with a strict CSP', async () => {
    const visitor = new Visitor(world.url);
    const form = await visitor.get('/portal/sign-in');
    expect(form.headers.get('content-security-policy')).toBe(CSP);
    expect(form.headers.get('x-content-type-options')).toBe('nosniff');
    expect(form.headers.get('referrer-policy')).toBe('same-origin');
    expect(form.headers.get('cache-control')).toBe('no-store');
    const response = await fetch(`${world.url}/portal/sign-in`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `mergekey-signin=${visitor.cookie('mergekey-signin')}` },
      body: new URLSearchParams({ _csrf: csrfOf(form.html), name: 'alice', password: PEOPLE.alice.password }),
    });
    expect(response.status).toBe(303);
    const cookie = response.headers.getSetCookie().find((header) => header.startsWith('mergekey-session='))!;
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; SameSite=Lax/);
    expect(cookie).toMatch(/; Path=\//);
    // The issuer is http here: Secure would make the cookie unusable (https issuers get Secure and __Host-).
    expect(cookie).not.toMatch(/Secure/);
  });

  it('makes the session cookie useless after sign-out', async () => {
    const visitor = new Visitor(world.url);
    await visitor.signIn('alice');
    const cookie = visitor.cookie('mergekey-session')!;
    const csrf = await visitor.csrf('/portal/apps/billing/deactivate');
    const out = await visitor.post('/portal/sign-out', { _csrf: csrf });
    expect(out.status).toBe(303);
    expect(out.location).toBe('/portal/sign-in?signed-out=1');

    const replay = new Visitor(world.url);
    replay.setCookie('mergekey-session', cookie);
    const page = await replay.get('/portal/apps/billing');
    expect(page.status).toBe(303);
    expect(page.location).toBe('/portal/sign-in?next=%2Fportal%2Fapps%2Fbilling');
    const before = await pullCount();
    const post = await replay.post('/portal/apps/billing/deactivate', { _csrf: csrf });
    expect(post.status).toBe(401);
    expect(await pullCount()).toBe(before);
  });

  it('refuses a sign-in form that did not come from the portal', async () => {
    const response = await new Visitor(world.url).post('/portal/sign-in', { _csrf: 'x'.repeat(43), name: 'alice', password: PEOPLE.alice.password });
    expect(response.status).toBe(403);
    expect(response.html).toContain('The sign-in form expired or did not come from this portal. Try again.');
  });

  it('answers a wrong password and an unknown user alike, and throttles a user after five failures', async () => {
    const visitor = new Visitor(world.url);
    const attempt = async (name: string, password: string) => visitor.post('/portal/sign-in', { _csrf: await visitor.csrf('/portal/sign-in'), name, password });
    const unknown = await attempt('nobody', 'whatever');
    expect(unknown.status).toBe(401);
    expect(unknown.html).toContain('The user name or password is wrong.');
    for (let i = 0; i < 5; i += 1) expect((await attempt('quinn', `wrong-${i}`)).status).toBe(401);
    const locked = await attempt('quinn', PEOPLE.quinn.password);
    expect(locked.status).toBe(429);
    expect(locked.html).toContain('Too many failed sign-ins.');
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(800);
    // Others are not locked out by it.
    expect((await attempt('bob', PEOPLE.bob.password)).status).toBe(303);
  });
});
