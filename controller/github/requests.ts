// Reads Mergekey's requests back from GitHub: the pull requests, with what the lifecycle needs to
// tell approved, rejected and cancelled apart. Shared by `mergekey app list/show` and the portal.
import { requestKindFromLabels, toRequestSummary, type RequestSummary } from '../requests/requests.ts';
import type { PullRequest, RequestsBackend } from './client.ts';

export interface ListRequestsOptions {
  state?: 'open' | 'closed' | 'all';
  /** Also fetch who merged each merged request (one call each; `app show` wants it, counts do not). */
  withMergers?: boolean;
  /** Pull requests fetched at once when details are needed (4). */
  concurrency?: number;
}

async function mapLimited<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * Every Mergekey request in the repository, newest first. A pull request closed unmerged is read
 * once more to learn who closed it (that decides rejected versus cancelled); one whose branch and
 * body do not name the application (made in GitHub's web interface) has its files listed.
 * Pull requests that are not requests are left out.
 */
export async function listRequestSummaries(backend: RequestsBackend, options: ListRequestsOptions = {}): Promise<RequestSummary[]> {
  const pulls = await backend.listPullRequests({ state: options.state ?? 'all' });
  const summaries = await mapLimited(pulls, options.concurrency ?? 4, async (pull): Promise<RequestSummary | undefined> => {
    const needsCloser = pull.state === 'closed' && !pull.merged;
    const needsMerger = pull.merged && options.withMergers === true;
    const detailed: PullRequest = needsCloser || needsMerger ? await backend.getPullRequest(pull.number) : pull;
    const summary = toRequestSummary(detailed);
    // Only a pull request labelled as a request is worth a look at its files.
    if (summary !== undefined || requestKindFromLabels(detailed.labels) === undefined) return summary;
    const files = await backend.listChangedFiles(pull.number);
    return toRequestSummary(detailed, files.map((file) => file.path));
  });
  return summaries.filter((summary) => summary !== undefined);
}
