// How the repo's check reports on a pull request, so that `mergekey review list` can read it back:
// a commit status on the head commit (context `mergekey/check`) and one comment kept up to date
// (found by its hidden marker).
import type { RequestsBackend } from '../github/index.ts';

export const CHECK_CONTEXT = 'mergekey/check';
export const CHECK_COMMENT_MARKER = 'mergekey:check';

export type CheckState = 'allowed' | 'refused' | 'pending' | 'none';

export interface CheckVerdict {
  state: CheckState;
  /** The status description or the comment's verdict line. */
  summary: string;
  /** The check's comment or status link, when there is one. */
  url?: string;
}

/** The check's verdict on `headSha`: its commit status, else its comment, else none. */
export async function readCheckVerdict(backend: RequestsBackend, number: number, headSha: string): Promise<CheckVerdict> {
  const status = (await backend.listCommitStatuses(headSha)).find((candidate) => candidate.context === CHECK_CONTEXT);
  if (status !== undefined) {
    const state: CheckState = status.state === 'success' ? 'allowed' : status.state === 'pending' ? 'pending' : 'refused';
    return { state, summary: status.description ?? status.state, ...(status.targetUrl === null ? {} : { url: status.targetUrl }) };
  }
  const comment = (await backend.listComments(number)).filter((candidate) => candidate.body.includes(`<!-- ${CHECK_COMMENT_MARKER} -->`)).at(-1);
  if (comment !== undefined) {
    // The comment names the commit it judged; a newer push makes it stale.
    const judged = /<!-- mergekey:check-head ([0-9a-f]{40}) -->/.exec(comment.body)?.[1];
    const verdict = /^\*\*(Allowed|Refused)\*\*/m.exec(comment.body)?.[1];
    if (judged === headSha && verdict !== undefined) {
      return { state: verdict === 'Allowed' ? 'allowed' : 'refused', summary: `${verdict.toLowerCase()} (from the check's comment)`, url: comment.htmlUrl };
    }
  }
  return { state: 'none', summary: 'the check has not reported on the latest commit' };
}
