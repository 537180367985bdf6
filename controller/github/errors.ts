// Errors of the GitHub client: a closed set of stable codes callers `switch` on, each with a
// message that says what failed and a hint that says what to do. Octokit's errors never leak out
// raw (they can carry request headers, and the token with them).

/** Every code, with when it happens. */
export const GITHUB_ERROR_CODES = {
  MISSING_TOKEN: 'no token in GITHUB_TOKEN and none from `gh auth token`',
  MISSING_REMOTE: 'the clone has no usable `origin` (none, or a local path) and no --github-repo was given',
  INVALID_REMOTE: '`origin` or --github-repo does not name a GitHub repository',
  BAD_CREDENTIALS: 'GitHub refused the token (401)',
  NO_PERMISSION: 'the token’s user may not do this (403 that is not a rate limit)',
  NOT_FOUND: 'the repository, pull request or user does not exist, or the token cannot see it (404)',
  RATE_LIMITED: 'GitHub’s rate limit, still exhausted after one wait and retry, or resetting later than the wait cap',
  NOT_MERGEABLE: 'GitHub will not merge: a conflict, missing approvals, the pull request is closed, or branch protection does not let the token’s user push to the base branch (405)',
  HEAD_MODIFIED: 'the branch moved since it was looked at; look again and retry (409)',
  INVALID_REQUEST: 'GitHub refused the request’s content (422)',
  NETWORK: 'GitHub could not be reached, or did not answer in time',
  GITHUB_UNAVAILABLE: 'GitHub answered with a server error (5xx) or something unexpected',
} as const;

export type GitHubErrorCode = keyof typeof GITHUB_ERROR_CODES;

export class GitHubError extends Error {
  override readonly name = 'GitHubError';
  readonly code: GitHubErrorCode;
  /** The HTTP status GitHub answered with, when it answered. */
  readonly status: number | undefined;
  /** One line telling the user what to do next. */
  readonly hint: string | undefined;
  /** For RATE_LIMITED: when GitHub says the limit resets (ms since the epoch). */
  readonly retryAt: number | undefined;

  constructor(
    code: GitHubErrorCode,
    message: string,
    options: { status?: number; hint?: string; retryAt?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status;
    this.hint = options.hint;
    this.retryAt = options.retryAt;
  }
}

export function isGitHubError(error: unknown, code?: GitHubErrorCode): error is GitHubError {
  return error instanceof GitHubError && (code === undefined || error.code === code);
}
