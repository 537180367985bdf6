// The vocabulary is read from the application schema, so these pin what the schema says today and
// that the helpers built on it answer for exactly those words.
import { describe, expect, it } from 'vitest';
import { AUTH_METHODS, BUILT_IN_SCOPES, DEFAULT_AUTH_METHOD, DEFAULT_GRANT_TYPES, foldClientId, GRANT_TYPES, isBuiltInScope, isGrantType, PUBLIC_CLIENT_GRANT_TYPES } from './vocabulary.ts';

describe('manifest vocabulary', () => {
  it('lists the grant types and authentication methods of the application schema, in its order', () => {
    expect(GRANT_TYPES).toEqual(['client_credentials', 'password', 'refresh_token', 'authorization_code']);
    expect(AUTH_METHODS).toEqual(['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none']);
    expect(DEFAULT_GRANT_TYPES).toEqual(['client_credentials']);
    expect(DEFAULT_AUTH_METHOD).toBe('client_secret_basic');
  });

  it('recognises exactly the schema’s grant types', () => {
    for (const grant of GRANT_TYPES) expect(isGrantType(grant)).toBe(true);
    for (const other of ['implicit', 'device_code', 'Client_Credentials', '', undefined, 1]) expect(isGrantType(other)).toBe(false);
  });

  it('names the built-in scopes and what a public client may use, all of them words the schema knows', () => {
    expect(BUILT_IN_SCOPES).toEqual(['open', 'openid', 'profile', 'email']);
    for (const scope of BUILT_IN_SCOPES) expect(isBuiltInScope(scope)).toBe(true);
    for (const other of ['Open', 'offline_access', 'invoices:read', '']) expect(isBuiltInScope(other)).toBe(false);
    expect(PUBLIC_CLIENT_GRANT_TYPES.every(isGrantType)).toBe(true);
  });

  it('folds client ids by case only', () => {
    expect(foldClientId('Billing-Client-01')).toBe('billing-client-01');
    expect(foldClientId('billing-client-01')).toBe(foldClientId('BILLING-CLIENT-01'));
  });
});
