// Why the lifecycle refuses a request or a change: one closed list of stable codes, shared by the
// CLI (before it opens a pull request) and the repo's check (on the pull request itself), so both
// refuse the same thing with the same words.

/** Every refusal code and what it means. Tools match on the code; people read the message. */
export const REFUSAL_CODES = {
  'manifest-deleted': 'a pull request deletes a manifest; applications are deactivated, never deleted',
  'manifest-renamed': 'a pull request renames or moves a manifest; names are immutable',
  'name-changed': "a change to an object's metadata.name",
  'client-id-changed': "a change to an application's clientId, which is immutable",
  'multiple-apps': 'one request changes more than one application',
  'mixed-change': 'an application change mixed with other files (publisher manifests or repository files)',
  'invalid-manifest': 'a changed manifest does not load, so the change cannot be classified',
  'no-change': 'the pull request changes no file',
  'kind-mismatch': 'the change is not the kind of request its label declares',
  'mixed-state-change': 'a deactivation or reactivation that also edits other fields',
  'created-inactive': 'a create request for an application in state inactive',
  'app-exists': 'a create request for an application already on the main branch',
  'app-not-on-main': 'an edit, deactivation or reactivation of an application not on the main branch',
  'awaiting-approval': 'a request about an application whose create request is still open',
  'rejected': 'an edit of an application whose create request was rejected',
  'already-inactive': 'a deactivation of an application that is already inactive',
  'already-active': 'a reactivation of an application that is already active',
  'open-request-exists': 'a second open request for the same application',
  'no-open-request': 'a cancellation when the application has no open request',
  'not-author': 'a cancellation by someone other than the request’s author',
  'nothing-to-ask-again': 'an Ask again when the latest request was not rejected, a request is open, or the lifecycle no longer allows its kind',
} as const;

export type RefusalCode = keyof typeof REFUSAL_CODES;

export interface Refusal {
  code: RefusalCode;
  /** A sentence for the developer: what is refused and what to do instead. */
  message: string;
  /** The repo-relative path it concerns, when there is one. */
  path?: string;
}

export function refusal(code: RefusalCode, message: string, path?: string): Refusal {
  return path === undefined ? { code, message } : { code, message, path };
}
