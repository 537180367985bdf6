// The CLI's errors and the one table that turns them into exit codes. Commands throw these, or
// let the request workflow's RequestErrors through (or return a result whose `exitCode` says
// failure); only `main.ts` prints them and picks the code.
import { RequestError, type RequestErrorCode } from '../controller/requests/errors.ts';

/** The documented exit codes. Scripts and CI depend on these numbers: never renumber them. */
export const EXIT_CODES = { ok: 0, failure: 1, usage: 2 } as const;

export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

/** What each exit code means, for `--help` and the README. */
export const EXIT_CODE_MEANINGS: Record<ExitCode, string> = {
  0: 'success (for validate: the repository is valid)',
  1: 'failure: invalid manifests, a refused operation, an unexpected error',
  2: 'usage error: unknown command or option, a missing or bad argument',
};

export type CliErrorCode =
  /** The command line cannot be run as written; exit 2. */
  | 'USAGE'
  /** The command ran and could not do what was asked; exit 1. */
  | 'FAILED';

export class CliError extends Error {
  override readonly name = 'CliError';
  readonly code: CliErrorCode;
  /** One line telling the user what to do next, printed after the message. */
  readonly hint: string | undefined;

  constructor(code: CliErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
  }
}

export function usageError(message: string, hint?: string): CliError {
  return new CliError('USAGE', message, hint === undefined ? {} : { hint });
}

export function failure(message: string, options: { hint?: string; cause?: unknown } = {}): CliError {
  return new CliError('FAILED', message, options);
}

const { failure: FAILED, usage: USAGE } = EXIT_CODES;

/**
 * The exit code for each of the request workflow's codes. Every one is a command that ran and was
 * refused or failed: the command line itself was fine (bad option values are usage errors before
 * the workflow runs).
 */
export const REQUEST_EXIT_CODES: Readonly<Record<RequestErrorCode, Exclude<ExitCode, 0>>> = {
  // The lifecycle's refusals.
  'manifest-deleted': FAILED,
  'manifest-renamed': FAILED,
  'name-changed': FAILED,
  'client-id-changed': FAILED,
  'multiple-apps': FAILED,
  'mixed-change': FAILED,
  'invalid-manifest': FAILED,
  'no-change': FAILED,
  'kind-mismatch': FAILED,
  'mixed-state-change': FAILED,
  'created-inactive': FAILED,
  'app-exists': FAILED,
  'app-not-on-main': FAILED,
  'awaiting-approval': FAILED,
  rejected: FAILED,
  'already-inactive': FAILED,
  'already-active': FAILED,
  'open-request-exists': FAILED,
  'no-open-request': FAILED,
  'not-author': FAILED,
  'nothing-to-ask-again': FAILED,
  // The workflow's failures.
  'github-not-configured': FAILED,
  'github-forbidden': FAILED,
  'github-not-found': FAILED,
  'github-unreachable': FAILED,
  'github-refused': FAILED,
  'not-a-clone': FAILED,
  'unknown-commit': FAILED,
  'git-unavailable': FAILED,
  'git-fetch-failed': FAILED,
  'git-push-failed': FAILED,
  'git-identity-missing': FAILED,
  'git-commit-failed': FAILED,
  'git-failed': FAILED,
  'repository-too-large': FAILED,
  'manifest-too-large': FAILED,
  'manifest-unparsable': FAILED,
  'request-invalid': FAILED,
  'repository-rules': FAILED,
  'no-sealing-key': FAILED,
  'sealing-failed': FAILED,
  'no-secret-to-rotate': FAILED,
  'rotation-in-progress': FAILED,
  'request-closed': FAILED,
  'head-moved': FAILED,
  'own-request': FAILED,
  'not-a-request': FAILED,
  'check-refused': FAILED,
  'merge-needs-review': FAILED,
};

export function exitCodeFor(error: unknown): ExitCode {
  if (error instanceof RequestError) return REQUEST_EXIT_CODES[error.code];
  if (error instanceof CliError) {
    switch (error.code) {
      case 'USAGE':
        return USAGE;
      case 'FAILED':
        return FAILED;
    }
  }
  return EXIT_CODES.failure;
}
