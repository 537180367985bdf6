// RFC 7009 at POST /oauth2/revoke: a client revokes its own tokens; the answer is 200 whether or
// not there was anything to revoke; revocations survive a restart.
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuthorization } from './basic.ts';
import { ALICE_PASSWORD, authOf, insecure, postForm, startTestServer, type TestClient, type TestServer } from '../../test/support/oauth-server.ts';

let s: TestServer;
let revokeUrl: string;
let counter = 0;
const fresh = (spec: Parameters<TestServer['addApp']>[1] = {}) => s.addApp(`app-${++counter}`, spec);

beforeAll(async () => {
  s = await startTestServer();
  revokeUrl = s.url('/oauth2/revoke');
});
afterAll(() => s.close());

const accessToken = async (app: TestClient) => (await oauth.processClientCredentialsResponse(s.as, app.client,
  await oauth.clientCredentialsGrantRequest(s.as, app.client, authOf(app), {}, insecure))).access_token;
const passwordTokens = async (app: TestClient) => oauth.processGenericTokenEndpointResponse(s.as, app.client,
  await oauth.genericTokenEndpointRequest(s.as, app.client, authOf(app), 'password', { username: 'alice', password: ALICE_PASSWORD }, insecure));
const active = async (app: TestClient, token: string) => (await oauth.processIntrospectionResponse(s.as, app.client,
  await oauth.introspectionRequest(s.as, app.client, authOf(app), token, insecure))).active;

async function revoke(app: TestClient, token: string, hint?: string): Promise<Response> {
  const response = await oauth.revocationRequest(s.as, app.client, authOf(app), token,
    { ...insecure, ...(hint === undefined ? {} : { additionalParameters: { token_type_hint: hint } }) });
  expect(response.status).toBe(200);
  expect(response.headers.get('cache-control')).toBe('no-store');
  await oauth.processRevocationResponse(response);
  return response;
}

describe('revocation', () => {
  it('revokes an access token', async () => {
    const app = await fresh();
    const token = await accessToken(app);
    expect(await active(app, token)).toBe(true);
    await revoke(app, token);
    expect(await active(app, token)).toBe(false);
  });

  it('revokes a refresh token with its whole family, access tokens included', async () => {
    const app = await fresh({ grantTypes: ['password', 'refresh_token'] });
    const first = await passwordTokens(app);
    const second = await oauth.processRefreshTokenResponse(s.as, app.client,
      await oauth.refreshTokenGrantRequest(s.as, app.client, authOf(app), first.refresh_token!, insecure));
    await revoke(app, second.refresh_token!, 'refresh_token');
    expect(await active(app, second.refresh_token!)).toBe(false);
    expect(await active(app, second.access_token)).toBe(false);
    expect(await active(app, first.access_token)).toBe(false);
    const refused = await oauth.refreshTokenGrantRequest(s.as, app.client, authOf(app), second.refresh_token!, insecure);
    expect(refused.status).toBe(400);
  });

  it('RFC 7009 section 2.1 / RFC 9700 section 4.14.2: revoking a spent refresh token ends its family, the successor included', async () => {
    const app = await fresh({ grantTypes: ['password', 'refresh_token'] });
    const other = await fresh({ grantTypes: ['password', 'refresh_token'] });
    for (const hint of [undefined, 'refresh_token', 'access_token']) {
      const first = await passwordTokens(app);
      // A thief exchanged RT1 first; the client signs out with the RT1 it still holds.
      const second = await oauth.processRefreshTokenResponse(s.as, app.client,
        await oauth.refreshTokenGrantRequest(s.as, app.client, authOf(app), first.refresh_token!, insecure));
      // Another client presenting it changes nothing.
      await revoke(other, first.refresh_token!, hint);
      expect(await active(app, second.refresh_token!)).toBe(true);
      await revoke(app, first.refresh_token!, hint);
      expect(await active(app, second.refresh_token!)).toBe(false);
      expect(await active(app, second.access_token)).toBe(false);
      expect(await active(app, first.access_token)).toBe(false);
      const refused = await oauth.refreshTokenGrantRequest(s.as, app.client, authOf(app), second.refresh_token!, insecure);
      expect([refused.status, await refused.json()]).toEqual([400, { error: 'invalid_grant', error_description: 'the refresh token is invalid, expired or revoked' }]);
    }
  });

  it('revokes a token whose record for listing was never written', async () => {
    const app = await fresh();
    const token = await accessToken(app);
    await s.settle();
    // As if the process had died before the batched write of the record committed.
    const jti = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).jti as string;
    await s.raw.tokens.remove(`${app.name}/${jti}`);
    expect(await active(app, token)).toBe(true);
    await revoke(app, token);
    expect(await active(app, token)).toBe(false);
  });

  it('answers 200 and leaves another client\'s token alone', async () => {
    const [owner, other] = [await fresh(), await fresh({ grantTypes: ['password', 'refresh_token'] })];
    const token = await accessToken(owner);
    await revoke(other, token);
    expect(await active(owner, token)).toBe(true);
    const { refresh_token } = await passwordTokens(other);
    await revoke(owner, refresh_token!, 'refresh_token');
    expect(await active(other, refresh_token!)).toBe(true);
  });

  it('answers 200 for a token that does not exist or was already revoked', async () => {
    const app = await fresh();
    const token = await accessToken(app);
    await revoke(app, 'no-such-token');
    await revoke(app, token);
    await revoke(app, token);
  });

  it('finds the token whatever the hint says', async () => {
    const app = await fresh({ grantTypes: ['password', 'refresh_token'] });
    const tokens = await passwordTokens(app);
    await revoke(app, tokens.access_token, 'refresh_token');
    expect(await active(app, tokens.access_token)).toBe(false);
    await revoke(app, tokens.refresh_token!, 'access_token');
    expect(await active(app, tokens.refresh_token!)).toBe(false);
  });

  it('requires client authentication and a token', async () => {
    const app = await fresh();
    const token = await accessToken(app);
    expect(await postForm(revokeUrl, `token=${token}`)).toMatchObject({
      status: 401, body: { error: 'invalid_client', error_description: 'client authentication is required' },
    });
    const missing = await postForm(revokeUrl, 'token_type_hint=access_token', { authorization: basicAuthorization(app.client.client_id, app.secret!) });
    expect(missing).toMatchObject({ status: 400, body: { error: 'invalid_request', error_description: 'missing required parameter \'token\'' } });
    expect(missing.headers['cache-control']).toBe('no-store');
    expect(await active(app, token)).toBe(true);
  });

  it('is durable: a revoked token stays revoked after a restart', async () => {
    const own = await startTestServer();
    try {
      const app = await own.addApp('billing');
      const auth = { authorization: basicAuthorization(app.client.client_id, app.secret!) };
      const { access_token } = (await postForm(own.url('/oauth2/token'), 'grant_type=client_credentials', auth)).body as { access_token: string };
      expect((await postForm(own.url('/oauth2/revoke'), `token=${access_token}`, auth)).status).toBe(200);
      await own.restart();
      expect((await postForm(own.url('/oauth2/introspect'), `token=${access_token}`, auth)).body).toEqual({ active: false });
    } finally {
      await own.close();
    }
  });
});
