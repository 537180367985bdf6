// RFC 6749 section 4.1 (with RFC 9207 and RFC 9700 section 4.1.3): GET /oauth2/authorize and the
// authorization_code grant at POST /oauth2/token, driven over HTTP with oauth4webapi. The person's
// part (sign-in, consent) is the portal's; here it is the `complete`/`deny` call the portal makes.
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizationQuery, authorizeAs, getAuthorize, randomName, type Authorized } from '../../test/support/authorization.ts';
import { authOf, insecure, postForm, send, startTestServer, type TestClient, type TestServer } from '../../test/support/oauth-server.ts';
import { authorizationCodeId } from '../store/authorization-codes.ts';
import { basicAuthorization } from './basic.ts';

let s: TestServer;
let tokenUrl: string;
const REDIRECT = 'https://app.example.test/callback';
const NATIVE = 'http://127.0.0.1:7000/native/callback';

beforeAll(async () => {
  s = await startTestServer();
  tokenUrl = s.url('/oauth2/token');
});
afterAll(() => s.close());

const webApp = (spec: Parameters<TestServer['addApp']>[1] = {}) => s.addApp(`web-${randomName()}`, {
  grantTypes: ['authorization_code', 'refresh_token'], redirectUris: [REDIRECT, NATIVE, 'https://app.example.test/cb?tenant=1'],
  scopes: ['open', 'orders:read', 'openid', 'profile', 'email'], ...spec,
});
const basic = (app: TestClient) => ({ authorization: basicAuthorization(app.client.client_id, app.secret!) });
const exchange = async (app: TestClient, { callback, redirectUri, verifier, nonce }: Authorized) =>
  oauth.processAuthorizationCodeResponse(s.as, app.client,
    await oauth.authorizationCodeGrantRequest(s.as, app.client, authOf(app), callback, redirectUri, verifier, insecure), { expectedNonce: nonce });
const codeForm = (code: string, redirectUri: string, verifier: string) =>
  new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier }).toString();
const userinfoStatus = async (token: string) => (await send('GET', s.url('/oauth2/userinfo'), { headers: { authorization: `Bearer ${token}` } })).status;
const BAD_CODE = { error: 'invalid_grant', error_description: 'the authorization code is invalid, expired, already used or not issued to this client' };

describe('GET /oauth2/authorize: the client and its redirect URI', () => {
  // RFC 6749 section 4.1.2.1: "MUST NOT automatically redirect the user-agent to the invalid redirection URI."
  const variants: [string, string][] = [
    ['a trailing slash', 'https://app.example.test/callback/'],
    ['another case in the path', 'https://app.example.test/Callback'],
    ['another case in the host', 'https://APP.example.test/callback'],
    ['an extra query', 'https://app.example.test/callback?next=1'],
    ['a fragment', 'https://app.example.test/callback#x'],
    ['userinfo', 'https://app.example.test@evil.example/callback'],
    ['userinfo before the registered host', 'https://good@app.example.test/callback'],
    ['another port on https', 'https://app.example.test:8443/callback'],
    ['the default port spelt out', 'https://app.example.test:443/callback'],
    ['http instead of https', 'http://app.example.test/callback'],
    ['http on a non-loopback host', 'http://evil.example:7000/native/callback'],
    ['localhost for a 127.0.0.1 registration', 'http://localhost:7000/native/callback'],
    ['another path on loopback', 'http://127.0.0.1:7000/native/other'],
    ['another loopback address', 'http://[::1]:7000/native/callback'],
    ['a query dropped from a registration with one', 'https://app.example.test/cb'],
  ];
  for (const [what, uri] of variants) {
    it(`answers a redirect URI with ${what} with an error page, never a redirect`, async () => {
      const app = await webApp();
      const { query } = await authorizationQuery(app, uri);
      const answer = await getAuthorize(s, query);
      expect(answer.status).toBe(400);
      expect(answer.headers.location).toBeUndefined();
      expect(answer.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(answer.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
      expect([answer.headers['cache-control'], answer.headers['x-content-type-options'], answer.headers['x-frame-options']]).toEqual(['no-store', 'nosniff', 'DENY']);
      expect(answer.body).toContain('<p>The redirect URI (redirect_uri) is not one registered for this application.</p>');
      expect(answer.body).not.toContain(uri);
    });
  }

  it('answers an unknown, missing or repeated client, and a missing or repeated redirect URI, with an error page', async () => {
    const app = await webApp();
    const { query } = await authorizationQuery(app, REDIRECT);
    const cases: [string, string][] = [
      [new URLSearchParams({ ...query, client_id: '<script>alert(1)</script>' }).toString(), 'No application has this client id.'],
      [new URLSearchParams({ ...query, client_id: '' }).toString(), 'The request does not name a client (client_id).'],
      [`${new URLSearchParams(query)}&client_id=${query.client_id}`, 'The request names its client (client_id) more than once.'],
      [new URLSearchParams(Object.entries(query).filter(([key]) => key !== 'redirect_uri')).toString(), 'The request does not name a redirect URI (redirect_uri).'],
      [`${new URLSearchParams(query)}&redirect_uri=${encodeURIComponent(REDIRECT)}`, 'The request names its redirect URI (redirect_uri) more than once.'],
    ];
    for (const [text, message] of cases) {
      const answer = await getAuthorize(s, text);
      expect([answer.status, answer.headers.location]).toEqual([400, undefined]);
      expect(answer.body).toContain(`<p>${message}</p>`);
      expect(answer.body).not.toContain('<script>');
    }
  });

  it('refuses an inactive application with an error page: nobody is sent to an application its publisher shut down', async () => {
    const app = await webApp();
    await s.updateApp(app.name, (record) => ({ ...record, spec: { ...record.spec, state: 'inactive' } }));
    const answer = await getAuthorize(s, (await authorizationQuery(app, REDIRECT)).query);
    expect([answer.status, answer.headers.location]).toEqual([400, undefined]);
    expect(answer.body).toContain('<p>This application is inactive: it cannot sign anybody in.</p>');
  });

  it('sends a valid request to the portal with the same query (303); a loopback redirect URI may name another port (RFC 8252 section 7.3)', async () => {
    const app = await webApp();
    for (const uri of [REDIRECT, 'http://127.0.0.1:51234/native/callback', 'http://127.0.0.1/native/callback', 'https://app.example.test/cb?tenant=1']) {
      const { query } = await authorizationQuery(app, uri);
      const text = new URLSearchParams(query).toString();
      const answer = await getAuthorize(s, text);
      expect([answer.status, answer.headers.location, answer.headers['cache-control']]).toEqual([303, `/portal/authorize?${text}`, 'no-store']);
    }
  });
});

describe('POST /oauth2/authorize (OpenID Connect Core 1.0 section 3.1.2.1)', () => {
  it('checks a form as a query, and sends a valid one to the portal with its parameters as the query', async () => {
    const app = await webApp();
    const { query } = await authorizationQuery(app, REDIRECT);
    const form = new URLSearchParams(query).toString();
    const answer = await postForm(s.url('/oauth2/authorize'), form);
    expect([answer.status, answer.headers.location]).toEqual([303, `/portal/authorize?${form}`]);
    const wrong = await postForm(s.url('/oauth2/authorize'), new URLSearchParams({ ...query, redirect_uri: `${REDIRECT}/` }).toString());
    expect([wrong.status, wrong.headers.location]).toEqual([400, undefined]);
    expect(wrong.body).toContain('<p>The redirect URI (redirect_uri) is not one registered for this application.</p>');
    const twice = await postForm(s.url('/oauth2/authorize'), `${form}&client_id=${encodeURIComponent(app.client.client_id)}`);
    expect(twice.body).toContain('<p>The request names its client (client_id) more than once.</p>');
    const json = await send('POST', s.url('/oauth2/authorize'), { headers: { 'content-type': 'application/json' }, body: JSON.stringify(query) });
    expect([json.status, json.headers.location]).toEqual([400, undefined]);
    expect(json.body).toContain('<p>The request is not a form (application/x-www-form-urlencoded).</p>');
  });
});

describe('GET /oauth2/authorize: every other error goes back to the client with state and iss (RFC 9207)', () => {
  const refused = async (app: TestClient, change: (query: Record<string, string>) => string) => {
    const { query, state } = await authorizationQuery(app, 'https://app.example.test/cb?tenant=1');
    const answer = await getAuthorize(s, change(query));
    expect(answer.status).toBe(303);
    const location = new URL(String(answer.headers.location));
    // The registered URI's own query is kept (RFC 6749 section 3.1.2).
    expect(`${location.origin}${location.pathname}`).toBe('https://app.example.test/cb');
    expect(location.searchParams.get('tenant')).toBe('1');
    expect(location.searchParams.get('iss')).toBe(s.issuer);
    return { params: Object.fromEntries([...location.searchParams].filter(([key]) => key !== 'tenant' && key !== 'iss')), state };
  };
  const without = (query: Record<string, string>, ...names: string[]) => new URLSearchParams(Object.entries(query).filter(([key]) => !names.includes(key))).toString();
  const withParams = (query: Record<string, string>, extra: Record<string, string>) => new URLSearchParams({ ...query, ...extra }).toString();

  it('refuses a missing or unsupported response type', async () => {
    const app = await webApp();
    let { params, state } = await refused(app, (query) => withParams(query, { response_type: 'token' }));
    expect(params).toEqual({ error: 'unsupported_response_type', error_description: 'the only response type is code', state });
    ({ params, state } = await refused(app, (query) => without(query, 'response_type')));
    expect(params).toEqual({ error: 'invalid_request', error_description: "missing required parameter 'response_type'", state });
  });

  it('refuses an application whose manifest does not list authorization_code: unauthorized_client', async () => {
    const app = await webApp({ grantTypes: ['client_credentials'] });
    const { params, state } = await refused(app, (query) => new URLSearchParams(query).toString());
    expect(params).toEqual({ error: 'unauthorized_client', error_description: 'this client may not use the authorization_code grant', state });
  });

  it('refuses a repeated parameter, request objects and a response mode other than query', async () => {
    const app = await webApp();
    let { params, state } = await refused(app, (query) => `${new URLSearchParams(query)}&scope=openid&scope=openid`);
    expect(params).toEqual({ error: 'invalid_request', error_description: "parameter 'scope' is included more than once", state });
    ({ params, state } = await refused(app, (query) => withParams(query, { request: 'eyJhbGciOiJub25lIn0.e30.' })));
    expect(params).toEqual({ error: 'request_not_supported', error_description: 'request objects (request) are not supported', state });
    ({ params, state } = await refused(app, (query) => withParams(query, { request_uri: 'urn:ietf:params:oauth:request_uri:x' })));
    expect(params).toEqual({ error: 'request_uri_not_supported', error_description: 'request objects by reference (request_uri) are not supported', state });
    ({ params, state } = await refused(app, (query) => withParams(query, { response_mode: 'fragment' })));
    expect(params).toEqual({ error: 'invalid_request', error_description: 'response_mode must be query', state });
  });

  it('refuses an over-long state or nonce, and does not echo the state: the redirect carries no payload', async () => {
    const app = await webApp();
    let { params } = await refused(app, (query) => withParams(query, { state: 's'.repeat(513) }));
    expect(params).toEqual({ error: 'invalid_request', error_description: 'state must be at most 512 characters' });
    let state: string | undefined;
    ({ params, state } = await refused(app, (query) => withParams(query, { nonce: 'n'.repeat(513) })));
    expect(params).toEqual({ error: 'invalid_request', error_description: 'nonce must be at most 512 characters', state });
  });

  it('refuses a max_age that is not a whole number of seconds (OpenID Connect Core 3.1.2.1)', async () => {
    const app = await webApp();
    for (const maxAge of ['-1', '1.5', 'soon', '1000000000']) {
      const { params, state } = await refused(app, (query) => withParams(query, { max_age: maxAge }));
      expect(params).toEqual({ error: 'invalid_request', error_description: 'max_age must be a number of seconds (0 to 999999999)', state });
    }
  });

  it('refuses a scope the application does not hold', async () => {
    const app = await webApp({ scopes: ['openid'] });
    const { params, state } = await refused(app, (query) => withParams(query, { scope: 'openid orders:write' }));
    expect(params).toEqual({ error: 'invalid_scope', error_description: 'a requested scope is not one this client may have', state });
  });

  it('sends no state when the request had none, and iss always', async () => {
    const app = await webApp();
    const { params } = await refused(app, (query) => without(query, 'state', 'response_type'));
    expect(params).toEqual({ error: 'invalid_request', error_description: "missing required parameter 'response_type'" });
  });

  it('redirects a denial with access_denied, state and iss', async () => {
    const app = await webApp();
    const { query, state } = await authorizationQuery(app, REDIRECT);
    const parsed = s.authorization.parse(query);
    if (parsed.kind !== 'ok') throw new Error('expected a valid request');
    const location = new URL(s.authorization.deny(parsed.request));
    expect(Object.fromEntries(location.searchParams)).toEqual({ error: 'access_denied', error_description: 'the user denied the request', state, iss: s.issuer });
    expect(() => oauth.validateAuthResponse(s.as, app.client, location, state)).toThrow(oauth.AuthorizationResponseError);
  });
});

describe('the authorization_code grant', () => {
  it('exchanges a code once for an access token for the user and a refresh token that rotates', async () => {
    const app = await webApp();
    const tokens = await exchange(app, await authorizeAs(s, app, REDIRECT, { extra: { scope: 'orders:read openid' } }));
    expect([tokens.token_type, tokens.scope]).toEqual(['bearer', 'orders:read openid']);
    const claims = JSON.parse(Buffer.from(tokens.access_token.split('.')[1]!, 'base64url').toString());
    expect([claims.sub, claims.client_id, claims.aud]).toEqual(['user:alice', app.client.client_id, 'https://orders.example.test']);
    const refreshed = await oauth.processRefreshTokenResponse(s.as, app.client,
      await oauth.refreshTokenGrantRequest(s.as, app.client, authOf(app), tokens.refresh_token!, insecure));
    expect(refreshed.scope).toBe('orders:read openid');
  });

  it('stores only the hash of a code', async () => {
    const app = await webApp();
    const { code } = await authorizeAs(s, app, REDIRECT);
    expect(s.raw.authorizationCodes.get(code)).toBeUndefined();
    expect(s.raw.authorizationCodes.get(authorizationCodeId(code))).toMatchObject({ clientId: app.client.client_id, sub: 'user:alice' });
  });

  it('refuses a replayed code and revokes what its first exchange issued (RFC 6749 section 4.1.2)', async () => {
    const app = await webApp();
    const authorized = await authorizeAs(s, app, REDIRECT, { extra: { scope: 'openid' } });
    const { code, verifier } = authorized;
    const tokens = await exchange(app, authorized);
    expect(await userinfoStatus(tokens.access_token)).toBe(200);
    const replay = await postForm(tokenUrl, codeForm(code, REDIRECT, verifier), basic(app));
    expect([replay.status, replay.body]).toEqual([400, BAD_CODE]);
    expect(await userinfoStatus(tokens.access_token)).toBe(401);
    const refresh = await postForm(tokenUrl, `grant_type=refresh_token&refresh_token=${tokens.refresh_token}`, basic(app));
    expect(refresh.body).toEqual({ error: 'invalid_grant', error_description: 'the refresh token is invalid, expired or revoked' });
  });

  it('lets exactly one of 20 parallel exchanges of one code win, and the replays revoke what it won', async () => {
    const app = await webApp({ plan: 'unlimited' });
    const { code, verifier } = await authorizeAs(s, app, REDIRECT, { extra: { scope: 'openid' } });
    const answers = await Promise.all(Array.from({ length: 20 }, () => postForm(tokenUrl, codeForm(code, REDIRECT, verifier), basic(app))));
    const won = answers.filter((answer) => answer.status === 200);
    expect(won).toHaveLength(1);
    for (const answer of answers.filter((candidate) => candidate.status !== 200)) expect([answer.status, answer.body]).toEqual([400, BAD_CODE]);
    const { access_token: access, refresh_token: refreshToken } = won[0]!.body as { access_token: string; refresh_token: string };
    expect(await userinfoStatus(access)).toBe(401);
    const refresh = await postForm(tokenUrl, `grant_type=refresh_token&refresh_token=${refreshToken}`, basic(app));
    expect(refresh.status).toBe(400);
  });

  it('refuses a code presented by another client, or with another redirect URI, and leaves it usable by its own', async () => {
    const app = await webApp();
    const other = await webApp();
    const authorized = await authorizeAs(s, app, REDIRECT);
    const { code, verifier } = authorized;
    const stolen = await postForm(tokenUrl, codeForm(code, REDIRECT, verifier), basic(other));
    expect([stolen.status, stolen.body]).toEqual([400, BAD_CODE]);
    const elsewhere = await postForm(tokenUrl, codeForm(code, 'https://app.example.test/cb?tenant=1', verifier), basic(app));
    expect(elsewhere.body).toEqual({ error: 'invalid_grant', error_description: 'redirect_uri is not the one the code was issued for' });
    // A loopback port that differs at the token endpoint is another redirect URI too: the one sent is bound.
    const native = await authorizeAs(s, app, 'http://127.0.0.1:40001/native/callback');
    const port = await postForm(tokenUrl, codeForm(native.code, NATIVE, native.verifier), basic(app));
    expect(port.body).toEqual({ error: 'invalid_grant', error_description: 'redirect_uri is not the one the code was issued for' });
    expect((await exchange(app, authorized)).access_token).toBeTypeOf('string');
    expect((await exchange(app, native)).access_token).toBeTypeOf('string');
  });

  it('refuses a code after its 60 seconds', async () => {
    const app = await webApp();
    const { code, verifier } = await authorizeAs(s, app, REDIRECT);
    s.advance(60_000);
    try {
      const late = await postForm(tokenUrl, codeForm(code, REDIRECT, verifier), basic(app));
      expect([late.status, late.body]).toEqual([400, BAD_CODE]);
    } finally {
      s.advance(-60_000);
    }
  });

  it('gives nothing to an application deactivated between authorize and token, nor after it is reactivated', async () => {
    const app = await webApp();
    const { code, verifier } = await authorizeAs(s, app, REDIRECT);
    await s.updateApp(app.name, (record) => ({ ...record, spec: { ...record.spec, state: 'inactive' } }));
    const inactive = await postForm(tokenUrl, codeForm(code, REDIRECT, verifier), basic(app));
    expect([inactive.status, inactive.body]).toEqual([401, { error: 'invalid_client', error_description: 'the application is inactive' }]);
    await s.updateApp(app.name, (record) => ({ ...record, spec: { ...record.spec, state: 'active' } }));
    const reactivated = await postForm(tokenUrl, codeForm(code, REDIRECT, verifier), basic(app));
    expect([reactivated.status, reactivated.body]).toEqual([400, BAD_CODE]);
  });

  it('refuses to issue a code for an application deactivated after the request was checked', async () => {
    const app = await webApp();
    const { query } = await authorizationQuery(app, REDIRECT);
    const parsed = s.authorization.parse(query);
    if (parsed.kind !== 'ok') throw new Error('expected a valid request');
    await s.updateApp(app.name, (record) => ({ ...record, spec: { ...record.spec, state: 'inactive' } }));
    await expect(s.authorization.complete(parsed.request, { user: 'alice', authTime: 0 })).rejects.toThrow('the application can no longer sign people in');
  });
});

describe('public clients (tokenEndpointAuthMethod: none)', () => {
  const spa = () => s.addApp(`spa-${randomName()}`, {
    tokenEndpointAuthMethod: 'none', grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'], redirectUris: [REDIRECT],
    scopes: ['openid', 'orders:read'],
  });

  it('exchange a code and refresh with their client id alone', async () => {
    const app = await spa();
    expect(app.secret).toBeUndefined();
    const tokens = await exchange(app, await authorizeAs(s, app, REDIRECT));
    const refreshed = await oauth.processRefreshTokenResponse(s.as, app.client,
      await oauth.refreshTokenGrantRequest(s.as, app.client, oauth.None(), tokens.refresh_token!, insecure));
    expect(refreshed.access_token).toBeTypeOf('string');
    // Signing out (RFC 7009 section 5): the refresh token's family goes, its access tokens with it.
    expect(await userinfoStatus(refreshed.access_token)).toBe(200);
    await oauth.processRevocationResponse(await oauth.revocationRequest(s.as, app.client, oauth.None(), refreshed.refresh_token!, insecure));
    expect(await userinfoStatus(refreshed.access_token)).toBe(401);
    const introspection = await postForm(s.url('/oauth2/introspect'), `token=${refreshed.access_token}&client_id=${encodeURIComponent(app.client.client_id)}`);
    expect([introspection.status, introspection.body]).toEqual([401, { error: 'invalid_client', error_description: 'client authentication is required' }]);
  });

  it('count their plan rate and their unknown tokens per source address: nobody can spend the allowance of a public client for all its users', async () => {
    const app = await s.addApp(`spa-${randomName()}`, {
      tokenEndpointAuthMethod: 'none', grantTypes: ['authorization_code', 'refresh_token'], redirectUris: [REDIRECT], scopes: ['openid'], plan: 'trickle',
    });
    const id = encodeURIComponent(app.client.client_id);
    // Anyone can read the client id in the app's page: three junk exchanges from another address.
    for (let i = 0; i < 3; i += 1) {
      const junk = await postForm(tokenUrl, `grant_type=authorization_code&client_id=${id}&code=junk${i}&redirect_uri=${encodeURIComponent(REDIRECT)}&code_verifier=${'v'.repeat(43)}`, {}, '127.0.0.2');
      expect(junk.body).toEqual({ error: 'invalid_grant', error_description: 'the authorization code is invalid, expired, already used or not issued to this client' });
    }
    const slowed = await postForm(tokenUrl, `grant_type=authorization_code&client_id=${id}&code=junk&redirect_uri=${encodeURIComponent(REDIRECT)}&code_verifier=${'v'.repeat(43)}`, {}, '127.0.0.2');
    expect([slowed.status, slowed.body]).toEqual([429, { error: 'slow_down', error_description: 'the plan allows 3 token requests per minute' }]);
    // The person signing in from their own address is not held back by it.
    const tokens = await exchange(app, await authorizeAs(s, app, REDIRECT));
    expect(tokens.access_token).toBeTypeOf('string');

    // Revocation's misses likewise: another address's unknown tokens do not stop a sign-out here.
    // (600 a minute, refilling as they arrive: past 600 the guesser is held within a few more.)
    let misses = 0;
    while ((await postForm(s.url('/oauth2/revoke'), `token=junk${misses}&client_id=${id}`, {}, '127.0.0.3')).status === 200 && misses < 2000) misses += 1;
    expect(misses).toBeGreaterThanOrEqual(600);
    expect(misses).toBeLessThan(2000);
    await oauth.processRevocationResponse(await oauth.revocationRequest(s.as, app.client, oauth.None(), tokens.refresh_token!, insecure));
    expect(await userinfoStatus(tokens.access_token)).toBe(401);
  });

  it('may use no other grant, may not present a secret, and a confidential client may not leave its secret out', async () => {
    const app = await spa();
    const id = encodeURIComponent(app.client.client_id);
    const cc = await postForm(tokenUrl, `grant_type=client_credentials&client_id=${id}`);
    expect([cc.status, cc.body]).toEqual([400, { error: 'unauthorized_client', error_description: 'a public client may not use the client_credentials grant' }]);
    const withSecret = await postForm(tokenUrl, `grant_type=client_credentials&client_id=${id}&client_secret=guess`);
    expect([withSecret.status, withSecret.body]).toEqual([401, { error: 'invalid_client', error_description: 'client authentication failed' }]);
    const confidential = await webApp();
    const { code, verifier } = await authorizeAs(s, confidential, REDIRECT);
    const bare = await postForm(tokenUrl, `${codeForm(code, REDIRECT, verifier)}&client_id=${encodeURIComponent(confidential.client.client_id)}`);
    expect([bare.status, bare.body]).toEqual([401, { error: 'invalid_client', error_description: 'client authentication failed' }]);
  });
});
