// OpenID Connect Core 1.0 for sign-in: the ID token (section 2, 3.1.3.7), userinfo (section 5.3)
// and discovery (OpenID Connect Discovery 1.0), checked with oauth4webapi and jose.
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizeAs, randomName, type Authorized } from '../../test/support/authorization.ts';
import { authOf, insecure, send, startTestServer, type TestClient, type TestServer } from '../../test/support/oauth-server.ts';

let s: TestServer;
let as: oauth.AuthorizationServer;
let app: TestClient;
const REDIRECT = 'https://app.example.test/callback';

beforeAll(async () => {
  s = await startTestServer();
  // OpenID Connect Discovery: oauth4webapi checks the document's issuer against the one asked.
  as = await oauth.processDiscoveryResponse(new URL(s.issuer), await oauth.discoveryRequest(new URL(s.issuer), { ...insecure, algorithm: 'oidc' }));
  app = await s.addApp(`web-${randomName()}`, {
    grantTypes: ['authorization_code', 'refresh_token'], redirectUris: [REDIRECT], scopes: ['openid', 'profile', 'email', 'orders:read'],
  });
  const alice = s.raw.users.get('alice')!;
  await s.raw.users.put('alice', { ...alice, spec: { ...alice.spec, displayName: 'Alice Liddell', email: 'alice@example.test' } });
});
afterAll(() => s.close());

const exchange = async ({ callback, redirectUri, verifier, nonce }: Authorized) =>
  oauth.processAuthorizationCodeResponse(as, app.client,
    await oauth.authorizationCodeGrantRequest(as, app.client, authOf(app), callback, redirectUri, verifier, insecure), { expectedNonce: nonce, requireIdToken: true });
const userinfo = (token: string, method = 'GET') => send(method, s.url('/oauth2/userinfo'), { headers: { authorization: `Bearer ${token}` } });

describe('the ID token', () => {
  it('is signed by the keyring, for the client, with the nonce, auth_time and no acr', async () => {
    const authorized = await authorizeAs(s, app, REDIRECT, { extra: { scope: 'openid profile' } });
    const tokens = await exchange(authorized);
    const idToken = tokens.id_token!;
    const { payload, protectedHeader } = await jwtVerify(idToken, createRemoteJWKSet(new URL(as.jwks_uri!)), {
      issuer: s.issuer, audience: app.client.client_id, typ: 'JWT',
    });
    expect(protectedHeader.alg).toBe('ES256');
    expect(Object.keys(payload).sort()).toEqual(['at_hash', 'aud', 'auth_time', 'exp', 'iat', 'iss', 'nonce', 'sub']);
    expect([payload.sub, payload.nonce, payload.auth_time]).toEqual(['user:alice', authorized.nonce, Math.floor(s.now() / 1000) - 5]);
    expect(oauth.getValidatedIdTokenClaims(tokens)).toMatchObject({ sub: 'user:alice', aud: app.client.client_id, nonce: authorized.nonce });
  });

  it('comes only with openid, and a refresh issues none', async () => {
    const tokens = await exchange(await authorizeAs(s, app, REDIRECT, { extra: { scope: 'orders:read' } })).catch((error: unknown) => error);
    // oauth4webapi was told to require one: none came.
    expect(tokens).toBeInstanceOf(oauth.OperationProcessingError);
    const refreshed = await oauth.processRefreshTokenResponse(as, app.client, await oauth.refreshTokenGrantRequest(
      as, app.client, authOf(app), (await exchange(await authorizeAs(s, app, REDIRECT, { extra: { scope: 'openid' } }))).refresh_token!, insecure));
    expect(refreshed.id_token).toBeUndefined();
  });

  it('is no access token: userinfo refuses it (typ JWT, not at+jwt)', async () => {
    const tokens = await exchange(await authorizeAs(s, app, REDIRECT, { extra: { scope: 'openid' } }));
    expect(decodeProtectedHeader(tokens.id_token!).typ).toBe('JWT');
    expect((await userinfo(tokens.id_token!)).status).toBe(401);
  });
});

describe('userinfo', () => {
  it('answers sub, and name and preferred_username with profile, and email with email', async () => {
    const all = await exchange(await authorizeAs(s, app, REDIRECT, { extra: { scope: 'openid profile email' } }));
    const claims = await oauth.processUserInfoResponse(as, app.client, 'user:alice', await oauth.userInfoRequest(as, app.client, all.access_token, insecure));
    expect(claims).toEqual({ sub: 'user:alice', name: 'Alice Liddell', preferred_username: 'alice', email: 'alice@example.test' });
    const bare = await exchange(await authorizeAs(s, app, REDIRECT, { extra: { scope: 'openid' } }));
    const post = await userinfo(bare.access_token, 'POST');
    expect([post.status, post.body, post.headers['cache-control']]).toEqual([200, { sub: 'user:alice' }, 'no-store']);
  });

  it('gives a token with only built-in scopes the issuer as its audience', async () => {
    const tokens = await exchange(await authorizeAs(s, app, REDIRECT, { extra: { scope: 'openid email' } }));
    const { payload } = await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL(as.jwks_uri!)), { issuer: s.issuer, typ: 'at+jwt' });
    expect(payload.aud).toBe(s.issuer);
  });

  it('refuses a token without openid with 403 insufficient_scope', async () => {
    const tokens = await oauth.processAuthorizationCodeResponse(as, app.client, await (async () => {
      const authorized = await authorizeAs(s, app, REDIRECT, { extra: { scope: 'orders:read profile' } });
      return oauth.authorizationCodeGrantRequest(as, app.client, authOf(app), authorized.callback, REDIRECT, authorized.verifier, insecure);
    })());
    const answer = await userinfo(tokens.access_token);
    expect([answer.status, answer.body]).toEqual([403, { error: 'insufficient_scope', error_description: 'the access token does not carry the openid scope' }]);
    expect(answer.headers['www-authenticate']).toBe(`Bearer realm="${s.issuer}", error="insufficient_scope", scope="openid"`);
  });

  it('refuses a missing, forged or revoked token with 401 invalid_token and a Bearer challenge', async () => {
    const tokens = await exchange(await authorizeAs(s, app, REDIRECT, { extra: { scope: 'openid' } }));
    const missing = await send('GET', s.url('/oauth2/userinfo'));
    expect([missing.status, missing.body]).toEqual([401, { error: 'invalid_token', error_description: 'send the access token in an Authorization header (Bearer)' }]);
    const forged = await userinfo(`${tokens.access_token.slice(0, -4)}AAAA`);
    expect([forged.status, forged.body]).toEqual([401, { error: 'invalid_token', error_description: 'the access token is expired, revoked or not one of this server\'s' }]);
    expect(forged.headers['www-authenticate']).toBe(`Bearer realm="${s.issuer}", error="invalid_token"`);
    await oauth.revocationRequest(as, app.client, authOf(app), tokens.access_token, insecure);
    expect((await userinfo(tokens.access_token)).status).toBe(401);
  });
});
