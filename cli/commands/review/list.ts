// `mergekey review list`: what awaits a publisher's decision, oldest first, with the check's verdict.
import { defineCommand } from '../../command.ts';
import { isoTime } from '../../../controller/requests/time.ts';
import { GITHUB_OPTIONS } from '../../github-options.ts';
import { withGitHubErrors } from '../../../controller/requests/errors.ts';
import { reviewItem, type ReviewItem } from '../../../controller/requests/review.ts';
import { startSession, type SessionOptions } from '../../../controller/requests/session.ts';

export type ReviewListOptions = SessionOptions;

export interface ReviewListResult {
  items: ReviewItem[];
}

export async function reviewList(options: ReviewListOptions): Promise<ReviewListResult> {
  const { github } = await startSession(options);
  const backend = github.backend;
  return withGitHubErrors(async () => {
    const pulls = await backend.listPullRequests({ state: 'open', direction: 'asc' });
    const items: ReviewItem[] = [];
    for (const pull of pulls) {
      const item = await reviewItem(backend, pull);
      if (item !== undefined) items.push(item);
    }
    return { items };
  });
}

export function formatReviewList(result: ReviewListResult): string {
  if (result.items.length === 0) return 'Nothing to review: no open request.\n';
  const lines: string[] = [];
  for (const item of result.items) {
    const what = item.app === undefined ? item.kind : `${item.kind} ${item.app}`;
    lines.push(`#${item.number}  ${what}  by ${item.author}, opened ${isoTime(item.openedAt)}`);
    lines.push(`      ${item.title}`);
    lines.push(`      head: ${item.headSha.slice(0, 12)}`);
    lines.push(`      check: ${item.check.state}${item.check.state === 'none' ? '' : ` (${item.check.summary})`}`);
    lines.push(`      ${item.url}`);
  }
  return `${lines.join('\n')}\n`;
}

export const command = defineCommand({
  summary: 'List open requests, oldest first, with their check result.',
  description:
    'List the open pull requests that are requests (create, edit, deactivate, reactivate) or ' +
    "publisher changes, oldest first, each with the repository check's verdict on its latest " +
    "commit (allowed, refused, pending, or none yet). Approve with 'mergekey review approve N', " +
    "reject with 'mergekey review reject N --reason …'. Pass the head shown to 'approve --head' " +
    'so that only the version you reviewed can be merged.',
  arguments: [],
  options: {
    format: { type: 'string', valueName: 'FORMAT', choices: ['text', 'json'], default: 'text', description: 'text or json.' },
    ...GITHUB_OPTIONS,
  },
  examples: ['mergekey review list'],
  run: (input) => reviewList({ githubRepo: input.githubRepo, githubApiUrl: input.githubApiUrl }),
  render: (result, input) => (input.format === 'json' ? `${JSON.stringify(result, null, 2)}\n` : formatReviewList(result)),
});
