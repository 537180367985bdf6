// RFC 7662 at POST /oauth2/introspect: who may ask, what an active token answers, and every
// reason a token is inactive — which answers exactly `{ "active": false }`.
import { SignJWT, decodeJwt, generateKeyPair } from 'jose';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuthorization } from './basic.ts';
import {
  ALICE_PASSWORD, authOf, BILLING_AUDIENCE, insecure, ORDERS_AUDIENCE, postForm, startTestServer, type TestClient, type TestServer,
} from '../../test/support/oauth-server.ts';

let s: TestServer;
let introspectUrl: string;
let counter = 0;
const fresh = (spec: Parameters<TestServer['addApp']>[1] = {}) => s.addApp(`app-${++counter}`, spec);
const INACTIVE = { active: false };

beforeAll(async () => {
  s = await startTestServer();
  introspectUrl = s.url('/oauth2/introspect');
});
afterAll(() => s.close());

const accessToken = async (app: TestClient, scope?: string) => (await oauth.processClientCredentialsResponse(s.as, app.client,
  await oauth.clientCredentialsGrantRequest(s.as, app.client, authOf(app), scope === undefined ? {} : { scope }, insecure))).access_token;

async function introspect(caller: TestClient, token: string, hint?: string): Promise<unknown> {
  const response = await oauth.introspectionRequest(s.as, caller.client, authOf(caller), token,
    { ...insecure, ...(hint === undefined ? {} : { additionalParameters: { token_type_hint: hint } }) });
  expect(response.headers.get('cache-control')).toBe('no-store');
  return oauth.processIntrospectionResponse(s.as, caller.client, response);
}

describe('introspection of access tokens', () => {
  it('answers an active token with its claims', async () => {
    const app = await fresh({ scopes: ['open', 'orders:read'] });
    const token = await accessToken(app);
    const claims = decodeJwt(token);
    expect(await introspect(app, token)).toEqual({
      active: true, scope: 'open orders:read', client_id: app.client.client_id, sub: `client:${app.client.client_id}`,
      aud: ORDERS_AUDIENCE, iss: s.issuer, exp: claims.exp, iat: claims.iat, token_type: 'Bearer', jti: claims.jti,
    });
  });

  it('answers exactly { active: false } for anything that is not a live token of ours', async () => {
    const app = await fresh();
    const token = await accessToken(app);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const tampered = `${header}.${Buffer.from(JSON.stringify({ ...decodeJwt(token), scope: 'orders:write' })).toString('base64url')}.${signature}`;
    const foreignKey = await generateKeyPair('ES256');
    const foreign = await new SignJWT(decodeJwt(token)).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: decodeJwt(token).jti! })
      .sign(foreignKey.privateKey);
    for (const candidate of ['garbage', `${header}.${payload}.`, tampered, foreign, 'a'.repeat(5000)]) {
      expect(await introspect(app, candidate)).toEqual(INACTIVE);
    }
  });

  it('answers a token that has expired as inactive', async () => {
    const app = await fresh({ plan: 'short' });
    const token = await accessToken(app);
    expect(await introspect(app, token)).toMatchObject({ active: true });
    s.advance(121_000);
    expect(await introspect(app, token)).toEqual(INACTIVE);
  });

  it('tells a client nothing about another client\'s token', async () => {
    const [owner, other] = [await fresh(), await fresh()];
    expect(await introspect(other, await accessToken(owner))).toEqual(INACTIVE);
  });

  it('lets the resource servers an Api names introspect tokens for its audience, and only those', async () => {
    const resourceServer = await s.addApp('orders-rs');
    const app = await fresh({ scopes: ['open', 'orders:read', 'billing:read'] });
    const forOrders = await accessToken(app, 'orders:read billing:read');
    expect(await introspect(resourceServer, forOrders)).toMatchObject({ active: true, aud: [ORDERS_AUDIENCE, BILLING_AUDIENCE] });
    expect(await introspect(resourceServer, await accessToken(app, 'billing:read'))).toEqual(INACTIVE);
    expect(await introspect(resourceServer, await accessToken(app, 'open'))).toEqual(INACTIVE);
  });

  it('follows the application\'s current state: deactivation stops every token at once, reactivation revives none', async () => {
    const app = await fresh();
    const observer = await s.addApp(`observer-${++counter}`);
    const before = await accessToken(app);
    const setState = (state: 'active' | 'inactive') => s.updateApp(app.name, (record) => ({ ...record, spec: { ...record.spec, state } }));
    await setState('inactive');
    // Asked by its own (now inactive) client, the answer is a refusal; asked by anyone else, inactive.
    expect(await postForm(introspectUrl, `token=${before}`, { authorization: basicAuthorization(app.client.client_id, app.secret!) }))
      .toMatchObject({ status: 401, body: { error: 'invalid_client', error_description: 'the application is inactive' } });
    expect(await introspect(observer, before)).toEqual(INACTIVE);
    s.advance(1000);
    await setState('active');
    expect(await introspect(app, before)).toEqual(INACTIVE);
    expect(await introspect(app, await accessToken(app))).toMatchObject({ active: true });
  });

  it('marks a deactivation once: a client that keeps asking while inactive does not kill the tokens issued after reactivation', async () => {
    const app = await fresh();
    const observer = await s.addApp(`observer-${++counter}`);
    const before = await accessToken(app);
    const setState = (state: 'active' | 'inactive', commit: string) =>
      s.updateApp(app.name, (record) => ({ ...record, commit: commit.repeat(40), spec: { ...record.spec, state } }));
    await setState('inactive', 'd');
    expect(await introspect(observer, before)).toEqual(INACTIVE);
    // The client keeps asking for a minute and a half, then the application is reactivated and
    // gets a token within the same second as its last refusal (token times are whole seconds).
    s.advance(90_000);
    expect(await postForm(s.url('/oauth2/token'), 'grant_type=client_credentials', { authorization: basicAuthorization(app.client.client_id, app.secret!) }))
      .toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    await s.settle();
    await setState('active', 'e');
    expect(await introspect(app, await accessToken(app))).toMatchObject({ active: true });
    expect(await introspect(app, before)).toEqual(INACTIVE);
  });

  it('a reactivation within the second of the deactivation still gets live tokens', async () => {
    const app = await fresh();
    const observer = await s.addApp(`observer-${++counter}`);
    const before = await accessToken(app);
    const setState = (state: 'active' | 'inactive') => s.updateApp(app.name, (record) => ({ ...record, spec: { ...record.spec, state } }));
    // Start at the top of a second, so the deactivation and the new token share it (token times
    // are whole seconds): the token endpoint must wait for the next second, not issue a dead token.
    s.advance(1000 - (s.now() % 1000));
    await setState('inactive');
    expect(await introspect(observer, before)).toEqual(INACTIVE);
    await s.settle();
    await setState('active');
    expect(await introspect(app, await accessToken(app))).toMatchObject({ active: true });
    expect(await introspect(app, before)).toEqual(INACTIVE);
  });

  it('honours token_type_hint without trusting it', async () => {
    const app = await fresh();
    const token = await accessToken(app);
    expect(await introspect(app, token, 'refresh_token')).toMatchObject({ active: true, token_type: 'Bearer' });
    expect(await introspect(app, token, 'no_such_type')).toMatchObject({ active: true });
  });

  it('accepts every client authentication method', async () => {
    const signed = await fresh({ tokenEndpointAuthMethod: 'private_key_jwt' });
    expect(await introspect(signed, await accessToken(signed))).toMatchObject({ active: true });
    const posting = await fresh({ tokenEndpointAuthMethod: 'client_secret_post' });
    posting.client.token_endpoint_auth_method = 'client_secret_post';
    expect(await introspect(posting, await accessToken(posting))).toMatchObject({ active: true });
  });
});

describe('introspection of refresh tokens', () => {
  it('answers the client\'s own live refresh token, and nothing once it is spent or for another client', async () => {
    const app = await fresh({ grantTypes: ['password', 'refresh_token'] });
    const other = await fresh({ grantTypes: ['password', 'refresh_token'] });
    const tokens = await oauth.processGenericTokenEndpointResponse(s.as, app.client, await oauth.genericTokenEndpointRequest(
      s.as, app.client, authOf(app), 'password', { username: 'alice', password: ALICE_PASSWORD }, insecure));
    const refreshToken = tokens.refresh_token!;
    expect(await introspect(app, refreshToken, 'refresh_token')).toEqual({
      active: true, scope: 'open', client_id: app.client.client_id, sub: 'user:alice', aud: s.issuer, iss: s.issuer,
      exp: expect.any(Number), iat: expect.any(Number), token_type: 'refresh_token', jti: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
    });
    expect(await introspect(other, refreshToken, 'refresh_token')).toEqual(INACTIVE);
    await oauth.refreshTokenGrantRequest(s.as, app.client, authOf(app), refreshToken, insecure);
    expect(await introspect(app, refreshToken)).toEqual(INACTIVE);
    // Presenting the spent token again revoked the family, with the access token it came with.
    await oauth.refreshTokenGrantRequest(s.as, app.client, authOf(app), refreshToken, insecure);
    expect(await introspect(app, tokens.access_token)).toEqual(INACTIVE);
  });
});

describe('resource owners', () => {
  it('take their tokens with them when their User manifest is removed', async () => {
    const app = await fresh({ grantTypes: ['password', 'refresh_token'] });
    await s.raw.users.put('carol', { ...s.raw.users.get('alice')!, name: 'carol', path: 'users/carol.yaml' });
    const tokens = await oauth.processGenericTokenEndpointResponse(s.as, app.client, await oauth.genericTokenEndpointRequest(
      s.as, app.client, authOf(app), 'password', { username: 'carol', password: ALICE_PASSWORD }, insecure));
    expect(await introspect(app, tokens.access_token)).toMatchObject({ active: true, sub: 'user:carol' });
    await s.raw.users.remove('carol');
    expect(await introspect(app, tokens.access_token)).toEqual(INACTIVE);
    expect(await introspect(app, tokens.refresh_token!)).toEqual(INACTIVE);
  });
});

describe('requests', () => {
  it('require client authentication', async () => {
    const app = await fresh();
    const token = await accessToken(app);
    expect(await postForm(introspectUrl, `token=${token}`)).toMatchObject({
      status: 401, body: { error: 'invalid_client', error_description: 'client authentication is required' },
    });
    const wrong = await postForm(introspectUrl, `token=${token}`, { authorization: basicAuthorization(app.client.client_id, 'wrong') });
    expect(wrong).toMatchObject({ status: 401, body: { error: 'invalid_client', error_description: 'client authentication failed' } });
    expect(wrong.headers['www-authenticate']).toBe(`Basic realm="${s.issuer}", charset="UTF-8"`);
  });

  it('require the token parameter, once', async () => {
    const app = await fresh();
    const auth = { authorization: basicAuthorization(app.client.client_id, app.secret!) };
    expect(await postForm(introspectUrl, '', auth)).toMatchObject({
      status: 400, body: { error: 'invalid_request', error_description: 'missing required parameter \'token\'' },
    });
    const response = await postForm(introspectUrl, 'token=a&token=b', auth);
    expect(response).toMatchObject({ status: 400, body: { error: 'invalid_request', error_description: 'parameter \'token\' is included more than once' } });
    expect(response.headers['cache-control']).toBe('no-store');
  });
});

describe('RFC 7662 section 4 / RFC 7009 section 5: a per-client limit on presenting inactive tokens', () => {
  let own: TestServer;
  beforeAll(async () => {
    own = await startTestServer({ inactiveTokensPerMinute: 5 });
  });
  afterAll(() => own.close());
  const form = (caller: TestClient, path: string, token: string) =>
    postForm(own.url(path), `token=${encodeURIComponent(token)}`, { authorization: basicAuthorization(caller.client.client_id, caller.secret!) });
  const throttled = (retryAfter: string) => ({
    status: 429,
    retryAfter,
    body: { error: 'slow_down', error_description: 'too many inactive or unknown tokens presented by this client; retry later' },
  });
  const answer = async (promise: ReturnType<typeof form>) => {
    const response = await promise;
    return { status: response.status, retryAfter: response.headers['retry-after'], body: response.body };
  };

  it('slows a client that presents random tokens, never one that introspects live tokens, and refuses before looking', async () => {
    const rs = await own.addApp('guesser', { scopes: ['open'] });
    const bystander = await own.addApp('bystander', { scopes: ['open'] });
    const live = (await oauth.processClientCredentialsResponse(own.as, rs.client,
      await oauth.clientCredentialsGrantRequest(own.as, rs.client, authOf(rs), {}, insecure))).access_token;
    // Live tokens do not count, however many.
    for (let i = 0; i < 20; i++) expect((await answer(form(rs, '/oauth2/introspect', live))).body).toMatchObject({ active: true });
    // Five random tokens a minute: introspection and revocation share the count.
    for (let i = 0; i < 3; i++) expect(await answer(form(rs, '/oauth2/introspect', `random-${i}`))).toEqual({ status: 200, retryAfter: undefined, body: INACTIVE });
    for (let i = 0; i < 2; i++) expect(await answer(form(rs, '/oauth2/revoke', `random-r${i}`))).toEqual({ status: 200, retryAfter: undefined, body: undefined });
    // Past it, 429 with Retry-After (a minute / 5 = 12 s), for any token: a lucky guess learns nothing.
    expect(await answer(form(rs, '/oauth2/introspect', 'random-6'))).toEqual(throttled('12'));
    expect(await answer(form(rs, '/oauth2/introspect', live))).toEqual(throttled('12'));
    expect(await answer(form(rs, '/oauth2/revoke', 'random-7'))).toEqual(throttled('12'));
    // Another client is not affected.
    expect(await answer(form(bystander, '/oauth2/introspect', 'random-8'))).toEqual({ status: 200, retryAfter: undefined, body: INACTIVE });
    // The allowance comes back with time (the server's clock, moved: no sleeping).
    own.advance(12_000);
    expect((await answer(form(rs, '/oauth2/introspect', live))).body).toMatchObject({ active: true });
    expect(await answer(form(rs, '/oauth2/introspect', 'random-9'))).toEqual({ status: 200, retryAfter: undefined, body: INACTIVE });
    expect(await answer(form(rs, '/oauth2/introspect', 'random-10'))).toEqual(throttled('12'));
  });
});
