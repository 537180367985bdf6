// The CLI's errors and the one table that turns them into exit codes. Commands throw these (or
// return a result whose `exitCode` says failure); only `main.ts` prints them and picks the code.

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

export function exitCodeFor(error: unknown): ExitCode {
  if (error instanceof CliError) {
    switch (error.code) {
      case 'USAGE':
        return EXIT_CODES.usage;
      case 'FAILED':
        return EXIT_CODES.failure;
    }
  }
  return EXIT_CODES.failure;
}
