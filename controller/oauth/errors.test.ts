import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { StoreError } from '../store/errors.ts';
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

  it('turn a write the store could not commit into temporarily_unavailable (RFC 6749 section 4.1.2.1), with Retry-After and no cause', () => {
    const error = toOAuthError(new StoreError('store.unwritable', 'the store cannot write: ENOSPC (no space left on device)'));
    expect([error.status, error.retryAfter]).toEqual([503, 5]);
    expect(errorBody(error)).toEqual({ error: 'temporarily_unavailable', error_description: 'the server cannot store tokens now; retry later' });
  });

  it('keep descriptions within the characters RFC 6749 allows', () => {
    expect(errorBody(new OAuthError('invalid_request', 'parameter "a\\b" is é'))).toEqual({
      error: 'invalid_request', error_description: 'parameter ?a?b? is ?',
    });
  });
});
