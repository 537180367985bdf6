// `mergekey review list`: what awaits a publisher's decision, oldest first: who asked, the
// application's description, the repository's check run here exactly as the portal runs it
// (controller/requests/review-details.ts), the workflow's verdict GitHub holds, and the diff.
import { defineCommand } from '../../command.ts';
import { isoTime } from '../../../controller/requests/time.ts';
import { GITHUB_OPTIONS } from '../../github-options.ts';
import { parseRequestMarker, sameLogin } from '../../../controller/requests/index.ts';
import type { CheckReport } from '../../../controller/requests/check.ts';
import { withGitHubErrors } from '../../../controller/requests/errors.ts';
import { reviewItem, type ReviewItem } from '../../../controller/requests/review.ts';
import { queueDetails, reviewDetails } from '../../../controller/requests/review-details.ts';
import { startWithMain, type SessionOptions } from '../../../controller/requests/session.ts';

export type ReviewListOptions = SessionOptions;

export interface ReviewListEntry extends ReviewItem {
  /** Who asked as GitHub names them: the author (for the portal's requests, its account). */
  requestedBy: string;
  /**
   * The person the portal's marker names on a request its account (portalGitHubLogin) opened: what
   * the portal recorded, which only the server can verify (its MAC), so shown as such.
   */
  recordedRequester?: string;
  /** The application's description as the request leaves it. */
  description?: string;
  /** The check, run here on the head against main, as the portal runs it; undefined when it could not run. */
  report?: CheckReport;
  /** Why the check could not run. */
  checkProblem?: string;
  /** The diff of the manifests the request changes. */
  diff?: string;
}

export interface ReviewListResult {
  items: ReviewListEntry[];
}

export async function reviewList(options: ReviewListOptions): Promise<ReviewListResult> {
  const { github, clone, main } = await startWithMain(options);
  const backend = github.backend;
  const portalLogin = main.settings?.spec.portalGitHubLogin;
  const pulls = await withGitHubErrors(() => backend.listPullRequests({ state: 'open', direction: 'asc' }));
  const found: { item: ReviewItem; pull: (typeof pulls)[number] }[] = [];
  for (const pull of pulls) {
    const item = await withGitHubErrors(() => reviewItem(backend, pull));
    if (item !== undefined) found.push({ item, pull });
  }
  const items = found.map(({ item }) => item);
  const entries: ReviewListEntry[] = [];
  for (const { item, pull } of found) {
    const byPortal = portalLogin !== undefined && sameLogin(pull.author, portalLogin);
    const recorded = byPortal ? parseRequestMarker(pull.body)?.requestedBy?.name : undefined;
    entries.push({
      ...item,
      requestedBy: pull.author,
      ...(recorded === undefined ? {} : { recordedRequester: recorded }),
      ...(await queueDetails(() => reviewDetails(clone, main.commit, pull, items))),
    });
  }
  return { items: entries };
}

export function formatReviewList(result: ReviewListResult): string {
  if (result.items.length === 0) return 'Nothing to review: no open request.\n';
  const lines: string[] = [];
  for (const item of result.items) {
    const what = item.app === undefined ? item.kind : `${item.kind} ${item.app}`;
    lines.push(`#${item.number}  ${what}  asked by ${item.recordedRequester === undefined ? item.requestedBy : `${item.recordedRequester} (as recorded by ${item.requestedBy}, unverified)`}, opened ${isoTime(item.openedAt)}`);
    lines.push(`      ${item.title}`);
    if (item.description !== undefined) lines.push(`      description: ${item.description.replaceAll('\n', ' ')}`);
    lines.push(`      head: ${item.headSha.slice(0, 12)}`);
    lines.push(...checkLines(item));
    if (item.check.state !== 'none') lines.push(`      workflow: ${item.check.state} (${item.check.summary})`);
    lines.push(`      ${item.url}`);
    if (item.diff !== undefined && item.diff !== '') lines.push(...item.diff.replace(/\n$/, '').split('\n').map((line) => `      | ${line}`.trimEnd()));
  }
  return `${lines.join('\n')}\n`;
}

/** The check's result as the portal's queue shows it: the verdict, why it refuses, what approving changes. */
function checkLines(item: ReviewListEntry): string[] {
  const report = item.report;
  if (report === undefined) return [`      check: could not run: ${item.checkProblem ?? 'unknown'}`];
  const lines = [`      check: ${report.allowed ? 'allowed' : 'refused'}${report.lowRisk ? ' (low risk: a description-only edit)' : ''}`];
  for (const refusal of report.refusals) lines.push(`        refused: ${refusal.message} (${refusal.code})`);
  for (const problem of report.problems) lines.push(`        problem: ${problem.path}:${problem.line}:${problem.column}: ${problem.message}`);
  for (const line of report.plan?.lines ?? []) lines.push(`        - ${line.replaceAll('`', '')}`);
  return lines;
}

export const command = defineCommand({
  summary: 'List open requests, oldest first, with the check run on each.',
  description:
    'List the open pull requests that are requests (create, edit, deactivate, reactivate) or ' +
    'publisher changes, oldest first: who asked, the application\'s description, the repository ' +
    "check run here on each request's latest commit against main (as the portal runs it: allowed " +
    'or refused, why, and what approving changes), the verdict the repository\'s workflow left on ' +
    "GitHub, and the diff of the manifests it changes. Approve with 'mergekey review approve N', " +
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
