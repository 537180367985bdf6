// What the portal tells the person using it when something is refused or fails: an HTTP status and
// a sentence. The request workflow's RequestErrors are mapped here: one table of HTTP statuses by
// code, and one of the portal's own words for the lifecycle refusals a developer meets in a form
// (the lifecycle's messages name CLI commands, which mean nothing in a browser).
import { GitHubError } from '../github/index.ts';
import { RequestError, type RequestErrorCode } from '../requests/errors.ts';
import type { RefusalCode } from '../requests/index.ts';
import { isTemporarilyUnavailable } from '../store/errors.ts';
import { RETRY_AFTER_SECONDS } from '../store/health.ts';

/** A refusal or failure for the person using the portal: an HTTP status and a sentence. */
export class PortalError extends Error {
  override readonly name = 'PortalError';
  constructor(
    readonly status: number,
    message: string,
    readonly hint?: string,
    /** Seconds, for `Retry-After`: when trying again may succeed. */
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

export const NO_SUCH_REQUEST = 'There is no such request.';

/** GitHub's trouble is a bad gateway; everything else the workflow refuses is a conflict with the state of things. */
const REQUEST_STATUSES: Readonly<Record<RequestErrorCode, number>> = {
  // The lifecycle's refusals.
  'manifest-deleted': 409,
  'manifest-renamed': 409,
  'name-changed': 409,
  'client-id-changed': 409,
  'multiple-apps': 409,
  'mixed-change': 409,
  'invalid-manifest': 409,
  'no-change': 409,
  'kind-mismatch': 409,
  'mixed-state-change': 409,
  'created-inactive': 409,
  'app-exists': 409,
  'app-not-on-main': 409,
  'awaiting-approval': 409,
  rejected: 409,
  'already-inactive': 409,
  'already-active': 409,
  'open-request-exists': 409,
  'no-open-request': 409,
  'not-author': 409,
  'nothing-to-ask-again': 409,
  // The workflow's failures.
  'github-not-configured': 502,
  'github-forbidden': 502,
  'github-not-found': 502,
  'github-unreachable': 502,
  'github-refused': 502,
  'not-a-clone': 409,
  'unknown-commit': 409,
  'git-unavailable': 409,
  'git-fetch-failed': 409,
  'git-push-failed': 409,
  'git-identity-missing': 409,
  'git-commit-failed': 409,
  'git-failed': 409,
  'repository-too-large': 409,
  'manifest-too-large': 409,
  'manifest-unparsable': 409,
  'request-invalid': 409,
  'repository-rules': 409,
  'no-sealing-key': 409,
  'sealing-failed': 409,
  'no-secret-to-rotate': 409,
  'rotation-in-progress': 409,
  'request-closed': 409,
  'head-moved': 409,
  'own-request': 409,
  'not-a-request': 409,
  'check-refused': 409,
  // GitHub refused the merge itself.
  'merge-needs-review': 502,
};

/** The portal's words for the refusals a developer meets; the others keep the workflow's message. */
const REFUSAL_WORDS: Partial<Record<RefusalCode, (name: string) => string>> = {
  'awaiting-approval': (name) => `${name} is awaiting approval: it cannot be changed until a publisher approves or rejects its create request (you may cancel it).`,
  rejected: (name) => `${name} was rejected: a rejected application cannot be changed. Register it again with a new create request.`,
  'app-not-on-main': (name) => `${name} is not registered (its create request was not approved), so it cannot be changed.`,
  'already-inactive': (name) => `${name} is already inactive.`,
  'already-active': (name) => `${name} is already active.`,
  'open-request-exists': (name) => `${name} already has an open request: one request per application at a time. Wait for the publisher's decision, or cancel it.`,
  'app-exists': (name) => `An application named ${name} already exists: choose another name.`,
};

/** The portal's words for a lifecycle refusal about `name`, else `fallback` (the lifecycle's own). */
export function refusalMessage(code: RefusalCode, name: string, fallback: string): string {
  return REFUSAL_WORDS[code]?.(name) ?? fallback;
}

export function toPortalError(error: unknown): unknown {
  if (error instanceof PortalError) return error;
  // A write the store could not commit (a full disk), or a shared database it cannot reach: the
  // server's temporary trouble.
  if (isTemporarilyUnavailable(error)) {
    return error.code === 'store.unwritable'
      ? new PortalError(503, 'The server cannot save anything right now.', 'Its storage is full or failing; try again in a few minutes.', RETRY_AFTER_SECONDS)
      : new PortalError(503, 'The server cannot reach its database right now.', 'Try again in a moment.', RETRY_AFTER_SECONDS);
  }
  if (error instanceof GitHubError) return new PortalError(502, error.message, error.hint);
  // The workflow's own message: where the portal words a refusal itself (policy checks before the
  // workflow runs, `refusalMessage`), it does so before the workflow is asked.
  if (error instanceof RequestError) return new PortalError(REQUEST_STATUSES[error.code], error.message, error.hint);
  return error;
}
