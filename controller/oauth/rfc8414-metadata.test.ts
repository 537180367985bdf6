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
      token_endpoint: `${s.issuer}/oauth2/token`,
      jwks_uri: `${s.issuer}/oauth2/jwks`,
      revocation_endpoint: `${s.issuer}/oauth2/revoke`,
      introspection_endpoint: `${s.issuer}/oauth2/introspect`,
      scopes_supported: ['open', 'billing:read', 'orders:read', 'orders:write'],
      // Required by RFC 8414, and true: there is no authorization endpoint.
      response_types_supported: [],
      grant_types_supported: ['client_credentials', 'refresh_token'],
      token_endpoint_auth_methods_supported: methods,
      token_endpoint_auth_signing_alg_values_supported: algs,
      revocation_endpoint_auth_methods_supported: methods,
      revocation_endpoint_auth_signing_alg_values_supported: algs,
      introspection_endpoint_auth_methods_supported: methods,
      introspection_endpoint_auth_signing_alg_values_supported: algs,
    });
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
    expect(as.grant_types_supported).toEqual(['client_credentials', 'password', 'refresh_token']);
    await s.updateApp('portal', (record) => ({ ...record, spec: { ...record.spec, grantTypes: ['client_credentials'] } }));
    expect((await send('GET', s.url('/.well-known/oauth-authorization-server'))).body)
      .toMatchObject({ grant_types_supported: ['client_credentials', 'refresh_token'] });
  });

  it('stops advertising the password grant when the only application that listed it is deactivated or its manifest removed', async () => {
    await s.addApp('legacy', { grantTypes: ['password', 'refresh_token'] });
    const grants = async () => ((await send('GET', s.url('/.well-known/oauth-authorization-server'))).body as { grant_types_supported: string[] }).grant_types_supported;
    expect(await grants()).toEqual(['client_credentials', 'password', 'refresh_token']);
    // A removed manifest leaves the record, inactive (the reconciler's deactivation).
    await s.updateApp('legacy', (record) => ({ ...record, spec: { ...record.spec, state: 'inactive' } }));
    expect(await grants()).toEqual(['client_credentials', 'refresh_token']);
    await s.updateApp('legacy', (record) => ({ ...record, spec: { ...record.spec, state: 'active' } }));
    expect(await grants()).toEqual(['client_credentials', 'password', 'refresh_token']);
    await s.updateApp('legacy', (record) => ({ ...record, spec: { ...record.spec, state: 'inactive' } }));
  });

});
