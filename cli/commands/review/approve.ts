// `mergekey review approve N`: a publisher approves a request: an approving review, then a merge
// (a merge commit, so the request's own commit stays in the history the controller follows).
import { defineCommand } from '../../command.ts';
import { usageError } from '../../errors.ts';
import { GITHUB_OPTIONS } from '../../github-options.ts';
import { withGitHubErrors } from '../../../controller/requests/errors.ts';
import { approveRequest, type ApproveResult } from '../../../controller/requests/review.ts';
import { checkBeforeApproval } from '../../../controller/requests/review-details.ts';
import { startWithMain, type SessionOptions } from '../../../controller/requests/session.ts';

export type { ApproveResult };

export interface ApproveOptions extends SessionOptions {
  number: number;
  /** A note for the approving review. */
  comment?: string | undefined;
  /** The head commit reviewed (as `mergekey review list` showed it): anything else is refused. */
  head?: string | undefined;
}

export async function approve(options: ApproveOptions): Promise<ApproveResult> {
  const { github, clone, main } = await startWithMain(options);
  const backend = github.backend;
  return withGitHubErrors(async () => {
    const me = await backend.whoAmI();
    const { head } = await checkBeforeApproval(clone, main.commit, backend, options.number, options.head);
    return approveRequest(backend, options.number, { tokenLogin: me.login }, options.comment, head);
  });
}

/** A commit id, full or abbreviated to at least 7 hex digits, as git and GitHub show them. */
export function parseHead(value: string): string {
  if (!/^[0-9a-f]{7,64}$/i.test(value)) throw usageError(`--head must be a commit id of 7 to 64 hex digits (got ${value.length} characters)`);
  return value;
}

export function parsePullNumber(value: string): number {
  const number = Number(value.replace(/^#/, ''));
  if (!Number.isSafeInteger(number) || number < 1) throw usageError(`N must be a pull request number (got '${value}')`);
  return number;
}

export const command = defineCommand({
  summary: 'Approve a request: an approving review, then merge.',
  description:
    'Approve pull request N as a publisher: submit an approving review, then merge it with a merge ' +
    "commit, only if its head is still the commit the check's verdict was read on (or the commit " +
    "given with --head, as 'mergekey review list' shows it): a branch pushed to since is refused and " +
    'nothing is merged. The repository check runs here first, as in the portal: refused when it ' +
    'refuses (or when the check workflow on GitHub refused), and for your own request. ' +
    'Once merged, the controller applies it.',
  arguments: [{ name: 'N', description: 'The pull request number.', required: true }],
  options: {
    comment: { type: 'string', valueName: 'TEXT', description: 'A note to add to the approving review.' },
    head: { type: 'string', valueName: 'SHA', description: "The head commit you reviewed (from 'mergekey review list'); refused if the branch has moved on." },
    ...GITHUB_OPTIONS,
  },
  examples: ['mergekey review approve 12', 'mergekey review approve 12 --head 3f2a9c1e4b7d'],
  run: (input) => approve({ number: parsePullNumber(input.n), comment: input.comment, head: input.head === undefined ? undefined : parseHead(input.head), githubRepo: input.githubRepo, githubApiUrl: input.githubApiUrl }),
  render: (result) =>
    `Approved and merged #${result.number} (${result.title}) as ${result.mergeCommit.slice(0, 12)}; the check, run here, allowed it.` +
    (result.check.state === 'pending' ? '\nNote: the check workflow on GitHub had not finished.' : '') +
    '\n',
});
