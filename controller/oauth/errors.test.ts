import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { ERROR_STATUS, errorBody, OAuthError, toOAuthError, type OAuthErrorCode } from './errors.ts';

describe('OAuth errors', () => {
  it('are each documented, with their status, in README.md', async () => {
    const readme = await readFile(new URL('./README.md', import.meta.url), 'utf8');
    for (const [code, status] of Object.entries(ERROR_STATUS) as [OAuthErrorCode, number][]) {
      expect(readme).toMatch(new RegExp(`\\| \`${code}\` \\| ${status}\\b`));
    }
  });

  it('turn anything unexpected into server_error, with no detail', () => {
    const error = toOAuthError(new Error('ENOENT: /data/store/secret-path'));
    expect(error.status).toBe(500);
    expect(errorBody(error)).toEqual({ error: 'server_error' });
  });

  it('keep descriptions within the characters RFC 6749 allows', () => {
    expect(errorBody(new OAuthError('invalid_request', 'parameter "a\\b" is é'))).toEqual({
      error: 'invalid_request', error_description: 'parameter ?a?b? is ?',
    });
  });
});
