// Every response under /portal carries the portal's security headers, whatever answers it: a
// page, a redirect, a refusal, a 404 for a path or a method the portal does not have, a body it
// cannot read, an asset. Over real HTTP against the portal alone (no git needed).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CSP } from './responses.ts';
import { PEOPLE, startPortalAlone, Visitor, type PortalAlone } from '../../test/support/portal.ts';

let portal: PortalAlone;
let https: PortalAlone;

beforeAll(async () => {
  portal = await startPortalAlone();
  https = await startPortalAlone({ issuer: () => 'https://auth.example.com' });
});

afterAll(async () => {
  await portal?.close();
  await https?.close();
});

function expectPortalHeaders(headers: Headers, what: string, cache = 'no-store'): void {
  expect({
    csp: headers.get('content-security-policy'),
    nosniff: headers.get('x-content-type-options'),
    referrer: headers.get('referrer-policy'),
    frame: headers.get('x-frame-options'),
    coop: headers.get('cross-origin-opener-policy'),
    cache: headers.get('cache-control'),
  }, what).toEqual({ csp: CSP, nosniff: 'nosniff', referrer: 'same-origin', frame: 'DENY', coop: 'same-origin', cache });
}

async function send(method: string, path: string, init: { body?: string; headers?: Record<string, string> } = {}) {
  const response = await fetch(`${portal.url}${path}`, { method, redirect: 'manual', ...init });
  return { status: response.status, headers: response.headers, body: await response.text() };
}

describe('portal security headers', () => {
  it('are on a 404 for a path the portal does not have, with the portal’s own page and no echo of the path', async () => {
    for (const path of ['/portal/no-such-page', '/portal/apps/billing/nope/deeper', '/portal/%3Cscript%3Ealert(1)%3C/script%3E']) {
      const answer = await send('GET', path);
      expect(answer.status, path).toBe(404);
      expectPortalHeaders(answer.headers, path);
      expect(answer.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(answer.body).toContain('<h1 id="error-title">Not found</h1>');
      expect(answer.body).toContain('There is no such page in the portal.');
      expect(answer.body).not.toContain('<script>');
      expect(answer.body).not.toContain('no-such-page');
    }
  });

  it('are the portal’s alone: a 404 outside /portal is not a portal page', async () => {
    for (const path of ['/oauth2/nope', '/portalx']) {
      const answer = await send('GET', path);
      expect(answer.status, path).toBe(404);
      expect(answer.headers.get('content-security-policy'), path).toBeNull();
      expect(JSON.parse(answer.body), path).toEqual({ message: `Route GET:${path} not found`, error: 'Not Found', statusCode: 404 });
    }
  });

  it('are on a 405 for a method a portal page does not answer, which says the methods it does (RFC 9110 15.5.6)', async () => {
    for (const [method, path, allow] of [
      ['PUT', '/portal/apps', 'GET, HEAD, POST'],
      ['DELETE', '/portal/sign-in', 'GET, HEAD, POST'],
      ['PATCH', '/portal/apps/billing', 'GET, HEAD'],
      ['OPTIONS', '/portal/apps/billing/tokens/at_1/revoke', 'GET, HEAD, POST'],
      ['GET', '/portal/sign-out', 'POST'],
      ['POST', '/portal/no-such-page', undefined],
    ] as const) {
      const answer = await send(method, path);
      expect({ status: answer.status, allow: answer.headers.get('allow') ?? undefined }, `${method} ${path}`).toEqual({ status: allow === undefined ? 404 : 405, allow });
      expectPortalHeaders(answer.headers, `${method} ${path}`);
      expect(answer.body).toContain(allow === undefined ? 'There is no such page in the portal.' : 'This page cannot be used that way.');
    }
  });

  it('are on redirects, refusals and bodies the portal cannot read', async () => {
    const landing = await send('GET', '/portal');
    expect(landing.status).toBe(303);
    expectPortalHeaders(landing.headers, 'GET /portal');
    const signedOut = await send('GET', '/portal/apps');
    expect(signedOut.status).toBe(303);
    expect(signedOut.headers.get('location')).toBe('/portal/sign-in?next=%2Fportal%2Fapps');
    expectPortalHeaders(signedOut.headers, 'GET /portal/apps signed out');
    const unreadable = await send('POST', '/portal/sign-in', { body: 'name=alice', headers: { 'content-type': 'application/xml' } });
    expect(unreadable.status).toBe(415);
    expectPortalHeaders(unreadable.headers, 'xml sign-in');
    expect(unreadable.body).toContain('The request could not be read.');
    const notSignedIn = await send('POST', '/portal/apps/billing/deactivate', { body: '_csrf=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(notSignedIn.status).toBe(401);
    expectPortalHeaders(notSignedIn.headers, 'POST signed out');
  });

  it('are on assets, found or not (found ones may be cached under their versioned URL)', async () => {
    const page = await send('GET', '/portal/sign-in');
    const css = /href="(\/portal\/assets\/portal\.css\?v=[^"]+)"/.exec(page.body)![1]!;
    const found = await send('GET', css);
    expect(found.status).toBe(200);
    expectPortalHeaders(found.headers, css, 'public, max-age=31536000, immutable');
    const missing = await send('GET', '/portal/assets/nope.css');
    expect(missing.status).toBe(404);
    expectPortalHeaders(missing.headers, 'missing asset');
    expect(missing.body).toContain('There is no such page in the portal.');
  });
});

describe('sign-in redirects', () => {
  it('go only to a plain path inside the portal: anything else, even unencodable, lands on My Applications, never on a 500', async () => {
    for (const next of ['/portal/apps/\u00e9t\u00e9', '/portal/apps\u0000', 'https://evil.example/portal/apps', '//evil.example/portal/', '/portal/../../evil', `/portal/${'a'.repeat(3000)}`, '/portal/apps/billing']) {
      const visitor = new Visitor(portal.url);
      const answer = await visitor.post('/portal/sign-in', { _csrf: await visitor.csrf('/portal/sign-in'), name: 'alice', password: PEOPLE.alice.password, next });
      expect(answer.status, next).toBe(303);
      expect(answer.location, next).toBe(next === '/portal/apps/billing' ? '/portal/apps/billing' : '/portal/apps');
      expectPortalHeaders(answer.headers, next);
    }
  });

  it('show the sign-in page for a next given twice, with no next to go to', async () => {
    const page = await fetch(`${portal.url}/portal/sign-in?next=%2Fportal%2Fapps&next=%2Fportal%2Fapps%2Fbilling`);
    expect(page.status).toBe(200);
    expect(await page.text()).not.toContain('name="next"');
  });
});

describe('cookies under an https issuer', () => {
  it('are cleared with the attributes they were set with, or a browser keeps a __Host- cookie', async () => {
    const form = await fetch(`${https.url}/portal/sign-in`);
    const presession = form.headers.getSetCookie().find((cookie) => cookie.startsWith('__Host-mergekey-signin='))!;
    expect(presession).toMatch(/; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    const token = /name="_csrf" value="([^"]*)"/.exec(await form.text())![1]!;
    const signedIn = await fetch(`${https.url}/portal/sign-in`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: presession.split(';')[0]! },
      body: new URLSearchParams({ _csrf: token, name: 'alice', password: PEOPLE.alice.password }),
    });
    expect(signedIn.status).toBe(303);
    const set = signedIn.headers.getSetCookie();
    const cleared = set.find((cookie) => cookie.startsWith('__Host-mergekey-signin='))!;
    expect(cleared).toMatch(/^__Host-mergekey-signin=; Max-Age=0; Path=\/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax$/);
    expect(set.find((cookie) => cookie.startsWith('__Host-mergekey-device='))).toMatch(/^__Host-mergekey-device=alice\.\d+\.[A-Za-z0-9_-]{43}; Max-Age=2592000; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    const session = set.find((cookie) => cookie.startsWith('__Host-mergekey-session='))!.split(';')[0]!;
    const page = await fetch(`${https.url}/portal/apps/new`, { headers: { cookie: session }, redirect: 'manual' });
    const csrf = /name="_csrf" value="([^"]*)"/.exec(await page.text())![1]!;
    const out = await fetch(`${https.url}/portal/sign-out`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: session },
      body: new URLSearchParams({ _csrf: csrf }),
    });
    expect(out.status).toBe(303);
    const gone = out.headers.getSetCookie().find((cookie) => cookie.startsWith('__Host-mergekey-session='))!;
    expect(gone).toMatch(/^__Host-mergekey-session=; Max-Age=0; Path=\/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax$/);
  });
});

describe('CSRF', () => {
  it('guards every state-changing route the portal has: a signed-in post without the form token does nothing', async () => {
    const visitor = new Visitor(portal.url, { from: '127.0.0.40' });
    await visitor.signIn('quinn');
    const posts = portal.routes.filter((route) => route.method !== 'GET');
    expect(posts.length).toBeGreaterThan(10);
    for (const { method, url } of posts) {
      expect(method, url).toBe('POST');
      const path = url.replace(':name', 'billing').replace(':id', 'at_x').replace(':number', '1');
      const answer = await visitor.post(path, { name: 'quinn', password: PEOPLE.quinn.password, description: 'x', reason: 'x', confirm: 'yes' });
      expect(answer.status, path).toBe(403);
      expect(answer.html, path).toContain(path === '/portal/sign-in'
        ? 'The sign-in form expired or did not come from this portal. Try again.'
        : 'The form expired or did not come from this portal, so nothing was done.');
    }
  });
});
