// The portal's side of signing a person in to an application (/portal/authorize) and of
// Authorized applications, over real HTTP against the portal alone on a real LMDB store. The
// authorization endpoint's functions (PortalDeps.authorization, controller/oauth/authorize.ts in
// the server) are stood in for by an object that records what the portal asked of it: the whole
// flow with the real endpoint, a real client and Chromium is test/e2e/sign-in.test.ts.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { handlesOf } from '../store/handles.ts';
import type { ApplicationRecord } from '../store/records.ts';
import { TOKEN_STATE_VERSION, type AccessTokenRecord } from '../store/token-state.ts';
import { PEOPLE, startPortalAlone, Visitor, type PortalAlone, type Person } from '../../test/support/portal.ts';
import type { AuthorizationParse, AuthorizationRequest, PortalAuthorization } from './context.ts';
import { OAuthError } from '../oauth/errors.ts';
import { CSP } from './responses.ts';

const CALLBACK = 'https://app.example.com/callback';
const CLIENT_ORIGIN = 'https://app.example.com';
const ISS = 'http://127.0.0.1';
const SIGNED_IN_AT = Date.parse('2026-01-05T09:00:00Z');

function application(name: string, extra: Record<string, unknown> = {}): ApplicationRecord {
  return {
    v: 1, name, path: `apps/${name}.yaml`, commit: 'a'.repeat(40), secrets: [],
    spec: {
      displayName: name === 'webshop' ? 'Web Shop' : `App ${name}`,
      description: `The ${name} application <b>for people</b>.`,
      owners: ['bob', 'quinn'],
      clientId: `mk_${name}`,
      state: 'active',
      scopes: ['openid', 'profile', 'email', 'invoices:read'],
      grantTypes: ['authorization_code', 'refresh_token'],
      redirectUris: [CALLBACK],
      tokenEndpointAuthMethod: 'none',
      ...extra,
    } as ApplicationRecord['spec'],
  };
}

/** What the portal asked of the authorization endpoint. */
interface Calls {
  completed: { app: string; scopes: string[]; user: string; authTime: number }[];
  denied: { app: string; error: string | undefined }[];
}

/**
 * A stand-in for controller/oauth/authorize.ts: a request names a client by `client_id`; an
 * unknown one gets the error page, `response_type` other than `code` an error redirect, anything
 * else is valid. Completing and denying answer the redirect the real functions would.
 */
function standIn(portal: () => PortalAlone, calls: Calls): PortalAuthorization {
  const back = (request: AuthorizationRequest, params: Record<string, string>) => {
    const url = new URL(request.redirectUri);
    for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
    if (request.state !== undefined) url.searchParams.set('state', request.state);
    url.searchParams.set('iss', ISS);
    return url.href;
  };
  return {
    parse(query): AuthorizationParse {
      const text = (key: string) => (typeof query[key] === 'string' ? (query[key] as string) : undefined);
      const app = portal().store.config.applications().find((candidate) => candidate.spec.clientId === text('client_id'));
      if (app === undefined || text('redirect_uri') !== CALLBACK) return { kind: 'error-page', status: 400, message: 'The application is unknown, or the address it asked to return to is not registered.' };
      if (text('response_type') !== 'code') return { kind: 'redirect', location: `${CALLBACK}?error=unsupported_response_type&iss=${encodeURIComponent(ISS)}` };
      const state = text('state');
      const nonce = text('nonce');
      const prompt = text('prompt');
      const maxAge = text('max_age');
      return {
        kind: 'ok',
        request: {
          app, clientId: app.spec.clientId, redirectUri: CALLBACK, scopes: (text('scope') ?? '').split(' ').filter((scope) => scope !== ''),
          codeChallenge: text('code_challenge') ?? '',
          ...(state === undefined ? {} : { state }), ...(nonce === undefined ? {} : { nonce }), ...(prompt === undefined ? {} : { prompt }),
          ...(maxAge === undefined ? {} : { maxAge: Number(maxAge) }),
        },
      };
    },
    async complete(request, who) {
      // As completeAuthorization does for an application deactivated since the request was checked.
      if (request.app.name === 'retired') throw new OAuthError('access_denied', 'the application can no longer sign people in');
      calls.completed.push({ app: request.app.name, scopes: request.scopes, ...who });
      return back(request, { code: `code-${calls.completed.length}` });
    },
    deny(request, error) {
      calls.denied.push({ app: request.app.name, error });
      return back(request, { error: error ?? 'access_denied' });
    },
  };
}

let portal: PortalAlone;
let bare: PortalAlone;
const calls: Calls = { completed: [], denied: [] };

beforeAll(async () => {
  portal = await startPortalAlone({ authorization: standIn(() => portal, calls) });
  bare = await startPortalAlone();
  const handles = handlesOf(portal.store);
  for (const record of [application('webshop'), application('retired'), application('firstparty', { consent: 'skip' }), application('claimsfirst', { consent: 'skip' })]) {
    await handles.applications.put(record.name, record);
  }
  await handles.apis.put('invoices', {
    v: 1, name: 'invoices', path: 'apis/invoices.yaml', commit: 'a'.repeat(40),
    spec: { displayName: 'Invoices API', description: 'Invoices.', audience: 'https://invoices.example.com', scopes: [{ name: 'invoices:read', description: 'Read your invoices.' }] },
  });
  // Only firstparty is listed as first-party: claimsfirst says `consent: skip` on its own.
  await handles.settings.put('settings', { v: 1, name: 'mergekey', path: 'mergekey.yaml', commit: 'a'.repeat(40), spec: { issuer: ISS, firstPartyApps: ['firstparty'] } as never });
});

afterAll(async () => {
  await portal?.close();
  await bare?.close();
});

beforeEach(() => {
  calls.completed.length = 0;
  calls.denied.length = 0;
});

function authorizeQuery(params: Record<string, string> = {}): Record<string, string> {
  return {
    response_type: 'code', client_id: 'mk_webshop', redirect_uri: CALLBACK, scope: 'openid profile invoices:read',
    state: 'st-123', nonce: 'n-456', code_challenge: 'E9Melhoofq3-Be5Q3ZKPcRXy2tTSsRPJZ0PUQoXMVsM', code_challenge_method: 'S256', ...params,
  };
}

/** The query as /oauth2/authorize forwards it: as the client sent it, `//` and `:` unencoded. */
function raw(params: Record<string, string>): string {
  return Object.entries(params).map(([key, value]) => `${key}=${value.replaceAll(' ', '%20')}`).join('&');
}

/** The canonical form the portal carries the request in (URLSearchParams encoding). */
function canonical(params: Record<string, string>): string {
  return `/portal/authorize?${new URLSearchParams(params).toString()}`;
}

async function signedIn(person: Person = 'alice'): Promise<Visitor> {
  const visitor = new Visitor(portal.url);
  await visitor.signIn(person);
  return visitor;
}

function expectHeaders(headers: Headers, csp = CSP): void {
  expect({ csp: headers.get('content-security-policy'), frame: headers.get('x-frame-options'), cache: headers.get('cache-control') })
    .toEqual({ csp, frame: 'DENY', cache: 'no-store' });
}

const CONSENT_CSP = CSP.replace("form-action 'self'", `form-action 'self' ${CLIENT_ORIGIN}`);

describe('/portal/authorize, signed out', () => {
  it('sends the browser to the portal’s sign-in with `next` back to the request, which sign-in takes and returns to', async () => {
    const visitor = new Visitor(portal.url);
    const params = authorizeQuery();
    const first = await visitor.get(`/portal/authorize?${raw(params)}`);
    expect(first.status).toBe(303);
    expect(first.location).toBe(`/portal/sign-in?next=${encodeURIComponent(canonical(params))}`);
    expectHeaders(first.headers);

    const signIn = await visitor.get(first.location!);
    expect(signIn.status).toBe(200);
    expect(signIn.html).toContain(`<input type="hidden" name="next" value="${canonical(params).replaceAll('&', '&amp;')}">`);
    expect(signIn.html).toContain('<p class="lead">to continue to <strong>Web Shop</strong></p>');
    // Signing in may complete the request at once (a remembered consent): the 303 chain ends at the client.
    expectHeaders(signIn.headers, CONSENT_CSP);

    const token = /name="_csrf" value="([^"]*)"/.exec(signIn.html)![1]!;
    const posted = await visitor.post('/portal/sign-in', { _csrf: token, name: 'alice', password: PEOPLE.alice.password, next: canonical(params) });
    expect(posted.status).toBe(303);
    expect(posted.location).toBe(canonical(params));
    const consent = await visitor.get(posted.location!);
    expect(consent.status).toBe(200);
    expect(consent.html).toContain('<h1 id="consent-title">Web Shop wants to sign you in</h1>');
    expect(calls.completed).toEqual([]);
  });

  it('answers prompt=none with login_required and shows no page (OpenID Connect Core 3.1.2.6)', async () => {
    const answer = await new Visitor(portal.url).get(canonical(authorizeQuery({ prompt: 'none' })));
    expect(answer.status).toBe(303);
    expect(answer.location).toBe(`${CALLBACK}?error=login_required&state=st-123&iss=${encodeURIComponent(ISS)}`);
    expect(calls.denied).toEqual([{ app: 'webshop', error: 'login_required' }]);
  });

  it('refuses a decision posted without a session, and asks nothing of the endpoint', async () => {
    const answer = await new Visitor(portal.url).post(canonical(authorizeQuery()), { decision: 'allow' });
    expect(answer.status).toBe(401);
    expect(calls).toEqual({ completed: [], denied: [] });
  });
});

describe('/portal/authorize, signed in', () => {
  it('shows the consent page: the application, its owners, each scope in words, Allow and Deny with the CSRF token; unframeable', async () => {
    const visitor = await signedIn('alice');
    const params = authorizeQuery({ scope: 'openid profile email invoices:read' });
    const page = await visitor.get(`/portal/authorize?${raw(params)}`);
    expect(page.status).toBe(200);
    expectHeaders(page.headers, CONSENT_CSP);
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(page.html).toContain('<p>The webshop application &lt;b&gt;for people&lt;/b&gt;.</p>');
    expect(page.html).toContain('<div><dt>Registered by</dt><dd>bob, quinn</dd></div>');
    expect(page.html).toContain(`<div><dt>Returns you to</dt><dd><code>${CLIENT_ORIGIN}</code></dd></div>`);
    for (const line of [
      '<li><code>openid</code>: Sign you in with your Mergekey account (it learns your user name).</li>',
      '<li><code>profile</code>: See your name and user name.</li>',
      '<li><code>email</code>: See your email address.</li>',
      '<li><code>invoices:read</code>: Read your invoices. <span class="hint">(Invoices API)</span></li>',
    ]) expect(page.html).toContain(line);
    expect(page.html).toContain(`<form method="post" action="${canonical(params).replaceAll('&', '&amp;')}" class="form">`);
    expect(page.html).toMatch(/<input type="hidden" name="_csrf" value="[A-Za-z0-9_-]{20,}">\s*<div class="actions">\s*<button type="submit" name="decision" value="allow"/);
    expect(calls).toEqual({ completed: [], denied: [] });
  });

  it('refuses a decision without the session’s CSRF token, with another session’s, or from another site: nothing issued, nothing remembered', async () => {
    const visitor = await signedIn('bob');
    const other = await signedIn('alice');
    const action = canonical(authorizeQuery());
    const otherToken = await other.csrf(action);
    const ownToken = await visitor.csrf(action);
    for (const [form, headers, words] of [
      [{ decision: 'allow' }, {}, 'The form expired or did not come from this portal, so nothing was done.'],
      [{ decision: 'allow', _csrf: otherToken }, {}, 'The form expired or did not come from this portal, so nothing was done.'],
      [{ decision: 'allow', _csrf: ownToken }, { 'sec-fetch-site': 'cross-site' }, 'This form was not sent from the portal.'],
    ] as const) {
      const answer = await visitor.post(action, form, headers);
      expect(answer.status).toBe(403);
      expect(answer.html).toContain(words);
    }
    expect(calls).toEqual({ completed: [], denied: [] });
    expect(await portal.store.consents.get('bob', 'webshop')).toBeUndefined();
  });

  it('Allow remembers exactly the scopes asked for and completes with the user and when they signed in; a subset then skips the page, more asks again', async () => {
    const visitor = await signedIn('pat');
    const params = authorizeQuery({ scope: 'openid profile' });
    const token = await visitor.csrf(canonical(params));
    const allowed = await visitor.post(canonical(params), { _csrf: token, decision: 'allow' });
    expect(allowed.status).toBe(303);
    expect(allowed.location).toBe(`${CALLBACK}?code=code-1&state=st-123&iss=${encodeURIComponent(ISS)}`);
    expect(calls.completed).toEqual([{ app: 'webshop', scopes: ['openid', 'profile'], user: 'pat', authTime: SIGNED_IN_AT / 1000 }]);
    expect(await portal.store.consents.get('pat', 'webshop')).toMatchObject({ scopes: ['openid', 'profile'], grantedAt: SIGNED_IN_AT });

    const again = await visitor.get(canonical(authorizeQuery({ scope: 'openid', state: 'st-2' })));
    expect(again.status).toBe(303);
    expect(again.location).toBe(`${CALLBACK}?code=code-2&state=st-2&iss=${encodeURIComponent(ISS)}`);

    const more = await visitor.get(canonical(authorizeQuery({ scope: 'openid profile invoices:read' })));
    expect(more.status).toBe(200);
    expect(more.html).toContain('<h2 id="scopes-title">It now also asks to</h2>');
    expect(calls.completed).toHaveLength(2);
    // What was remembered stays what was agreed to: asking for more changed nothing.
    expect((await portal.store.consents.get('pat', 'webshop'))?.scopes).toEqual(['openid', 'profile']);

    // prompt=consent asks even though the consent covers the request.
    const forced = await visitor.get(canonical(authorizeQuery({ scope: 'openid', prompt: 'consent' })));
    expect(forced.status).toBe(200);
    expect(forced.html).toContain('Web Shop wants to sign you in');
    // prompt=none with a covering consent completes, without one answers consent_required.
    const silent = await visitor.get(canonical(authorizeQuery({ scope: 'openid', prompt: 'none' })));
    expect(silent.location).toBe(`${CALLBACK}?code=code-3&state=st-123&iss=${encodeURIComponent(ISS)}`);
    const silentMore = await visitor.get(canonical(authorizeQuery({ scope: 'openid email', prompt: 'none' })));
    expect(silentMore.location).toBe(`${CALLBACK}?error=consent_required&state=st-123&iss=${encodeURIComponent(ISS)}`);
    expect(calls.denied).toEqual([{ app: 'webshop', error: 'consent_required' }]);
  });

  it('shows an error page, remembers nothing and sends nobody back when the application was deactivated since the request was checked', async () => {
    const visitor = await signedIn('alice');
    const action = canonical(authorizeQuery({ client_id: 'mk_retired' }));
    const answer = await visitor.post(action, { _csrf: await visitor.csrf(action), decision: 'allow' });
    expect(answer.status).toBe(403);
    expect(answer.location).toBeNull();
    expect(answer.html).toContain('This sign-in cannot be completed: the application can no longer sign people in.');
    expect(await portal.store.consents.get('alice', 'retired')).toBeUndefined();
  });

  it('Deny answers access_denied and remembers nothing', async () => {
    const visitor = await signedIn('alice');
    const action = canonical(authorizeQuery({ client_id: 'mk_claimsfirst' }));
    const denied = await visitor.post(action, { _csrf: await visitor.csrf(action), decision: 'deny' });
    expect(denied.status).toBe(303);
    expect(denied.location).toBe(`${CALLBACK}?error=access_denied&state=st-123&iss=${encodeURIComponent(ISS)}`);
    expect(calls).toEqual({ completed: [], denied: [{ app: 'claimsfirst', error: 'access_denied' }] });
    expect(await portal.store.consents.get('alice', 'claimsfirst')).toBeUndefined();
  });

  it('signs in to a first-party application (consent: skip, listed in firstPartyApps) without asking, and lists it to withdraw; `consent: skip` alone still asks', async () => {
    const visitor = await signedIn('alice');
    const first = await visitor.get(canonical(authorizeQuery({ client_id: 'mk_firstparty' })));
    expect(first.status).toBe(303);
    expect(first.location).toBe(`${CALLBACK}?code=code-1&state=st-123&iss=${encodeURIComponent(ISS)}`);
    expect(await portal.store.consents.get('alice', 'firstparty')).toMatchObject({ scopes: ['invoices:read', 'openid', 'profile'], firstParty: true });
    const unlisted = await visitor.get(canonical(authorizeQuery({ client_id: 'mk_claimsfirst' })));
    expect(unlisted.status).toBe(200);
    expect(unlisted.html).toContain('App claimsfirst wants to sign you in');

    // The publisher drops it from firstPartyApps: alice never consented, so now she is asked.
    const settings = handlesOf(portal.store).settings;
    const listed = settings.get('settings')!;
    await settings.put('settings', { ...listed, spec: { ...listed.spec, firstPartyApps: [] } } as never);
    try {
      const asked = await visitor.get(canonical(authorizeQuery({ client_id: 'mk_firstparty' })));
      expect(asked.status).toBe(200);
      expect(asked.html).toContain('App firstparty wants to sign you in');
      expect(calls.completed).toHaveLength(1);
    } finally {
      await settings.put('settings', listed);
    }
  });

  it('with prompt=login, sends even a signed-in user to sign in again, and back to the request without prompt=login', async () => {
    const visitor = await signedIn('alice');
    const answer = await visitor.get(canonical(authorizeQuery({ prompt: 'login consent' })));
    expect(answer.status).toBe(303);
    expect(answer.location).toBe(`/portal/sign-in?next=${encodeURIComponent(canonical(authorizeQuery({ prompt: 'consent' })))}`);
  });

  it('with max_age, sends a user who signed in longer ago than that to sign in again, and back to the request without max_age', async () => {
    const visitor = await signedIn('alice');
    const fresh = await visitor.get(canonical(authorizeQuery({ max_age: '300', prompt: 'consent' })));
    expect(fresh.status).toBe(200);
    expect(fresh.html).toContain('Web Shop wants to sign you in');
    portal.advance(301_000);
    try {
      const stale = await visitor.get(canonical(authorizeQuery({ max_age: '300', prompt: 'consent' })));
      expect(stale.status).toBe(303);
      expect(stale.location).toBe(`/portal/sign-in?next=${encodeURIComponent(canonical(authorizeQuery({ prompt: 'consent' })))}`);
      // prompt=none may not show the sign-in page: login_required, back at the client.
      const silent = await visitor.get(canonical(authorizeQuery({ max_age: '300', prompt: 'none' })));
      expect(silent.status).toBe(303);
      expect(silent.location).toBe(`${CALLBACK}?error=login_required&state=st-123&iss=${encodeURIComponent(ISS)}`);
      // A longer max_age still accepts the same sign-in.
      expect((await visitor.get(canonical(authorizeQuery({ max_age: '600', prompt: 'consent' })))).status).toBe(200);
    } finally {
      portal.advance(-301_000);
    }
  });

  it('shows the endpoint’s error page (never a redirect) and follows its error redirects, on GET and POST alike', async () => {
    const visitor = await signedIn('alice');
    const token = await visitor.csrf('/portal/apps');
    for (const send of [(path: string) => visitor.get(path), (path: string) => visitor.post(path, { _csrf: token, decision: 'allow' })]) {
      const unknown = await send(canonical(authorizeQuery({ client_id: 'mk_nobody' })));
      expect(unknown.status).toBe(400);
      expectHeaders(unknown.headers);
      expect(unknown.html).toContain('The application is unknown, or the address it asked to return to is not registered.');
      expect(unknown.location).toBeNull();
      const wrongType = await send(canonical(authorizeQuery({ response_type: 'token' })));
      expect(wrongType.status).toBe(303);
      expect(wrongType.location).toBe(`${CALLBACK}?error=unsupported_response_type&iss=${encodeURIComponent(ISS)}`);
    }
    expect(calls).toEqual({ completed: [], denied: [] });
  });

  it('is a 404 page where the server gives the portal no authorization endpoint', async () => {
    const answer = await new Visitor(bare.url).get(canonical(authorizeQuery()));
    expect(answer.status).toBe(404);
    expect(answer.html).toContain('Signing in to applications is not enabled on this server.');
  });
});

describe('Authorized applications', () => {
  const exp = SIGNED_IN_AT / 1000 + 3600;
  const access = (jti: string, sub: string, family?: string): AccessTokenRecord => ({
    v: TOKEN_STATE_VERSION, jti, clientId: 'mk_x', sub, scope: 'openid', aud: [ISS], iat: SIGNED_IN_AT / 1000, exp, ...(family === undefined ? {} : { family }),
  });

  it('lists the user’s consents; withdrawing (after a confirmation, with the CSRF token) revokes every token the app holds for them and nothing else', async () => {
    const tokens = portal.store.tokens;
    await portal.store.consents.grant('quinn', 'webshop', ['openid'], SIGNED_IN_AT, 0);
    await portal.store.consents.grant('quinn', 'firstparty', ['openid'], SIGNED_IN_AT, 0);
    await portal.store.consents.grant('bob', 'webshop', ['openid'], SIGNED_IN_AT, 0);
    await tokens.startFamily('webshop',
      { v: TOKEN_STATE_VERSION, id: 'fam-quinn', sub: 'user:quinn', iat: SIGNED_IN_AT / 1000, exp },
      { v: TOKEN_STATE_VERSION, id: 'rt-quinn', clientId: 'mk_webshop', sub: 'user:quinn', scope: 'openid', iat: SIGNED_IN_AT / 1000, exp, family: 'fam-quinn' },
      access('at-quinn-1', 'user:quinn', 'fam-quinn'));
    await tokens.startFamily('webshop',
      { v: TOKEN_STATE_VERSION, id: 'fam-bob', sub: 'user:bob', iat: SIGNED_IN_AT / 1000, exp },
      { v: TOKEN_STATE_VERSION, id: 'rt-bob', clientId: 'mk_webshop', sub: 'user:bob', scope: 'openid', iat: SIGNED_IN_AT / 1000, exp, family: 'fam-bob' },
      access('at-bob-1', 'user:bob', 'fam-bob'));
    tokens.recordAccessToken('webshop', access('at-quinn-2', 'user:quinn'));
    tokens.recordAccessToken('firstparty', access('at-quinn-other-app', 'user:quinn'));
    // Not yet written: the withdrawal must find it anyway.
    tokens.recordAccessToken('webshop', access('at-quinn-3', 'user:quinn'));

    const visitor = await signedIn('quinn');
    const list = await visitor.get('/portal/authorized');
    expect(list.status).toBe(200);
    expect(list.html).toContain('<a href="/portal/authorized" aria-current="page">Authorized applications</a>');
    expect(list.html).toContain('<td data-label="Application">Web Shop <code>webshop</code></td>');
    expect(list.html).toContain('<td data-label="Application">App firstparty <code>firstparty</code></td>');
    expect(list.html).not.toContain('bob');

    const confirm = await visitor.get('/portal/authorized/webshop/withdraw');
    expect(confirm.status).toBe(200);
    expect(confirm.html).toContain('<h1 id="confirm-title">Withdraw Web Shop?</h1>');
    const refused = await visitor.post('/portal/authorized/webshop/withdraw', {});
    expect(refused.status).toBe(403);
    expect(await tokens.accessTokenRevoked('webshop', 'at-quinn-1')).toBe(false);

    const token = /name="_csrf" value="([^"]*)"/.exec(confirm.html)![1]!;
    const withdrawn = await visitor.post('/portal/authorized/webshop/withdraw', { _csrf: token });
    expect(withdrawn.status).toBe(303);
    expect(withdrawn.location).toBe('/portal/authorized');
    expect((await visitor.get('/portal/authorized')).html).toContain('Web Shop no longer has access: its tokens for you were revoked.');

    expect(await portal.store.consents.get('quinn', 'webshop')).toBeUndefined();
    expect((await tokens.family('webshop', 'fam-quinn'))?.revokedAt).toBe(SIGNED_IN_AT / 1000);
    expect({
      quinn1: await tokens.accessTokenRevoked('webshop', 'at-quinn-1'),
      quinn2: await tokens.accessTokenRevoked('webshop', 'at-quinn-2'),
      quinn3: await tokens.accessTokenRevoked('webshop', 'at-quinn-3'),
      otherApp: await tokens.accessTokenRevoked('firstparty', 'at-quinn-other-app'),
      bob: await tokens.accessTokenRevoked('webshop', 'at-bob-1'),
    }).toEqual({ quinn1: true, quinn2: true, quinn3: true, otherApp: false, bob: false });
    expect((await tokens.family('webshop', 'fam-bob'))?.revokedAt).toBeUndefined();
    expect(await portal.store.consents.get('bob', 'webshop')).toMatchObject({ scopes: ['openid'] });
    expect(await portal.store.consents.get('quinn', 'firstparty')).toMatchObject({ scopes: ['openid'] });

    // Withdrawn means asked again.
    const again = await visitor.get(canonical(authorizeQuery({ scope: 'openid' })));
    expect(again.status).toBe(200);
    // And there is nothing left to withdraw; another user's consent is not this user's to withdraw.
    expect((await visitor.post('/portal/authorized/webshop/withdraw', { _csrf: token })).status).toBe(404);
    expect((await visitor.get('/portal/authorized/nothere/withdraw')).status).toBe(404);
  });
});
