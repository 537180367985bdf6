// What a publisher looks at before deciding an open request, computed the same way for the
// portal's review queue and `mergekey review list`: the repository's check run here on the
// request's head against the main branch (the code of `mergekey check`), the application's
// description as the request leaves it, and the diff of the manifests it changes.
import { isManifestLocation } from './index.ts';
import { runCheck, type CheckReport } from './check.ts';
import type { Clone } from './git.ts';
import { loadApplication } from './manifest.ts';
import type { PullRequest, RequestsBackend } from '../github/index.ts';
import { RequestError } from './errors.ts';
import { isHead, openPull, reviewItem, type ReviewItem } from './review.ts';

/** The most of a diff shown: a manifest is small, so more is a change no one should review in a list. */
const MAX_DIFF_BYTES = 64 * 1024;

export interface ReviewDetails {
  report: CheckReport;
  /** The application's description at the request's head (a publisher change has none). */
  description?: string;
  /** The unified diff of the manifests the request changes, merge base → head. */
  diff: string;
}

/**
 * The check on an open request, as the portal runs it before approving: its branch fetched into
 * `clone` and judged against `mainCommit`, with the other open requests (one per application).
 * Throws when the branch moved since `pull` was read: a verdict must be about the head shown.
 */
export async function checkOpenRequest(
  clone: Clone,
  mainCommit: string,
  pull: Pick<PullRequest, 'number' | 'labels' | 'headRef' | 'headSha' | 'body'>,
  open: readonly ReviewItem[],
): Promise<CheckReport> {
  const head = await clone.fetchBranch(pull.headRef);
  if (head !== pull.headSha) throw new Error(`the branch ${pull.headRef} moved while it was being checked; look again`);
  return runCheck({
    clone,
    base: mainCommit,
    head,
    pr: { number: pull.number, labels: pull.labels, headRef: pull.headRef, body: pull.body },
    openRequests: open.flatMap((item) => (item.app === undefined || item.kind === 'publisher' || item.kind === 'unclassified' ? [] : [{ number: item.number, app: item.app, kind: item.kind }])),
  });
}

/** Every open request, oldest first, as the check weighs them (one open request per application). */
export async function openReviewItems(backend: RequestsBackend): Promise<ReviewItem[]> {
  const items: ReviewItem[] = [];
  for (const pull of await backend.listPullRequests({ state: 'open', direction: 'asc' })) {
    const item = await reviewItem(backend, pull);
    if (item !== undefined) items.push(item);
  }
  return items;
}

/**
 * What `mergekey review approve` does before it approves, as the portal does: the check run here
 * on the request's head (not only the verdict a workflow left on GitHub, which a repository
 * without the workflow, such as the quickstart's local forge, never has). Returns the head it
 * judged, for the approval to pin; `reviewedHead` (`--head`) must be that head.
 */
export async function checkBeforeApproval(clone: Clone, mainCommit: string, backend: RequestsBackend, number: number, reviewedHead?: string): Promise<{ head: string; report: CheckReport }> {
  const pull = await openPull(backend, number);
  const moved = () => new RequestError('head-moved', { request: number }, `#${number} changed since it was checked (its branch has new commits), so nothing was merged`, { hint: 'Review it again.' });
  if (reviewedHead !== undefined && !isHead(pull.headSha, reviewedHead)) throw moved();
  let report: CheckReport;
  try {
    report = await checkOpenRequest(clone, mainCommit, pull, await openReviewItems(backend));
  } catch (error) {
    if (error instanceof RequestError) throw error;
    // checkOpenRequest's one refusal of its own: the branch moved while it was fetched.
    throw moved();
  }
  if (!report.allowed) {
    const why = [...report.refusals.map((refusal) => refusal.message), ...report.problems.map((problem) => problem.message)].join('; ');
    throw new RequestError('check-refused', { request: number }, `the repository check, run here, refuses #${number}: ${why}`, {
      hint: 'Its author must change it (or cancel it); reject it with mergekey review reject.',
    });
  }
  return { head: pull.headSha, report };
}

/** What a queue (the portal's, `review list`) shows of one request: its details, or why the check could not run. */
export type QueueDetails = Partial<ReviewDetails> & { checkProblem?: string };

export async function queueDetails(details: () => Promise<ReviewDetails>): Promise<QueueDetails> {
  try {
    const { report, diff, description } = await details();
    return { report, diff, ...(description === undefined ? {} : { description }) };
  } catch (error) {
    return { checkProblem: (error as Error).message };
  }
}

/** The check, the description and the diff of one open request (see the header). */
export async function reviewDetails(clone: Clone, mainCommit: string, pull: Pick<PullRequest, 'number' | 'labels' | 'headRef' | 'headSha' | 'body'>, open: readonly ReviewItem[]): Promise<ReviewDetails> {
  const report = await checkOpenRequest(clone, mainCommit, pull, open);
  const description = report.app === undefined ? undefined : await descriptionAt(clone, report.head, report.app);
  return { report, ...(description === undefined ? {} : { description }), diff: await manifestDiff(clone, report) };
}

async function descriptionAt(clone: Clone, commit: string, app: string): Promise<string | undefined> {
  try {
    const bytes = await clone.readFile(commit, `apps/${app}.yaml`);
    return bytes === undefined ? undefined : loadApplication(app, new TextDecoder().decode(bytes)).spec.description;
  } catch {
    // A manifest that does not load has no description; the check's report says why.
    return undefined;
  }
}

/** The diff of the changed manifest paths only: other files are not Mergekey's to show. */
async function manifestDiff(clone: Clone, report: CheckReport): Promise<string> {
  const paths = [...new Set(report.changed.flatMap((change) => [change.path, ...(change.previousPath === undefined ? [] : [change.previousPath])]))].filter(isManifestLocation);
  if (paths.length === 0) return '';
  try {
    // No external diff drivers or text conversions: the repository's attributes must not run anything.
    const output = await clone.run(['diff', '--no-color', '--no-ext-diff', '--no-textconv', '-M', report.mergeBase, report.head, '--', ...paths], { maxBytes: MAX_DIFF_BYTES });
    return output.toString('utf8');
  } catch {
    return `(the diff is larger than ${MAX_DIFF_BYTES / 1024} KiB: look at it on the pull request)\n`;
  }
}
