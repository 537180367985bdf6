// Every way the request workflow refuses or fails, as one typed domain error. A front end never
// reads the message to decide anything: it switches on `code` (one closed list: the lifecycle's
// refusals plus the workflow's own failures) and renders its own words from `params`, each in one
// table (the CLI's exit codes in cli/errors.ts, the portal's HTTP statuses in
// portal/portal-errors.ts). The message is a plain default, the one logs and the CLI print.
import { GitHubError, type GitHubErrorCode } from '../github/index.ts';
import { REFUSAL_CODES, type RefusalCode } from './refusals.ts';

/** The workflow's own failures, beside the lifecycle's refusals, with when each happens. */
export const FAILURE_CODES = {
  'github-not-configured': 'no GitHub token, or no repository that GitHub knows (origin, --github-repo)',
  'github-forbidden': 'GitHub refused the token, or its user may not do this',
  'github-not-found': 'GitHub does not know the repository or pull request, or the token cannot see it',
  'github-unreachable': 'GitHub could not be reached, answered with a server error, or is rate limiting',
  'github-refused': 'GitHub refused the operation itself (a merge it will not do, content it rejects)',
  'not-a-clone': 'the working directory is not inside a clone of the manifests repository',
  'unknown-commit': 'a ref or commit id names no commit in the clone',
  'git-unavailable': 'git cannot be run',
  'git-fetch-failed': 'a branch cannot be fetched from origin',
  'git-push-failed': 'the request branch cannot be pushed to origin',
  'git-identity-missing': 'git does not know who commits, so the request commit cannot be made',
  'git-commit-failed': "git could not make the request's commit",
  'git-failed': 'a git command in the clone failed or gave more output than is read',
  'repository-too-large': 'a commit has more manifests than mergekey reads',
  'manifest-too-large': 'a manifest is over the size cap',
  'manifest-unparsable': 'the application manifest on main does not parse, so it cannot be edited',
  'request-invalid': 'the requested manifest would not load as an Application',
  'repository-rules': "the repository as merging would leave it breaks the repository's rules",
  'no-sealing-key': 'main has no usable mergekey.yaml or sealing key, so no secret can be sealed',
  'sealing-failed': "the sealing key in mergekey.yaml cannot be used",
  'no-secret-to-rotate': 'a rotation for an application that authenticates with private_key_jwt',
  'rotation-in-progress': 'a rotation while two secrets are still live',
  'request-closed': 'a decision on a pull request that is already merged or closed',
  'head-moved': 'the request branch has new commits since it was checked',
  'own-request': 'a publisher approving or rejecting their own request',
  'not-a-request': 'a pull request that changes no manifest',
  'check-refused': 'an approval of a request the repository check refused',
  'merge-needs-review': "GitHub will not merge without a review the server's token cannot give",
} as const;

export type FailureCode = keyof typeof FAILURE_CODES;
export type RequestErrorCode = RefusalCode | FailureCode;

/** Every code, refusal or failure, and what it means. */
export const REQUEST_ERROR_CODES: Readonly<Record<RequestErrorCode, string>> = { ...REFUSAL_CODES, ...FAILURE_CODES };

/** What an error is about, for front ends that word it themselves. */
export interface RequestErrorParams {
  /** The application. */
  app?: string;
  /** The pull request's number. */
  request?: number;
  /** A repository path. */
  path?: string;
  /** A branch or ref. */
  branch?: string;
  /** For `own-request`: what was refused. */
  action?: 'approve' | 'reject';
  /** For the `github-*` codes: GitHub's own code. */
  github?: GitHubErrorCode;
}

export class RequestError extends Error {
  override readonly name = 'RequestError';
  /** One sentence saying what to do next, when there is something to do. */
  readonly hint: string | undefined;

  constructor(
    readonly code: RequestErrorCode,
    readonly params: RequestErrorParams,
    message: string,
    options: { hint?: string | undefined; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.hint = options.hint;
  }
}

/** Whether a code is one of the lifecycle's refusals (rather than a failure of the workflow). */
export function isRefusal(code: RequestErrorCode): code is RefusalCode {
  return code in REFUSAL_CODES;
}

const GITHUB_CODES: Readonly<Record<GitHubErrorCode, FailureCode>> = {
  MISSING_TOKEN: 'github-not-configured',
  MISSING_REMOTE: 'github-not-configured',
  INVALID_REMOTE: 'github-not-configured',
  BAD_CREDENTIALS: 'github-forbidden',
  NO_PERMISSION: 'github-forbidden',
  NOT_FOUND: 'github-not-found',
  RATE_LIMITED: 'github-unreachable',
  NETWORK: 'github-unreachable',
  GITHUB_UNAVAILABLE: 'github-unreachable',
  NOT_MERGEABLE: 'github-refused',
  HEAD_MODIFIED: 'github-refused',
  INVALID_REQUEST: 'github-refused',
};

/** Runs `work`, turning a GitHubError into a RequestError that keeps its message, hint and code. */
export async function withGitHubErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw fromGitHubError(error);
  }
}

/** A GitHubError as a RequestError; anything else as it is. */
export function fromGitHubError(error: unknown): unknown {
  if (!(error instanceof GitHubError)) return error;
  return new RequestError(GITHUB_CODES[error.code], { github: error.code }, error.message, {
    ...(error.hint === undefined ? {} : { hint: capitalise(error.hint) }),
    cause: error,
  });
}

function capitalise(text: string): string {
  const sentence = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(sentence) ? sentence : `${sentence}.`;
}
