// `mergekey review reject N --reason …`: a publisher rejects a request: a comment with the reason,
// then the pull request is closed unmerged (by someone other than its author: rejected).
import { defineCommand } from '../../command.ts';
import { usageError } from '../../errors.ts';
import { GITHUB_OPTIONS } from '../../github-options.ts';
import { withGitHubErrors } from '../../../controller/requests/errors.ts';
import { rejectRequest, type RejectResult } from '../../../controller/requests/review.ts';
import { startSession, type SessionOptions } from '../../../controller/requests/session.ts';
import { parsePullNumber } from './approve.ts';

export type { RejectResult };

export interface RejectOptions extends SessionOptions {
  number: number;
  reason: string | undefined;
}

export async function reject(options: RejectOptions): Promise<RejectResult> {
  const reason = options.reason?.trim();
  if (reason === undefined || reason === '') throw usageError("option '--reason' is required: the developer needs to know why");
  const { github } = await startSession(options);
  const backend = github.backend;
  return withGitHubErrors(async () => {
    const me = await backend.whoAmI();
    return rejectRequest(backend, options.number, { tokenLogin: me.login }, reason);
  });
}

export const command = defineCommand({
  summary: 'Reject a request: a comment with the reason, then close it.',
  description:
    'Reject pull request N as a publisher: comment with the reason, then close it without merging. ' +
    'A rejected create request leaves the application rejected; a rejected edit, deactivation or ' +
    'reactivation leaves the application unchanged.',
  arguments: [{ name: 'N', description: 'The pull request number.', required: true }],
  options: {
    reason: { type: 'string', valueName: 'TEXT', description: 'Why (required): posted as a comment for the developer.' },
    ...GITHUB_OPTIONS,
  },
  examples: ["mergekey review reject 12 --reason 'payments:refund is for the payments team only'"],
  run: (input) => reject({ number: parsePullNumber(input.n), reason: input.reason, githubRepo: input.githubRepo, githubApiUrl: input.githubApiUrl }),
  render: (result) => `Rejected #${result.number} (${result.title}): ${result.commentUrl}\n`,
});
