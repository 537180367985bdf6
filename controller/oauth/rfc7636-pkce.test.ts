// RFC 7636 (PKCE), required with S256 for every client (RFC 9700 section 2.1.1): at the
// authorization endpoint (sections 4.3, 4.4.1) and at the token endpoint (section 4.6).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizationQuery, authorizeAs, getAuthorize, randomName } from '../../test/support/authorization.ts';
import { postForm, startTestServer, type TestClient, type TestServer } from '../../test/support/oauth-server.ts';
import { basicAuthorization } from './basic.ts';

let s: TestServer;
let app: TestClient;
let spa: TestClient;
const REDIRECT = 'https://app.example.test/callback';

beforeAll(async () => {
  s = await startTestServer();
  app = await s.addApp(`web-${randomName()}`, { grantTypes: ['authorization_code'], redirectUris: [REDIRECT], scopes: ['open'] });
  spa = await s.addApp(`spa-${randomName()}`, { tokenEndpointAuthMethod: 'none', grantTypes: ['authorization_code'], redirectUris: [REDIRECT], scopes: ['open'] });
});
afterAll(() => s.close());

const codeForm = (code: string, verifier: string) => new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier }).toString();

describe('PKCE at the authorization endpoint', () => {
  const refusal = async (client: TestClient, change: Record<string, string | undefined>) => {
    const { query, state } = await authorizationQuery(client, REDIRECT);
    for (const [name, value] of Object.entries(change)) {
      if (value === undefined) delete query[name];
      else query[name] = value;
    }
    const answer = await getAuthorize(s, query);
    expect(answer.status).toBe(303);
    const params = Object.fromEntries(new URL(String(answer.headers.location)).searchParams);
    expect([params.state, params.iss]).toEqual([state, s.issuer]);
    return { error: params.error, error_description: params.error_description };
  };

  for (const [who, client] of [['a confidential client', () => app], ['a public client', () => spa]] as const) {
    it(`requires a challenge from ${who}`, async () => {
      expect(await refusal(client(), { code_challenge: undefined, code_challenge_method: undefined }))
        .toEqual({ error: 'invalid_request', error_description: 'code_challenge is required (PKCE, RFC 7636)' });
    });

    it(`refuses plain, and a challenge without a method (plain by default), from ${who}`, async () => {
      const verifier = 'a'.repeat(43);
      expect(await refusal(client(), { code_challenge: verifier, code_challenge_method: 'plain' }))
        .toEqual({ error: 'invalid_request', error_description: 'code_challenge_method must be S256' });
      expect(await refusal(client(), { code_challenge_method: undefined }))
        .toEqual({ error: 'invalid_request', error_description: 'code_challenge_method must be S256' });
    });
  }

  it('refuses a challenge that is not an S256 hash (43 base64url characters)', async () => {
    for (const challenge of ['short', `${'A'.repeat(43)}=`, `${'A'.repeat(42)}+`]) {
      expect(await refusal(app, { code_challenge: challenge }))
        .toEqual({ error: 'invalid_request', error_description: 'code_challenge must be 43 base64url characters (S256)' });
    }
  });
});

describe('PKCE at the token endpoint', () => {
  const basic = () => ({ authorization: basicAuthorization(app.client.client_id, app.secret!) });

  it('refuses a wrong verifier, and the code stays usable with the right one', async () => {
    const { code, verifier } = await authorizeAs(s, app, REDIRECT);
    const wrong = await postForm(s.url('/oauth2/token'), codeForm(code, `${verifier.slice(0, -1)}${verifier.endsWith('A') ? 'B' : 'A'}`), basic());
    expect([wrong.status, wrong.body]).toEqual([400, { error: 'invalid_grant', error_description: 'code_verifier does not match the code challenge' }]);
    expect((await postForm(s.url('/oauth2/token'), codeForm(code, verifier), basic())).status).toBe(200);
  });

  it('refuses a verifier outside 43 to 128 unreserved characters, and a missing one', async () => {
    const { code, verifier } = await authorizeAs(s, app, REDIRECT);
    for (const bad of ['a'.repeat(42), 'a'.repeat(129), `${verifier.slice(0, 42)}+`]) {
      const answer = await postForm(s.url('/oauth2/token'), codeForm(code, bad), basic());
      expect([answer.status, answer.body]).toEqual([400, { error: 'invalid_grant', error_description: 'code_verifier must be 43 to 128 unreserved characters (RFC 7636)' }]);
    }
    const missing = await postForm(s.url('/oauth2/token'), new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT }).toString(), basic());
    expect([missing.status, missing.body]).toEqual([400, { error: 'invalid_request', error_description: "missing required parameter 'code_verifier'" }]);
  });

  it('refuses a public client\'s code with the challenge itself sent as the verifier', async () => {
    const { code, callback } = await authorizeAs(s, spa, REDIRECT);
    expect(callback.get('code')).toBe(code);
    const stored = Object.values(Object.fromEntries(s.raw.authorizationCodes.getRange().map(({ value }) => [value.id, value])))
      .find((record) => record.clientId === spa.client.client_id)!;
    const answer = await postForm(s.url('/oauth2/token'), `${codeForm(code, stored.codeChallenge)}&client_id=${encodeURIComponent(spa.client.client_id)}`);
    expect([answer.status, answer.body]).toEqual([400, { error: 'invalid_grant', error_description: 'code_verifier does not match the code challenge' }]);
  });
});
