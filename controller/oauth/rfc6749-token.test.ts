// RFC 6749 at POST /oauth2/token: the client_credentials, password and refresh_token grants,
// client_secret_basic and client_secret_post, scopes, plans, errors and hostile requests.
import { decodeJwt } from 'jose';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuthorization } from './basic.ts';
import { ALICE_PASSWORD, authOf, insecure, ORDERS_AUDIENCE, postForm, startTestServer, type TestClient, type TestServer } from '../../test/support/oauth-server.ts';
import { configWriter } from '../store/config.ts';

let s: TestServer;
let tokenUrl: string;
let realm: string;
let counter = 0;
const fresh = (prefix: string) => `${prefix}-${++counter}`;

beforeAll(async () => {
  s = await startTestServer({ clientAuthFailuresPerMinute: 5, passwordFailuresPerMinute: 3 });
  tokenUrl = s.url('/oauth2/token');
  realm = `Basic realm="${s.issuer}", charset="UTF-8"`;
});
afterAll(() => s.close());

const clientCredentials = async (app: TestClient, params: Record<string, string> = {}) =>
  oauth.processClientCredentialsResponse(s.as, app.client,
    await oauth.clientCredentialsGrantRequest(s.as, app.client, authOf(app), params, insecure));
const passwordGrant = async (app: TestClient, username: string, password: string, extra: Record<string, string> = {}) =>
  oauth.processGenericTokenEndpointResponse(s.as, app.client,
    await oauth.genericTokenEndpointRequest(s.as, app.client, authOf(app), 'password', { username, password, ...extra }, insecure));
const refresh = async (app: TestClient, refreshToken: string, extra: Record<string, string> = {}) =>
  oauth.processRefreshTokenResponse(s.as, app.client,
    await oauth.refreshTokenGrantRequest(s.as, app.client, authOf(app), refreshToken, { ...insecure, additionalParameters: extra }));
const basic = (app: TestClient) => ({ authorization: basicAuthorization(app.client.client_id, app.secret!) });
const passwordApp = (plan?: string) => s.addApp(fresh('portal'), {
  grantTypes: ['password', 'refresh_token'], scopes: ['open', 'orders:read'], ...(plan === undefined ? {} : { plan }),
});

/** The OAuth error a failed request carries, as oauth4webapi reports it. */
async function oauthError(promise: Promise<unknown>): Promise<{ status: number; body: unknown }> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  if (!(err instanceof oauth.ResponseBodyError)) throw new Error(`expected an OAuth error response, got ${String(err)}`);
  return { status: err.status, body: err.cause };
}

describe('client_credentials grant', () => {
  it('issues a Bearer JWT with client_secret_basic, no refresh token, and no-store headers', async () => {
    const app = await s.addApp(fresh('billing'));
    const response = await oauth.clientCredentialsGrantRequest(s.as, app.client, authOf(app), {}, insecure);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('pragma')).toBe('no-cache');
    const tokens = await oauth.processClientCredentialsResponse(s.as, app.client, response);
    expect(tokens).toEqual({ access_token: expect.any(String), token_type: 'bearer', expires_in: 900, scope: 'open' });
    expect(decodeJwt(tokens.access_token)).toMatchObject({ sub: `client:${app.client.client_id}`, client_id: app.client.client_id });
  });

  it('accepts client_secret_post from an application registered for it', async () => {
    const app = await s.addApp(fresh('billing'), { tokenEndpointAuthMethod: 'client_secret_post' });
    app.client.token_endpoint_auth_method = 'client_secret_post';
    expect((await clientCredentials(app)).token_type).toBe('bearer');
  });

  it('grants every scope the application holds when none is requested, and only the requested ones otherwise', async () => {
    const app = await s.addApp(fresh('billing'), { scopes: ['open', 'orders:read', 'billing:read'] });
    expect((await clientCredentials(app)).scope).toBe('open orders:read billing:read');
    const narrowed = await clientCredentials(app, { scope: 'orders:read' });
    expect(narrowed.scope).toBe('orders:read');
    expect(decodeJwt(narrowed.access_token).aud).toBe(ORDERS_AUDIENCE);
  });

  it('refuses a scope the application does not hold: invalid_scope and no token', async () => {
    const app = await s.addApp(fresh('billing'), { scopes: ['open', 'orders:read'] });
    const response = await postForm(tokenUrl, 'grant_type=client_credentials&scope=orders:read%20orders:write', basic(app));
    expect(response).toMatchObject({ status: 400, body: { error: 'invalid_scope', error_description: 'a requested scope is not one this client may have' } });
    expect(response.headers['cache-control']).toBe('no-store');
    // A scope that no Api publishes is refused the same way, even when listed by the application.
    const stale = await s.addApp(fresh('billing'), { scopes: ['open', 'retired:scope'] });
    expect((await postForm(tokenUrl, 'grant_type=client_credentials&scope=retired:scope', basic(stale))).body)
      .toEqual({ error: 'invalid_scope', error_description: 'a requested scope is not one this client may have' });
    expect((await clientCredentials(stale)).scope).toBe('open');
  });

  it('refuses a malformed scope parameter', async () => {
    const app = await s.addApp(fresh('billing'));
    expect((await postForm(tokenUrl, 'grant_type=client_credentials&scope=open%20%20open', basic(app))).body)
      .toEqual({ error: 'invalid_scope', error_description: 'the scope parameter is malformed' });
  });

  it('refuses a grant the application does not list: unauthorized_client', async () => {
    const app = await s.addApp(fresh('billing'));
    expect(await postForm(tokenUrl, 'grant_type=password&username=alice&password=x', basic(app))).toMatchObject({
      status: 400, body: { error: 'unauthorized_client', error_description: 'this client may not use the password grant' },
    });
  });

  it('refuses an unknown or missing grant type', async () => {
    const app = await s.addApp(fresh('billing'));
    expect((await postForm(tokenUrl, 'grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=x', basic(app))).body)
      .toEqual({ error: 'unsupported_grant_type', error_description: 'this server does not support the requested grant type' });
    expect((await postForm(tokenUrl, 'scope=open', basic(app))).body)
      .toEqual({ error: 'invalid_request', error_description: 'missing required parameter \'grant_type\'' });
  });
});

describe('client authentication', () => {
  const failure = (description = 'client authentication failed') => ({ error: 'invalid_client', error_description: description });

  it('answers an unknown client and a wrong secret alike: 401 invalid_client with a Basic challenge', async () => {
    const app = await s.addApp(fresh('billing'));
    const unknown = await postForm(tokenUrl, 'grant_type=client_credentials', { authorization: basicAuthorization('no-such-client-1', app.secret!) });
    const wrong = await postForm(tokenUrl, 'grant_type=client_credentials', { authorization: basicAuthorization(app.client.client_id, 'wrong') });
    for (const response of [unknown, wrong]) {
      expect(response.status).toBe(401);
      expect(response.body).toEqual(failure());
      expect(response.headers['www-authenticate']).toBe(realm);
      expect(response.headers['cache-control']).toBe('no-store');
    }
  });

  it('compares client ids exactly, not ignoring case', async () => {
    const app = await s.addApp(fresh('billing'));
    const response = await postForm(tokenUrl, 'grant_type=client_credentials',
      { authorization: basicAuthorization(app.client.client_id.toUpperCase(), app.secret!) });
    expect(response).toMatchObject({ status: 401, body: failure() });
  });

  it('decodes Basic credentials as RFC 6749 Appendix B says: form-urlencoded id and secret', async () => {
    const app = await s.addApp(fresh('billing'));
    const secret = 'a secret+with:odd%chars/é';
    await s.updateApp(app.name, (record) => ({ ...record, secrets: [{ hash: s.hashSecret(secret) }] }));
    const encoded = `Basic ${Buffer.from(`${app.client.client_id}:${encodeURIComponent(secret).replace(/%20/g, '+')}`).toString('base64')}`;
    expect((await postForm(tokenUrl, 'grant_type=client_credentials', { authorization: encoded })).status).toBe(200);
  });

  it('refuses a method other than the one the manifest names', async () => {
    const app = await s.addApp(fresh('billing'));
    const response = await postForm(tokenUrl, `grant_type=client_credentials&client_id=${app.client.client_id}&client_secret=${app.secret}`);
    expect(response).toMatchObject({ status: 401, body: failure() });
  });

  it('accepts any unexpired secret of the application, so a rotation needs no downtime', async () => {
    const app = await s.addApp(fresh('billing'));
    const [older, newer, expired] = ['older-secret-value', 'newer-secret-value', 'expired-secret-value'];
    const soon = new Date(s.now() + 3_600_000).toISOString();
    const past = new Date(s.now() - 1000).toISOString();
    await s.updateApp(app.name, (record) => ({
      ...record, secrets: [{ hash: s.hashSecret(older), expiresAt: soon }, { hash: s.hashSecret(newer) }, { hash: s.hashSecret(expired), expiresAt: past }],
    }));
    const status = async (secret: string) => (await postForm(tokenUrl, 'grant_type=client_credentials',
      { authorization: basicAuthorization(app.client.client_id, secret) })).status;
    expect([await status(older), await status(newer), await status(expired)]).toEqual([200, 200, 401]);
  });

  it('gives an inactive application nothing, whatever it presents', async () => {
    const app = await s.addApp(fresh('billing'));
    await s.updateApp(app.name, (record) => ({ ...record, spec: { ...record.spec, state: 'inactive' } }));
    expect(await postForm(tokenUrl, 'grant_type=client_credentials', basic(app)))
      .toMatchObject({ status: 401, body: failure('the application is inactive') });
  });

  it('refuses an application at the very next request after a commit deactivates it or revokes its secret', async () => {
    // Application records are decoded once per version (store/config.ts): the requests before
    // each commit make sure the next one finds a decoded record to be fooled by.
    const writer = configWriter(s.raw);
    const app = await s.addApp(fresh('billing'));
    expect((await postForm(tokenUrl, 'grant_type=client_credentials', basic(app))).status).toBe(200);
    s.raw.root.transactionSync(() => writer.deactivateApplication(app.name, 'c2'));
    expect(await postForm(tokenUrl, 'grant_type=client_credentials', basic(app)))
      .toMatchObject({ status: 401, body: failure('the application is inactive') });

    const other = await s.addApp(fresh('shop'));
    expect((await postForm(tokenUrl, 'grant_type=client_credentials', basic(other))).status).toBe(200);
    const record = s.raw.applications.get(other.name)!;
    s.raw.root.transactionSync(() => writer.putApplication({ ...record, commit: 'c3', secrets: [{ hash: s.hashSecret('the-next-secret') }] }));
    expect((await postForm(tokenUrl, 'grant_type=client_credentials', basic(other))).status).toBe(401);
  });

  it('requires exactly one authentication method', async () => {
    const app = await s.addApp(fresh('billing'));
    expect(await postForm(tokenUrl, `grant_type=client_credentials&client_secret=${app.secret}`, basic(app))).toMatchObject({
      status: 400, body: { error: 'invalid_request', error_description: 'the request uses more than one client authentication method' },
    });
    expect(await postForm(tokenUrl, 'grant_type=client_credentials')).toMatchObject({ status: 401, body: failure('client authentication is required') });
  });

  it('throttles failed authentications per client and source address, not locking the client out elsewhere', async () => {
    const app = await s.addApp(fresh('billing'));
    const wrong = { authorization: basicAuthorization(app.client.client_id, 'guess') };
    for (let i = 0; i < 5; i++) expect((await postForm(tokenUrl, 'grant_type=client_credentials', wrong)).status).toBe(401);
    const throttled = await postForm(tokenUrl, 'grant_type=client_credentials', basic(app));
    expect(throttled).toMatchObject({
      status: 429, body: { error: 'slow_down', error_description: 'too many failed client authentications; retry later' },
    });
    expect(throttled.headers['retry-after']).toBe('12');
    // The rightful client, from its own address, is not affected.
    expect((await postForm(tokenUrl, 'grant_type=client_credentials', basic(app), '127.0.0.2')).status).toBe(200);
    s.advance(12_000);
    expect((await postForm(tokenUrl, 'grant_type=client_credentials', basic(app))).status).toBe(200);
  });
});

describe('password grant', () => {
  it('issues an access token and a refresh token for the resource owner', async () => {
    const app = await passwordApp();
    const tokens = await passwordGrant(app, 'alice', ALICE_PASSWORD);
    expect(tokens).toEqual({
      access_token: expect.any(String), refresh_token: expect.any(String), token_type: 'bearer', expires_in: 900, scope: 'open orders:read',
    });
    // 256 bits of randomness, base64url.
    expect(tokens.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(decodeJwt(tokens.access_token)).toMatchObject({ sub: 'user:alice', client_id: app.client.client_id });
  });

  it('issues no refresh token to an application that may not use the refresh_token grant', async () => {
    const app = await s.addApp(fresh('portal'), { grantTypes: ['password'] });
    expect(await passwordGrant(app, 'alice', ALICE_PASSWORD)).not.toHaveProperty('refresh_token');
  });

  it('answers a wrong password, an unknown user and a user without a password alike', async () => {
    const app = await passwordApp();
    for (const [username, password] of [['alice', 'wrong'], ['mallory', ALICE_PASSWORD], ['bob', 'anything']]) {
      expect(await postForm(tokenUrl, new URLSearchParams({ grant_type: 'password', username: username!, password: password! }).toString(), basic(app)))
        .toMatchObject({ status: 400, body: { error: 'invalid_grant', error_description: 'the resource owner credentials are invalid' } });
    }
  });

  it('throttles failed attempts per (user, client) while the user signs in through other applications', async () => {
    const [attacked, other] = [await passwordApp(), await passwordApp()];
    for (let i = 0; i < 3; i++) await oauthError(passwordGrant(attacked, 'alice', `guess-${i}`));
    expect(await oauthError(passwordGrant(attacked, 'alice', ALICE_PASSWORD))).toEqual({
      status: 429, body: { error: 'slow_down', error_description: 'too many failed sign-in attempts for this user; retry later' },
    });
    expect((await passwordGrant(other, 'alice', ALICE_PASSWORD)).token_type).toBe('bearer');
  });

  it('gives a guesser holding the client\'s credentials no lock on the user: the throttle is per (user, client, source address)', async () => {
    const app = await passwordApp();
    const attempt = (password: string, from: string) =>
      postForm(tokenUrl, new URLSearchParams({ grant_type: 'password', username: 'alice', password }).toString(), basic(app), from);
    // The guesser, from an address of its own, through the very application alice uses.
    for (let i = 0; i < 3; i++) {
      expect(await attempt(`guess-${i}`, '127.0.0.2')).toMatchObject({
        status: 400, body: { error: 'invalid_grant', error_description: 'the resource owner credentials are invalid' },
      });
    }
    const throttled = await attempt(ALICE_PASSWORD, '127.0.0.2');
    expect(throttled.status).toBe(429);
    expect(throttled.body).toEqual({ error: 'slow_down', error_description: 'too many failed sign-in attempts for this user; retry later' });
    // The application's own requests for alice, from where it runs, still get her tokens.
    const rightful = await attempt(ALICE_PASSWORD, '127.0.0.1');
    expect(rightful.status).toBe(200);
    expect(rightful.body).toEqual({
      access_token: expect.any(String), refresh_token: expect.any(String), token_type: 'Bearer', expires_in: 900, scope: 'open orders:read',
    });
  });
});

describe('refresh_token grant', () => {
  it('rotates the refresh token on every use and keeps the scope', async () => {
    const app = await passwordApp();
    const first = await passwordGrant(app, 'alice', ALICE_PASSWORD, { scope: 'orders:read' });
    const second = await refresh(app, first.refresh_token!);
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(second.scope).toBe('orders:read');
    expect(decodeJwt(second.access_token)).toMatchObject({ sub: 'user:alice' });
    expect((await refresh(app, second.refresh_token!)).token_type).toBe('bearer');
  });

  it('never widens the scope originally granted', async () => {
    const app = await passwordApp();
    const first = await passwordGrant(app, 'alice', ALICE_PASSWORD, { scope: 'orders:read' });
    expect(await oauthError(refresh(app, first.refresh_token!, { scope: 'orders:read open' }))).toEqual({
      status: 400, body: { error: 'invalid_scope', error_description: 'a requested scope is not one this client may have' },
    });
  });

  it('RFC 6749 section 6: a narrower scope narrows the access token, and the new refresh token keeps the scope presented', async () => {
    const app = await passwordApp();
    const first = await passwordGrant(app, 'alice', ALICE_PASSWORD);
    expect(first.scope).toBe('open orders:read');
    const narrowed = await refresh(app, first.refresh_token!, { scope: 'orders:read' });
    expect(narrowed.scope).toBe('orders:read');
    expect(decodeJwt(narrowed.access_token)).toMatchObject({ scope: 'orders:read', aud: ORDERS_AUDIENCE });
    // The refresh token that came back still carries the whole grant: the next refresh may ask
    // for open again, and without a scope gets all of it.
    const introspected = await oauth.processIntrospectionResponse(s.as, app.client,
      await oauth.introspectionRequest(s.as, app.client, authOf(app), narrowed.refresh_token!, insecure));
    expect(introspected).toMatchObject({ active: true, scope: 'open orders:read', token_type: 'refresh_token' });
    const again = await refresh(app, narrowed.refresh_token!, { scope: 'open' });
    expect(again.scope).toBe('open');
    expect((await refresh(app, again.refresh_token!)).scope).toBe('open orders:read');
  });

  it('drops from the refresh token a scope no Api publishes any more: publishing the name again does not bring it back', async () => {
    const api = {
      v: 1 as const, commit: '0123456789abcdef0123456789abcdef01234567', name: 'reports', path: 'apis/reports.yaml',
      spec: { description: 'reports', audience: 'https://reports.example.test', scopes: [{ name: 'reports:read', description: 'read' }] },
    };
    await s.raw.apis.put('reports', api);
    s.advance(1100);
    const app = await s.addApp(fresh('portal'), { grantTypes: ['password', 'refresh_token'], scopes: ['open', 'reports:read'] });
    const first = await passwordGrant(app, 'alice', ALICE_PASSWORD);
    expect(first.scope).toBe('open reports:read');
    await s.raw.apis.remove('reports');
    s.advance(1100);
    const second = await refresh(app, first.refresh_token!);
    expect(second.scope).toBe('open');
    // Another Api publishing the same name later gets nothing from the old grant.
    await s.raw.apis.put('reports', { ...api, name: 'reports', spec: { ...api.spec, audience: 'https://other.example.test' } });
    s.advance(1100);
    const third = await refresh(app, second.refresh_token!);
    expect(third.scope).toBe('open');
    await s.raw.apis.remove('reports');
    s.advance(1100);
  });

  it('revokes the whole family when a used refresh token is presented again', async () => {
    const app = await passwordApp();
    const first = await passwordGrant(app, 'alice', ALICE_PASSWORD);
    const second = await refresh(app, first.refresh_token!);
    const unusable = { status: 400, body: { error: 'invalid_grant', error_description: 'the refresh token is invalid, expired or revoked' } };
    expect(await oauthError(refresh(app, first.refresh_token!))).toEqual(unusable);
    // The thief's or the client's newer token is gone too.
    expect(await oauthError(refresh(app, second.refresh_token!))).toEqual(unusable);
  });

  it('lets exactly one of 20 concurrent refreshes of one token win', async () => {
    const app = await passwordApp();
    const { refresh_token } = await passwordGrant(app, 'alice', ALICE_PASSWORD);
    const responses = await Promise.all(Array.from({ length: 20 }, () =>
      postForm(tokenUrl, `grant_type=refresh_token&refresh_token=${refresh_token}`, basic(app))));
    const won = responses.filter((response) => response.status === 200);
    expect(won).toHaveLength(1);
    for (const response of responses.filter((r) => r.status !== 200)) {
      expect(response).toMatchObject({ status: 400, body: { error: 'invalid_grant', error_description: 'the refresh token is invalid, expired or revoked' } });
    }
    // The others presented a spent token: the family, the winner's new token included, is revoked.
    const winner = (won[0]!.body as { refresh_token: string }).refresh_token;
    expect((await postForm(tokenUrl, `grant_type=refresh_token&refresh_token=${winner}`, basic(app))).status).toBe(400);
  });

  it('still refuses a spent refresh token after the server restarts', async () => {
    // A server of its own: restarting closes every connection the shared one's clients pool.
    const own = await startTestServer();
    try {
      const app = await own.addApp('portal', { grantTypes: ['password', 'refresh_token'] });
      const url = own.url('/oauth2/token');
      const auth = { authorization: basicAuthorization(app.client.client_id, app.secret!) };
      const first = await postForm(url, `grant_type=password&username=alice&password=${encodeURIComponent(ALICE_PASSWORD)}`, auth);
      const { refresh_token: spent } = first.body as { refresh_token: string };
      const second = await postForm(url, `grant_type=refresh_token&refresh_token=${spent}`, auth);
      expect(second.status).toBe(200);
      await own.restart();
      const unusable = { error: 'invalid_grant', error_description: 'the refresh token is invalid, expired or revoked' };
      expect(await postForm(url, `grant_type=refresh_token&refresh_token=${spent}`, auth)).toMatchObject({ status: 400, body: unusable });
      // That replay revoked the family, and the revocation too survives a restart.
      await own.restart();
      const { refresh_token: current } = second.body as { refresh_token: string };
      expect(await postForm(url, `grant_type=refresh_token&refresh_token=${current}`, auth)).toMatchObject({ status: 400, body: unusable });
    } finally {
      await own.close();
    }
  });

  it('is bound to the client it was issued to', async () => {
    const [owner, other] = [await passwordApp(), await passwordApp()];
    const { refresh_token } = await passwordGrant(owner, 'alice', ALICE_PASSWORD);
    expect((await oauthError(refresh(other, refresh_token!))).body).toEqual({
      error: 'invalid_grant', error_description: 'the refresh token is invalid, expired or revoked',
    });
    // The attempt did not spend it.
    expect((await refresh(owner, refresh_token!)).token_type).toBe('bearer');
  });
});

describe('plans', () => {
  it('take access and refresh token lifetimes from the application\'s plan, else the default plan', async () => {
    const short = await passwordApp('short');
    const tokens = await passwordGrant(short, 'alice', ALICE_PASSWORD);
    expect(tokens.expires_in).toBe(120);
    const claims = decodeJwt(tokens.access_token);
    expect(claims.exp! - claims.iat!).toBe(120);
    expect((await passwordGrant(await passwordApp(), 'alice', ALICE_PASSWORD)).expires_in).toBe(900);
    // The refresh token lives 10 minutes on this plan.
    s.advance(10 * 60_000 + 1000);
    expect((await oauthError(refresh(short, tokens.refresh_token!))).body).toEqual({
      error: 'invalid_grant', error_description: 'the refresh token is invalid, expired or revoked',
    });
  });

  it('apply a merged plan change within a second (configCacheTtl)', async () => {
    const app = await s.addApp(fresh('billing'), { plan: 'trickle' });
    expect((await clientCredentials(app)).expires_in).toBe(900);
    const plan = s.raw.plans.get('trickle')!;
    await s.raw.plans.put('trickle', { ...plan, spec: { ...plan.spec, accessTokenTtl: '5m' } });
    s.advance(1000);
    expect((await clientCredentials(app)).expires_in).toBe(300);
    await s.raw.plans.put('trickle', plan);
    s.advance(1000);
  });

  it('answer 429 with Retry-After past the plan\'s token request rate', async () => {
    const app = await s.addApp(fresh('billing'), { plan: 'trickle' });
    for (let i = 0; i < 3; i++) expect((await postForm(tokenUrl, 'grant_type=client_credentials', basic(app))).status).toBe(200);
    const refused = await postForm(tokenUrl, 'grant_type=client_credentials', basic(app));
    expect(refused).toMatchObject({
      status: 429, body: { error: 'slow_down', error_description: 'the plan allows 3 token requests per minute' },
    });
    expect(refused.headers['retry-after']).toBe('20');
    expect(refused.headers['cache-control']).toBe('no-store');
    s.advance(20_000);
    expect((await postForm(tokenUrl, 'grant_type=client_credentials', basic(app))).status).toBe(200);
  });
});

describe('hostile requests: an RFC 6749 error, never a 500, never a token', () => {
  let app: TestClient;
  beforeAll(async () => {
    app = await s.addApp(fresh('target'), { grantTypes: ['client_credentials', 'password', 'refresh_token'] });
  });
  const invalid = (error_description: string) => ({ error: 'invalid_request', error_description });
  const cases: [string, () => Promise<{ status: number; body: unknown }>, number, unknown][] = [
    ['a repeated grant_type', () => postForm(tokenUrl, 'grant_type=client_credentials&grant_type=password', basic(app)),
      400, invalid('parameter \'grant_type\' is included more than once')],
    ['a repeated parameter with an empty first value', () => postForm(tokenUrl, 'grant_type=client_credentials&scope=&scope=open', basic(app)),
      400, invalid('parameter \'scope\' is included more than once')],
    ['credentials in the query string', () => postForm(`${tokenUrl}?client_id=${app.client.client_id}&client_secret=${app.secret}`, 'grant_type=client_credentials'),
      400, invalid('parameters must be sent in the request body, not in the URL')],
    ['a JSON body', () => postForm(tokenUrl, '{"grant_type":"client_credentials"}', { ...basic(app), 'content-type': 'application/json' }),
      400, invalid('the request body must be application/x-www-form-urlencoded')],
    ['a form body declared in another charset', () => postForm(tokenUrl, 'grant_type=client_credentials', { ...basic(app), 'content-type': 'application/x-www-form-urlencoded; charset=iso-8859-1' }),
      400, invalid('the request body must be application/x-www-form-urlencoded')],
    ['malformed percent-encoding', () => postForm(tokenUrl, 'grant_type=client_credentials&scope=%E0%A4%A', basic(app)),
      400, invalid('the request contains malformed percent-encoding')],
    ['a body over the limit', () => postForm(tokenUrl, `grant_type=client_credentials&pad=${'a'.repeat(20_000)}`, basic(app)),
      413, invalid('the request body is too large')],
    ['a Basic header that is not base64', () => postForm(tokenUrl, 'grant_type=client_credentials', { authorization: 'Basic not*base64' }),
      400, invalid('malformed Basic credentials: not base64')],
    ['a Basic header without a colon', () => postForm(tokenUrl, 'grant_type=client_credentials', { authorization: `Basic ${Buffer.from('justanid').toString('base64')}` }),
      400, invalid('malformed Basic credentials: no colon between client id and secret')],
    ['a Basic header that is not UTF-8', () => postForm(tokenUrl, 'grant_type=client_credentials', { authorization: `Basic ${Buffer.from([0xff, 0x3a, 0xfe]).toString('base64')}` }),
      400, invalid('malformed Basic credentials: not UTF-8')],
    ['a Basic header with bad percent-encoding', () => postForm(tokenUrl, 'grant_type=client_credentials', { authorization: `Basic ${Buffer.from('id%zz:secret').toString('base64')}` }),
      400, invalid('the request contains malformed percent-encoding')],
    ['an empty Basic header', () => postForm(tokenUrl, 'grant_type=client_credentials', { authorization: 'Basic' }),
      400, invalid('malformed Authorization header')],
    ['a Bearer header', () => postForm(tokenUrl, 'grant_type=client_credentials', { authorization: 'Bearer abc' }),
      400, invalid('the Authorization header must use the Basic scheme')],
    ['a client_id in the body that differs from Basic', () => postForm(tokenUrl, 'grant_type=client_credentials&client_id=someone-else', basic(app)),
      400, invalid('client_id does not match the Authorization header')],
    ['a password grant without a password', () => postForm(tokenUrl, 'grant_type=password&username=alice', basic(app)),
      400, invalid('missing required parameter \'password\'')],
    ['a user name longer than any user\'s', () => postForm(tokenUrl, `grant_type=password&username=${'u'.repeat(5000)}&password=x`, basic(app)),
      400, { error: 'invalid_grant', error_description: 'the resource owner credentials are invalid' }],
    ['a client id longer than any client\'s', () => postForm(tokenUrl, 'grant_type=client_credentials', { authorization: basicAuthorization('c'.repeat(5000), 'x') }),
      401, { error: 'invalid_client', error_description: 'client authentication failed' }],
    ['a refresh token that was never issued', () => postForm(tokenUrl, 'grant_type=refresh_token&refresh_token=forged', basic(app)),
      400, { error: 'invalid_grant', error_description: 'the refresh token is invalid, expired or revoked' }],
    // Error descriptions describe the input, never echo it: what a caller sends must not come
    // back in an answer that a log, a page or another client may show.
    ['a scope that carries markup', () => postForm(tokenUrl, `grant_type=client_credentials&scope=${encodeURIComponent('<script>alert(1)</script>')}`, basic(app)),
      400, { error: 'invalid_scope', error_description: 'a requested scope is not one this client may have' }],
    ['a grant type that carries markup', () => postForm(tokenUrl, `grant_type=${encodeURIComponent('<img src=x onerror=alert(1)>')}`, basic(app)),
      400, { error: 'unsupported_grant_type', error_description: 'this server does not support the requested grant type' }],
    ['a repeated parameter of the caller\'s own naming', () => postForm(tokenUrl, `grant_type=client_credentials&${encodeURIComponent('<b>x</b>')}=1&${encodeURIComponent('<b>x</b>')}=2`, basic(app)),
      400, invalid('a parameter is included more than once')],
  ];
  it.each(cases)('%s', async (_name, request, status, body) => {
    const response = await request();
    expect(response.status).toBe(status);
    expect(response.body).toEqual(body);
  });

  it('refuses a body that is not UTF-8 (RFC 6749 Appendix B) rather than reading U+FFFD in its place', async () => {
    const form = (bytes: number[]) => Buffer.concat([Buffer.from('grant_type=password&username=alice&password='), Buffer.from(bytes)]);
    // A lone continuation byte, a truncated sequence, an overlong encoding, a UTF-16 surrogate.
    for (const bytes of [[0xff], [0xe2, 0x82], [0xc0, 0xaf], [0xed, 0xa0, 0x80]]) {
      const response = await fetch(tokenUrl, { method: 'POST', headers: { ...basic(app), 'content-type': 'application/x-www-form-urlencoded' }, body: form(bytes) });
      expect([response.status, await response.json()]).toEqual([400, invalid('the request body is not UTF-8')]);
    }
  });

  it('answers a request with no body and no content type', async () => {
    const response = await fetch(tokenUrl, { method: 'POST', headers: basic(app) });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual(invalid('the request body must be application/x-www-form-urlencoded'));
    expect(response.headers.get('cache-control')).toBe('no-store');
  });
});
