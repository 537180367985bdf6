// CORS (Fetch standard) for browser apps: a public client's pages read the token and revocation
// endpoints' answers, any page of an application reads userinfo, from the origins of the
// application's redirect URIs only; discovery and the JWKS are public.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizeAs, randomName } from '../../test/support/authorization.ts';
import { postForm, send, startTestServer, type TestClient, type TestServer } from '../../test/support/oauth-server.ts';
import { basicAuthorization } from './basic.ts';

let s: TestServer;
let spa: TestClient;
let web: TestClient;
const SPA_ORIGIN = 'https://spa.example.test';
const WEB_ORIGIN = 'https://web.example.test';

beforeAll(async () => {
  s = await startTestServer();
  spa = await s.addApp(`spa-${randomName()}`, {
    tokenEndpointAuthMethod: 'none', grantTypes: ['authorization_code', 'refresh_token'], redirectUris: [`${SPA_ORIGIN}/callback`], scopes: ['openid'],
  });
  web = await s.addApp(`web-${randomName()}`, { grantTypes: ['authorization_code'], redirectUris: [`${WEB_ORIGIN}/callback`], scopes: ['openid'] });
});
afterAll(() => s.close());

const exchangeForm = (app: TestClient, code: string, verifier: string, redirectUri: string) => new URLSearchParams({
  grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier, client_id: app.client.client_id,
}).toString();

describe('CORS', () => {
  it('lets a public client\'s own origin read the token endpoint\'s answers, errors included, and no other origin', async () => {
    const first = await authorizeAs(s, spa, `${SPA_ORIGIN}/callback`);
    const ok = await postForm(s.url('/oauth2/token'), exchangeForm(spa, first.code, first.verifier, first.redirectUri), { origin: SPA_ORIGIN });
    expect([ok.status, ok.headers['access-control-allow-origin'], ok.headers.vary]).toEqual([200, SPA_ORIGIN, 'Origin']);
    const replay = await postForm(s.url('/oauth2/token'), exchangeForm(spa, first.code, first.verifier, first.redirectUri), { origin: SPA_ORIGIN });
    expect([replay.status, replay.headers['access-control-allow-origin']]).toEqual([400, SPA_ORIGIN]);
    const second = await authorizeAs(s, spa, `${SPA_ORIGIN}/callback`);
    const elsewhere = await postForm(s.url('/oauth2/token'), exchangeForm(spa, second.code, second.verifier, second.redirectUri), { origin: 'https://evil.example' });
    expect([elsewhere.status, elsewhere.headers['access-control-allow-origin']]).toEqual([200, undefined]);
  });

  it('gives a confidential client no CORS at the token endpoint: its secret has no place in a browser', async () => {
    const { code, verifier, redirectUri } = await authorizeAs(s, web, `${WEB_ORIGIN}/callback`);
    const answer = await postForm(s.url('/oauth2/token'), new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier }).toString(), {
      origin: WEB_ORIGIN, authorization: basicAuthorization(web.client.client_id, web.secret!),
    });
    expect([answer.status, answer.headers['access-control-allow-origin']]).toEqual([200, undefined]);
  });

  it('answers a userinfo preflight, and lets the token\'s application\'s origins read userinfo', async () => {
    const preflight = await send('OPTIONS', s.url('/oauth2/userinfo'), {
      headers: { origin: 'https://any.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
    });
    expect([preflight.status, preflight.headers['access-control-allow-origin'], preflight.headers['access-control-allow-headers'], preflight.headers['access-control-allow-methods']])
      .toEqual([204, 'https://any.example', 'authorization, content-type', 'GET, POST']);
    const { code, verifier, redirectUri } = await authorizeAs(s, web, `${WEB_ORIGIN}/callback`);
    const tokens = await postForm(s.url('/oauth2/token'), new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier }).toString(), {
      authorization: basicAuthorization(web.client.client_id, web.secret!),
    });
    const bearer = { authorization: `Bearer ${(tokens.body as { access_token: string }).access_token}` };
    const own = await send('GET', s.url('/oauth2/userinfo'), { headers: { ...bearer, origin: WEB_ORIGIN } });
    expect([own.status, own.headers['access-control-allow-origin']]).toEqual([200, WEB_ORIGIN]);
    const other = await send('GET', s.url('/oauth2/userinfo'), { headers: { ...bearer, origin: SPA_ORIGIN } });
    expect([other.status, other.headers['access-control-allow-origin']]).toEqual([200, undefined]);
  });

  it('lets any origin read the discovery documents and the JWKS', async () => {
    for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration', '/oauth2/jwks']) {
      const answer = await send('GET', s.url(path), { headers: { origin: 'https://any.example' } });
      expect([path, answer.status, answer.headers['access-control-allow-origin']]).toEqual([path, 200, '*']);
    }
  });
});
