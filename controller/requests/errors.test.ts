// The workflow's one error type: GitHub's errors arrive as RequestErrors with a github-* code, the
// message kept and the hint made a sentence; anything else passes through untouched.
import { describe, expect, it } from 'vitest';
import { GitHubError } from '../github/index.ts';
import { fromGitHubError, isRefusal, REQUEST_ERROR_CODES, RequestError, withGitHubErrors } from './errors.ts';
import { REFUSAL_CODES } from './refusals.ts';

describe('RequestError', () => {
  it('turns a GitHubError into a github-* code, keeping its message, its code and its cause', async () => {
    const github = new GitHubError('BAD_CREDENTIALS', 'GitHub refused the token', { status: 401, hint: 'check GITHUB_TOKEN, or run `gh auth login` again' });
    const error = await withGitHubErrors(() => Promise.reject(github)).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(RequestError);
    expect(error).toMatchObject({
      code: 'github-forbidden',
      params: { github: 'BAD_CREDENTIALS' },
      message: 'GitHub refused the token',
      hint: 'Check GITHUB_TOKEN, or run `gh auth login` again.',
      cause: github,
    });
  });

  it('leaves every other error as it is', () => {
    const other = new Error('boom');
    expect(fromGitHubError(other)).toBe(other);
  });

  it("tells the lifecycle's refusals from the workflow's failures, and documents every code", () => {
    expect(isRefusal('app-exists')).toBe(true);
    expect(Object.keys(REQUEST_ERROR_CODES)).toEqual(expect.arrayContaining(Object.keys(REFUSAL_CODES)));
    expect(isRefusal('head-moved')).toBe(false);
    for (const meaning of Object.values(REQUEST_ERROR_CODES)) expect(meaning).not.toBe('');
  });
});
