// The portal reads every request on every list: GitHub's pull request list, plus one call per
// pull request closed unmerged (to learn who closed it: rejected or cancelled). A closed pull
// request does not change without its `updatedAt` changing, so its details are kept, per process,
// for as long as the latest list shows the same `updatedAt`: a page view then costs the list
// calls and nothing per closed request.
import type { PullRequest, RequestsBackend } from '../github/index.ts';

export function cachingBackend(inner: RequestsBackend, maxEntries = 10_000): RequestsBackend {
  /** updatedAt of each pull request, from the latest list that showed it. */
  const listed = new Map<number, string>();
  const closed = new Map<number, PullRequest>();
  return {
    ...inner,
    async listPullRequests(filter) {
      const pulls = await inner.listPullRequests(filter);
      for (const pull of pulls) listed.set(pull.number, pull.updatedAt);
      return pulls;
    },
    async getPullRequest(number) {
      const kept = closed.get(number);
      if (kept !== undefined && listed.get(number) === kept.updatedAt) return kept;
      const pull = await inner.getPullRequest(number);
      if (pull.state === 'closed') {
        if (closed.size >= maxEntries) closed.delete(closed.keys().next().value!);
        closed.set(number, pull);
      }
      return pull;
    },
  };
}
