// RFC 9068 JWT access tokens: header, claims, audiences, subjects, and checking them the way a
// resource server does, with the published JWKS.
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ALICE_PASSWORD, authOf, BILLING_AUDIENCE, insecure, ORDERS_AUDIENCE, send, startTestServer, type TestClient, type TestServer,
} from '../../test/support/oauth-server.ts';

let s: TestServer;
let counter = 0;
const fresh = (spec: Parameters<TestServer['addApp']>[1] = {}) => s.addApp(`app-${++counter}`, spec);

beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.close());

const accessToken = async (app: TestClient, scope?: string) => (await oauth.processClientCredentialsResponse(s.as, app.client,
  await oauth.clientCredentialsGrantRequest(s.as, app.client, authOf(app), scope === undefined ? {} : { scope }, insecure))).access_token;

/** What a resource server does with a bearer token: oauth4webapi's RFC 9068 validation against the JWKS. */
const validateAt = (audience: string, token: string) => oauth.validateJwtAccessToken(s.as,
  new Request('https://resource.example.test/', { headers: { authorization: `Bearer ${token}` } }), audience, insecure);

describe('JWT access tokens', () => {
  it('carry typ at+jwt and a kid that the JWKS publishes', async () => {
    const token = await accessToken(await fresh());
    const header = decodeProtectedHeader(token);
    expect(header).toEqual({ alg: 'ES256', kid: expect.any(String), typ: 'at+jwt' });
    const jwks = await send('GET', s.url('/oauth2/jwks'));
    expect(jwks.headers['content-type']).toMatch(/^application\/jwk-set\+json/);
    expect((jwks.body as { keys: { kid: string }[] }).keys.map((key) => key.kid)).toContain(header.kid);
  });

  it('carry the RFC 9068 claims, and verify as a resource server checks them', async () => {
    const app = await fresh({ scopes: ['open', 'orders:read'] });
    const token = await accessToken(app, 'orders:read');
    const claims = await validateAt(ORDERS_AUDIENCE, token);
    expect(claims).toEqual({
      iss: s.issuer, sub: `client:${app.client.client_id}`, aud: ORDERS_AUDIENCE, client_id: app.client.client_id,
      scope: 'orders:read', iat: expect.any(Number), exp: claims.iat + 900, jti: expect.any(String),
    });
    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(s.url('/oauth2/jwks'))), {
      issuer: s.issuer, audience: ORDERS_AUDIENCE, typ: 'at+jwt', currentDate: new Date(s.now()),
    });
    expect(payload.jti).toBe(claims.jti);
  });

  it('name the audiences of the Apis whose scopes were granted, or the issuer for open alone', async () => {
    const app = await fresh({ scopes: ['open', 'orders:read', 'orders:write', 'billing:read'] });
    expect(decodeJwt(await accessToken(app, 'open')).aud).toBe(s.issuer);
    expect(decodeJwt(await accessToken(app, 'orders:read orders:write')).aud).toBe(ORDERS_AUDIENCE);
    expect(decodeJwt(await accessToken(app, 'open orders:read billing:read')).aud).toEqual([ORDERS_AUDIENCE, BILLING_AUDIENCE]);
    await expect(validateAt(BILLING_AUDIENCE, await accessToken(app, 'orders:read'))).rejects.toThrow(/aud/);
  });

  it('give clients and users subjects that cannot collide', async () => {
    const app = await fresh({ grantTypes: ['client_credentials', 'password'] });
    const userToken = await oauth.processGenericTokenEndpointResponse(s.as, app.client, await oauth.genericTokenEndpointRequest(
      s.as, app.client, authOf(app), 'password', { username: 'alice', password: ALICE_PASSWORD }, insecure));
    expect(decodeJwt(userToken.access_token).sub).toBe('user:alice');
    expect(decodeJwt(await accessToken(app)).sub).toBe(`client:${app.client.client_id}`);
  });

  it('each get their own jti', async () => {
    const app = await fresh();
    const jtis = new Set(await Promise.all(Array.from({ length: 10 }, async () => decodeJwt(await accessToken(app)).jti)));
    expect(jtis.size).toBe(10);
  });

  it('are signed, after a rotation, by the key the JWKS published a period ahead, and older tokens still verify', async () => {
    const app = await fresh();
    const before = await accessToken(app);
    const publishedBefore = ((await send('GET', s.url('/oauth2/jwks'))).body as { keys: { kid: string }[] }).keys.map((key) => key.kid);
    s.advance(24 * 3_600_000 + 1000);
    // The first request after the period starts the rotation in the background; a few more see it done.
    let kid = decodeProtectedHeader(await accessToken(app)).kid;
    for (let attempt = 0; attempt < 50 && kid === decodeProtectedHeader(before).kid; attempt++) kid = decodeProtectedHeader(await accessToken(app)).kid;
    expect(kid).not.toBe(decodeProtectedHeader(before).kid);
    expect(publishedBefore).toContain(kid);
    // The retired key stays published: a resource server still checks the older token's signature.
    const { protectedHeader } = await jwtVerify(before, createRemoteJWKSet(new URL(s.url('/oauth2/jwks'))), {
      currentDate: new Date(decodeJwt(before).iat! * 1000),
    });
    expect(protectedHeader.kid).toBe(decodeProtectedHeader(before).kid);
  });
});
