// GET /api/v1/apps/:name/tokens and DELETE /api/v1/apps/:name/tokens/:id, authorised by the
// application's own client credentials, or by a token it got for itself.
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuthorization } from './basic.ts';
import type { TokenList } from './app-tokens.ts';
import { ALICE_PASSWORD, authOf, insecure, send, startTestServer, type TestClient, type TestServer } from '../../test/support/oauth-server.ts';

let s: TestServer;
let counter = 0;
const fresh = (spec: Parameters<TestServer['addApp']>[1] = {}) => s.addApp(`app-${++counter}`, spec);

beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.close());

const auth = (app: TestClient) => ({ authorization: basicAuthorization(app.client.client_id, app.secret!) });
// Access token records are written after the token is returned; listing waits for them here.
const list = async (app: TestClient, query = '', as: TestClient = app) => {
  await s.settle();
  return send('GET', s.url(`/api/v1/apps/${app.name}/tokens${query}`), { headers: auth(as) });
};
const remove = (app: TestClient, id: string) => send('DELETE', s.url(`/api/v1/apps/${app.name}/tokens/${id}`), { headers: auth(app) });
const accessToken = async (app: TestClient, scope?: string) => (await oauth.processClientCredentialsResponse(s.as, app.client,
  await oauth.clientCredentialsGrantRequest(s.as, app.client, authOf(app), scope === undefined ? {} : { scope }, insecure))).access_token;
const passwordTokens = async (app: TestClient) => oauth.processGenericTokenEndpointResponse(s.as, app.client,
  await oauth.genericTokenEndpointRequest(s.as, app.client, authOf(app), 'password', { username: 'alice', password: ALICE_PASSWORD }, insecure));
const active = async (app: TestClient, token: string) => (await oauth.processIntrospectionResponse(s.as, app.client,
  await oauth.introspectionRequest(s.as, app.client, authOf(app), token, insecure))).active;

describe('an application\'s tokens', () => {
  it('lists its live access and refresh tokens, masked, and no one else\'s', async () => {
    const app = await fresh({ grantTypes: ['client_credentials', 'password', 'refresh_token'], scopes: ['open', 'orders:read'] });
    await accessToken(await fresh());
    await accessToken(app);
    await passwordTokens(app);
    const response = await list(app);
    expect(response.status).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    const { tokens, next } = response.body as TokenList;
    expect(next).toBeUndefined();
    const iso = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
    expect(tokens).toHaveLength(3);
    expect(tokens).toEqual(expect.arrayContaining([
      { id: expect.stringMatching(/^at_/), masked: expect.stringMatching(/^at_.{4}\.\.\..{4}$/), type: 'access_token',
        subject: `client:${app.client.client_id}`, scope: 'open orders:read', issuedAt: iso, expiresAt: iso },
      { id: expect.stringMatching(/^at_/), masked: expect.any(String), type: 'access_token',
        subject: 'user:alice', scope: 'open orders:read', issuedAt: iso, expiresAt: iso },
      { id: expect.stringMatching(/^rt_[A-Za-z0-9_-]{43}$/), masked: expect.stringMatching(/^rt_.{4}\.\.\..{4}$/), type: 'refresh_token',
        subject: 'user:alice', scope: 'open orders:read', issuedAt: iso, expiresAt: iso },
    ]));
  });

  it('leaves out expired, revoked and spent tokens', async () => {
    const app = await fresh({ grantTypes: ['client_credentials', 'password', 'refresh_token'], plan: 'short' });
    const revoked = await accessToken(app);
    await oauth.revocationRequest(s.as, app.client, authOf(app), revoked, insecure);
    const first = await passwordTokens(app);
    await oauth.refreshTokenGrantRequest(s.as, app.client, authOf(app), first.refresh_token!, insecure);
    // Left: the password grant's access token, and the new access and refresh tokens.
    expect((await list(app)).body).toMatchObject({ tokens: { length: 3 } });
    s.advance(121_000);
    // The access tokens have expired (2 minutes); the refresh token lives 10.
    expect(((await list(app)).body as TokenList).tokens.map((token) => token.type)).toEqual(['refresh_token']);
  });

  it('pages through many tokens', async () => {
    const app = await fresh();
    for (let i = 0; i < 5; i++) await accessToken(app);
    const first = (await list(app, '?limit=2')).body as TokenList;
    expect(first.tokens).toHaveLength(2);
    const second = (await list(app, `?limit=2&after=${first.next}`)).body as TokenList;
    const third = (await list(app, `?limit=2&after=${second.next}`)).body as TokenList;
    expect(third.next).toBeUndefined();
    const ids = [...first.tokens, ...second.tokens, ...third.tokens].map((token) => token.id);
    expect(new Set(ids).size).toBe(5);
    expect(await list(app, '?limit=0')).toMatchObject({
      status: 400, body: { error: 'invalid_request', error_description: 'limit must be a whole number from 1 to 1000' },
    });
    for (const query of ['?after=bogus', `?after=at_${'x'.repeat(3000)}`, '?after=at_a&after=at_b', '?limit=1&limit=2']) {
      expect((await list(app, query)).status).toBe(400);
    }
    expect(await list(app, '?after=bogus')).toMatchObject({
      status: 400, body: { error: 'invalid_request', error_description: 'after must be a token id from a previous page' },
    });
  });

  it('takes a page size in decimal digits only, and a cursor only in the shape of an id it gave out', async () => {
    const app = await fresh();
    await accessToken(app);
    const { tokens: [token] } = (await list(app)).body as TokenList;
    expect((await list(app, `?limit=1&after=${token!.id}`)).status).toBe(200);
    for (const limit of ['1e3', '0x10', '%2010', '10%20', '1.0', '+5', '05', '-1', '1001', '99999999999']) {
      expect(await list(app, `?limit=${limit}`)).toEqual({
        status: 400, headers: expect.anything(),
        body: { error: 'invalid_request', error_description: 'limit must be a whole number from 1 to 1000' },
      });
    }
    // A prefix alone, bytes that sort past every id, another kind's shape, a NUL.
    for (const after of ['at_', 'rt_', `at_${'%F0%9F%98%80'.repeat(10)}`, `at_${token!.id.slice(3).toUpperCase()}`, `rt_${'a'.repeat(42)}`, 'at_%00', `${token!.id}%00`]) {
      expect(await list(app, `?after=${after}`)).toEqual({
        status: 400, headers: expect.anything(),
        body: { error: 'invalid_request', error_description: 'after must be a token id from a previous page' },
      });
    }
  });

  it('revokes one access token by its id', async () => {
    const app = await fresh();
    const token = await accessToken(app);
    const { id } = ((await list(app)).body as TokenList).tokens[0]!;
    const response = await remove(app, id);
    expect(response.status).toBe(204);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(await active(app, token)).toBe(false);
    expect(await remove(app, id)).toMatchObject({ status: 404, body: { error: 'not_found', error_description: 'no live token with this id for this application' } });
    // The id in the path is described, not echoed.
    expect(await remove(app, encodeURIComponent('<script>alert(1)</script>'))).toMatchObject({
      status: 404, body: { error: 'not_found', error_description: 'no live token with this id for this application' },
    });
    // A record written late (by another worker's batch) does not bring it back into the list.
    const jti = id.slice('at_'.length);
    await s.raw.tokens.put(`${app.name}/${jti}`, { v: 1, jti, clientId: app.client.client_id, sub: 'x', scope: 'open', aud: [], iat: 1, exp: 4_000_000_000 });
    expect(((await list(app)).body as TokenList).tokens).toEqual([]);
  });

  it('revokes a refresh token by its id, with its family', async () => {
    const app = await fresh({ grantTypes: ['password', 'refresh_token'] });
    const tokens = await passwordTokens(app);
    const refresh = ((await list(app)).body as TokenList).tokens.find((token) => token.type === 'refresh_token')!;
    expect((await remove(app, refresh.id)).status).toBe(204);
    expect(await active(app, tokens.access_token)).toBe(false);
    expect(await active(app, tokens.refresh_token!)).toBe(false);
  });

  it('revokes the family of a spent refresh token by its id, the successor included', async () => {
    const app = await fresh({ grantTypes: ['password', 'refresh_token'] });
    const first = await passwordTokens(app);
    const spentId = ((await list(app)).body as TokenList).tokens.find((token) => token.type === 'refresh_token')!.id;
    const second = await oauth.processRefreshTokenResponse(s.as, app.client,
      await oauth.refreshTokenGrantRequest(s.as, app.client, authOf(app), first.refresh_token!, insecure));
    expect((await remove(app, spentId)).status).toBe(204);
    expect(await active(app, second.refresh_token!)).toBe(false);
    expect(await active(app, second.access_token)).toBe(false);
    expect(((await list(app)).body as TokenList).tokens).toEqual([]);
    expect(await remove(app, spentId)).toMatchObject({ status: 404, body: { error: 'not_found' } });
  });

  it('answers 401 without the application\'s credentials and 403 with another application\'s', async () => {
    const [app, other] = [await fresh(), await fresh()];
    const url = s.url(`/api/v1/apps/${app.name}/tokens`);
    const anonymous = await send('GET', url);
    expect(anonymous).toMatchObject({
      status: 401, body: { error: 'invalid_client', error_description: 'authenticate with the application\'s client id and secret (HTTP Basic)' },
    });
    expect(anonymous.headers['www-authenticate']).toBe(`Basic realm="${s.issuer}", charset="UTF-8"`);
    expect(await send('GET', url, { headers: { authorization: basicAuthorization(app.client.client_id, 'wrong') } }))
      .toMatchObject({ status: 401, body: { error: 'invalid_client', error_description: 'client authentication failed' } });
    expect(await list(app, '', other)).toMatchObject({
      status: 403, body: { error: 'access_denied', error_description: 'these credentials belong to another application' },
    });
    const token = await accessToken(app);
    const { id } = ((await list(app)).body as TokenList).tokens[0]!;
    expect((await send('DELETE', s.url(`/api/v1/apps/${app.name}/tokens/${id}`), { headers: auth(other) })).status).toBe(403);
    expect(await active(app, token)).toBe(true);
  });

  it('lets a private_key_jwt application in with an access token it got for itself, as a bearer token', async () => {
    const app = await fresh({ tokenEndpointAuthMethod: 'private_key_jwt', grantTypes: ['client_credentials', 'password'] });
    const own = await accessToken(app);
    const bearer = { authorization: `Bearer ${own}` };
    await s.settle();
    const listed = await send('GET', s.url(`/api/v1/apps/${app.name}/tokens`), { headers: bearer });
    expect(listed.status).toBe(200);
    const ids = (listed.body as TokenList).tokens.map((token) => token.id);
    expect(ids).toHaveLength(1);

    const other = await accessToken(app);
    await s.settle();
    const otherId = ((await send('GET', s.url(`/api/v1/apps/${app.name}/tokens`), { headers: bearer })).body as TokenList).tokens
      .find((token) => !ids.includes(token.id))!.id;
    expect((await send('DELETE', s.url(`/api/v1/apps/${app.name}/tokens/${otherId}`), { headers: bearer })).status).toBe(204);
    expect(await active(app, other)).toBe(false);
    expect(await active(app, own)).toBe(true);
  });

  it('refuses a bearer token that is not live, not the application\'s own, or another application\'s', async () => {
    const app = await fresh({ tokenEndpointAuthMethod: 'private_key_jwt', grantTypes: ['client_credentials', 'password'] });
    const url = s.url(`/api/v1/apps/${app.name}/tokens`);
    const get = (token: string) => send('GET', url, { headers: { authorization: `Bearer ${token}` } });
    const refused = { status: 401, body: { error: 'invalid_token', error_description: 'the access token is expired, revoked or not one of this server\'s' } };

    // A user's token from the application: the user may not see the application's tokens.
    const user = await get((await passwordTokens(app)).access_token);
    expect(user).toMatchObject({ status: 401, body: { error: 'invalid_token', error_description: 'only a token the application got for itself (client_credentials) lists its tokens' } });
    expect(user.headers['www-authenticate']).toBe(`Bearer realm="${s.issuer}", error="invalid_token"`);

    const revoked = await accessToken(app);
    await oauth.revocationRequest(s.as, app.client, authOf(app), revoked, insecure);
    expect(await get(revoked)).toMatchObject(refused);
    expect(await get('not-a-token')).toMatchObject(refused);
    expect(await send('GET', url, { headers: { authorization: 'Bearer two words' } }))
      .toMatchObject({ status: 400, body: { error: 'invalid_request', error_description: 'malformed Authorization header' } });

    const another = await fresh({ tokenEndpointAuthMethod: 'private_key_jwt' });
    expect(await get(await accessToken(another))).toMatchObject({
      status: 403, body: { error: 'access_denied', error_description: 'these credentials belong to another application' },
    });
    expect((await get(await accessToken(app))).status).toBe(200);
  });

  it('RFC 9068 section 4: refuses a token meant for an Api, and any bearer token of an application with a secret', async () => {
    const signed = await fresh({ tokenEndpointAuthMethod: 'private_key_jwt', scopes: ['open', 'orders:read'] });
    const withSecret = await fresh({ scopes: ['open', 'orders:read'] });
    const get = (app: TestClient, token: string) => send('GET', s.url(`/api/v1/apps/${app.name}/tokens`), { headers: { authorization: `Bearer ${token}` } });
    const del = (app: TestClient, token: string, id: string) =>
      send('DELETE', s.url(`/api/v1/apps/${app.name}/tokens/${id}`), { headers: { authorization: `Bearer ${token}` } });
    const forApi = {
      status: 401,
      body: { error: 'invalid_token', error_description: 'this token is meant for an Api, not for this server: get one with client_credentials and scope open alone' },
    };
    const useSecret = {
      status: 401,
      body: { error: 'invalid_client', error_description: 'this application authenticates with its client id and secret (HTTP Basic), not a bearer token' },
    };

    // A resource server of the orders Api receives this token: it must not open the application's tokens.
    const ordersToken = await accessToken(signed, 'orders:read');
    const victim = await accessToken(signed, 'open');
    await s.settle();
    const victimId = ((await get(signed, victim)).body as TokenList).tokens.find((token) => token.scope === 'open')!.id;
    const listed = await get(signed, ordersToken);
    expect(listed).toMatchObject(forApi);
    expect(listed.body).toEqual(forApi.body);
    expect(listed.headers['www-authenticate']).toBe(`Bearer realm="${s.issuer}", error="invalid_token"`);
    expect(await del(signed, ordersToken, victimId)).toMatchObject(forApi);
    // Every scope of the application, with no scope asked for, is an Api's token too.
    expect(await get(signed, await accessToken(signed))).toMatchObject(forApi);
    expect(await active(signed, victim)).toBe(true);

    // An application with a secret uses its secret: no token of its own stands in for it.
    const secretOpen = await accessToken(withSecret, 'open');
    await s.settle();
    const secretVictim = ((await list(withSecret)).body as TokenList).tokens[0]!.id;
    const refusedSecret = await get(withSecret, secretOpen);
    expect(refusedSecret.body).toEqual(useSecret.body);
    expect(refusedSecret.status).toBe(401);
    expect(refusedSecret.headers['www-authenticate']).toBe(`Basic realm="${s.issuer}", charset="UTF-8"`);
    expect(await del(withSecret, secretOpen, secretVictim)).toMatchObject(useSecret);
    expect(await get(withSecret, await accessToken(withSecret, 'orders:read'))).toMatchObject(forApi);
    expect(await active(withSecret, secretOpen)).toBe(true);
    // Its secret still works.
    expect((await list(withSecret)).status).toBe(200);
  });
});

describe('refused bearer tokens on the listing routes', () => {
  let own: TestServer;
  beforeAll(async () => {
    own = await startTestServer({ clientAuthFailuresPerMinute: 3 });
  });
  afterAll(() => own.close());

  it('count per source address in the failure throttle: 429 with Retry-After past it, other addresses unaffected', async () => {
    const app = await own.addApp('signed', { tokenEndpointAuthMethod: 'private_key_jwt' });
    const good = (await oauth.processClientCredentialsResponse(own.as, app.client,
      await oauth.clientCredentialsGrantRequest(own.as, app.client, authOf(app), { scope: 'open' }, insecure))).access_token;
    const get = async (token: string, localAddress = '127.0.0.1') => {
      const response = await send('GET', own.url(`/api/v1/apps/${app.name}/tokens`), { headers: { authorization: `Bearer ${token}` }, localAddress });
      return { status: response.status, retryAfter: response.headers['retry-after'], body: response.body };
    };
    const refused = { status: 401, retryAfter: undefined, body: { error: 'invalid_token', error_description: 'the access token is expired, revoked or not one of this server\'s' } };
    for (let i = 0; i < 3; i++) expect(await get(`random-${i}`)).toEqual(refused);
    const throttled = { status: 429, retryAfter: '20', body: { error: 'slow_down', error_description: 'too many refused bearer tokens; retry later' } };
    expect(await get('random-3')).toEqual(throttled);
    expect(await get(good)).toEqual(throttled);
    expect((await get(good, '127.0.0.2')).status).toBe(200);
    own.advance(20_000);
    expect((await get(good)).status).toBe(200);
  });
});
