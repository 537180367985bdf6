// RFC 8414 metadata at /.well-known/oauth-authorization-server: from configuration, listing
// exactly what the server implements.
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insecure, send, startTestServer, type TestServer } from '../../test/support/oauth-server.ts';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.close());

const methods = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'];
const algs = ['RS256', 'PS256', 'ES256', 'EdDSA'];

describe('authorization server metadata', () => {
  it('lists the endpoints, methods, algorithms and scopes the server implements', async () => {
    const response = await send('GET', s.url('/.well-known/oauth-authorization-server'));
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      issuer: s.issuer,
      authorization_endpoint: `${s.issuer}/oauth2/authorize`,
      token_endpoint: `${s.issuer}/oauth2/token`,
      userinfo_endpoint: `${s.issuer}/oauth2/userinfo`,
      jwks_uri: `${s.issuer}/oauth2/jwks`,
      revocation_endpoint: `${s.issuer}/oauth2/revoke`,
      introspection_endpoint: `${s.issuer}/oauth2/introspect`,
      scopes_supported: ['open', 'openid', 'profile', 'email', 'billing:read', 'orders:read', 'orders:write'],
      response_types_supported: ['code'],
      response_modes_supported: ['query'],
      grant_types_supported: ['client_credentials', 'refresh_token', 'authorization_code'],
      code_challenge_methods_supported: ['S256'],
      authorization_response_iss_parameter_supported: true,
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['ES256'],
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'at_hash', 'name', 'preferred_username', 'email'],
      request_parameter_supported: false,
      request_uri_parameter_supported: false,
      token_endpoint_auth_methods_supported: [...methods, 'none'],
      token_endpoint_auth_signing_alg_values_supported: algs,
      revocation_endpoint_auth_methods_supported: [...methods, 'none'],
      revocation_endpoint_auth_signing_alg_values_supported: algs,
      introspection_endpoint_auth_methods_supported: methods,
      introspection_endpoint_auth_signing_alg_values_supported: algs,
    });
    // OpenID Connect Discovery 1.0: the same document.
    expect((await send('GET', s.url('/.well-known/openid-configuration'))).body).toEqual(response.body);
  });

  it('takes the issuer from configuration, never from the Host header', async () => {
    const response = await send('GET', s.url('/.well-known/oauth-authorization-server'), {
      headers: { host: 'attacker.example', 'x-forwarded-host': 'attacker.example', 'x-forwarded-proto': 'https' },
    });
    expect(response.body).toMatchObject({ issuer: s.issuer, token_endpoint: `${s.issuer}/oauth2/token` });
  });

  it('advertises the password grant only while an application lists it', async () => {
    await s.addApp('portal', { grantTypes: ['password'] });
    const as = await oauth.processDiscoveryResponse(new URL(s.issuer), await oauth.discoveryRequest(new URL(s.issuer), { ...insecure, algorithm: 'oauth2' }));
    expect(as.grant_types_supported).toEqual(['client_credentials', 'password', 'refresh_token', 'authorization_code']);
    await s.updateApp('portal', (record) => ({ ...record, spec: { ...record.spec, grantTypes: ['client_credentials'] } }));
    expect((await send('GET', s.url('/.well-known/oauth-authorization-server'))).body)
      .toMatchObject({ grant_types_supported: ['client_credentials', 'refresh_token', 'authorization_code'] });
  });

  it('stops advertising the password grant when the only application that listed it is deactivated or its manifest removed', async () => {
    await s.addApp('legacy', { grantTypes: ['password', 'refresh_token'] });
    const grants = async () => ((await send('GET', s.url('/.well-known/oauth-authorization-server'))).body as { grant_types_supported: string[] }).grant_types_supported;
    expect(await grants()).toEqual(['client_credentials', 'password', 'refresh_token', 'authorization_code']);
    // A removed manifest leaves the record, inactive (the reconciler's deactivation).
    await s.updateApp('legacy', (record) => ({ ...record, spec: { ...record.spec, state: 'inactive' } }));
    expect(await grants()).toEqual(['client_credentials', 'refresh_token', 'authorization_code']);
    await s.updateApp('legacy', (record) => ({ ...record, spec: { ...record.spec, state: 'active' } }));
    expect(await grants()).toEqual(['client_credentials', 'password', 'refresh_token', 'authorization_code']);
    await s.updateApp('legacy', (record) => ({ ...record, spec: { ...record.spec, state: 'inactive' } }));
  });

});
