// RFC 6749 section 4.1.3 with PKCE (RFC 7636): a placeholder on the integration branch of issue
// 14 until the grant is built; it answers as for any grant this server does not support.
import { unsupportedGrantType } from '../errors.ts';
import type { TokenResponse } from '../issue.ts';

export const grantType = 'authorization_code';

export const parameters = { required: ['code', 'redirect_uri', 'code_verifier'], optional: [] } as const;

export async function handle(): Promise<TokenResponse> {
  throw unsupportedGrantType('this server does not support the requested grant type');
}
