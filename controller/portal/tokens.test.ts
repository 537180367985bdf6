// The portal's token requests for the authorization_code grant (Try sign-in's exchange) against
// the real token endpoint over HTTP: a public client sends its client_id alone with the PKCE
// verifier, and a wrong verifier gets the endpoint's refusal, not a token.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../test/support/oauth-server.ts';
import { requestToken, tokenEndpointAt } from './tokens.ts';

const REDIRECT = 'http://127.0.0.1/portal/try-sign-in/callback';
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server?.close();
});

async function code(app: string, verifier: string): Promise<string> {
  const record = server.store.config.application(app)!;
  const location = await server.authorization.complete({
    app: record, clientId: record.spec.clientId, redirectUri: REDIRECT, scopes: ['open'], codeChallenge: createHash('sha256').update(verifier).digest('base64url'),
  }, { user: 'alice', authTime: Math.floor(server.now() / 1000) });
  return new URL(location).searchParams.get('code')!;
}

describe('the portal’s authorization_code token request', () => {
  it('authenticates a public client by its client_id alone, with the code, redirect URI and verifier', async () => {
    await server.addApp('spa', { tokenEndpointAuthMethod: 'none', grantTypes: ['authorization_code'], redirectUris: [REDIRECT] });
    const record = server.store.config.application('spa')!;
    const verifier = randomBytes(32).toString('base64url');
    const result = await requestToken(tokenEndpointAt(server.url('/oauth2/token')), record, {
      grantType: 'authorization_code', clientSecret: '', code: await code('spa', verifier), redirectUri: REDIRECT, codeVerifier: verifier,
    });
    expect(result).toMatchObject({ ok: true, tokenType: 'Bearer', scope: 'open', refreshToken: undefined, idToken: undefined });

    const wrong = await requestToken(tokenEndpointAt(server.url('/oauth2/token')), record, {
      grantType: 'authorization_code', clientSecret: '', code: await code('spa', verifier), redirectUri: REDIRECT, codeVerifier: randomBytes(32).toString('base64url'),
    });
    expect(wrong).toEqual({ ok: false, status: 400, error: 'invalid_grant', description: 'code_verifier does not match the code challenge' });
  });
});
