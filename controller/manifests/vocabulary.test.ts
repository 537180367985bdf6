// The vocabulary is read from the application schema, so these pin what the schema says today and
// that the helpers built on it answer for exactly those words.
import { describe, expect, it } from 'vitest';
import { AUTH_METHODS, DEFAULT_AUTH_METHOD, DEFAULT_GRANT_TYPES, foldClientId, GRANT_TYPES, isGrantType } from './vocabulary.ts';

describe('manifest vocabulary', () => {
  it('lists the grant types and authentication methods of the application schema, in its order', () => {
    expect(GRANT_TYPES).toEqual(['client_credentials', 'password', 'refresh_token']);
    expect(AUTH_METHODS).toEqual(['client_secret_basic', 'client_secret_post', 'private_key_jwt']);
    expect(DEFAULT_GRANT_TYPES).toEqual(['client_credentials']);
    expect(DEFAULT_AUTH_METHOD).toBe('client_secret_basic');
  });

  it('recognises exactly the schema’s grant types', () => {
    for (const grant of GRANT_TYPES) expect(isGrantType(grant)).toBe(true);
    for (const other of ['implicit', 'authorization_code', 'Client_Credentials', '', undefined, 1]) expect(isGrantType(other)).toBe(false);
  });

  it('folds client ids by case only', () => {
    expect(foldClientId('Billing-Client-01')).toBe('billing-client-01');
    expect(foldClientId('billing-client-01')).toBe(foldClientId('BILLING-CLIENT-01'));
  });
});
