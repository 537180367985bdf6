// `mergekey review approve N`: a publisher approves a request: an approving review, then a merge
// (a merge commit, so the request's own commit stays in the history the controller follows).
import { sameLogin } from '../../../controller/lifecycle/index.ts';
import { defineCommand } from '../../command.ts';
import { failure, usageError } from '../../errors.ts';
import { GITHUB_OPTIONS, withGitHubErrors } from '../../requests/github.ts';
import { openPull, reviewItem } from '../../requests/review.ts';
import { startSession, type SessionOptions } from '../../requests/session.ts';
import type { CheckVerdict } from '../../requests/check-result.ts';

export interface ApproveOptions extends SessionOptions {
  number: number;
  /** A note for the approving review. */
  comment?: string | undefined;
}

export interface ApproveResult {
  number: number;
  title: string;
  kind: string;
  app?: string;
  mergeCommit: string;
  approvedBy: string;
  check: CheckVerdict;
}

export async function approve(options: ApproveOptions): Promise<ApproveResult> {
  const { github } = await startSession(options);
  const backend = github.backend;
  return withGitHubErrors(async () => {
    const [pull, me] = await Promise.all([openPull(backend, options.number), backend.whoAmI()]);
    if (sameLogin(pull.author, me.login)) {
      throw failure(`you opened #${pull.number} yourself; another publisher must approve it`);
    }
    const item = await reviewItem(backend, pull);
    if (item === undefined) throw failure(`#${pull.number} changes no manifest: it is not a Mergekey request`, { hint: 'Review it on GitHub.' });
    if (item.check.state === 'refused') {
      throw failure(`the repository check refused #${pull.number}: ${item.check.summary}`, {
        hint: 'Its author must change it (or cancel it); reject it with mergekey review reject.',
      });
    }
    await backend.approve(pull.number, options.comment);
    const merged = await backend.mergePullRequest(pull.number, {
      method: 'merge',
      // Merge what was approved: if the branch moved since, GitHub refuses (409) and nothing merges.
      expectedHeadSha: pull.headSha,
      commitTitle: `Approve: ${pull.title} (#${pull.number})`,
      commitMessage: `Approved by @${me.login} with mergekey review approve.`,
    });
    return {
      number: pull.number,
      title: pull.title,
      kind: item.kind,
      ...(item.app === undefined ? {} : { app: item.app }),
      mergeCommit: merged.sha,
      approvedBy: me.login,
      check: item.check,
    };
  });
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
    "commit, only if its head is still the commit reviewed. Refused when the repository check refused " +
    'it, and for your own request. Once merged, the controller applies it.',
  arguments: [{ name: 'N', description: 'The pull request number.', required: true }],
  options: {
    comment: { type: 'string', valueName: 'TEXT', description: 'A note to add to the approving review.' },
    ...GITHUB_OPTIONS,
  },
  examples: ['mergekey review approve 12'],
  run: (input) => approve({ number: parsePullNumber(input.n), comment: input.comment, githubRepo: input.githubRepo, githubApiUrl: input.githubApiUrl }),
  render: (result) =>
    `Approved and merged #${result.number} (${result.title}) as ${result.mergeCommit.slice(0, 12)}.` +
    (result.check.state === 'allowed' ? '' : `\nNote: the repository check had not passed (${result.check.state}).`) +
    '\n',
});
