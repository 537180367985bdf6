import { describe, expect, it } from 'vitest';
import type { PullRequest, RequestsBackend } from '../github/index.ts';
import { cachingBackend } from './github-cache.ts';

function pull(number: number, state: 'open' | 'closed', updatedAt: string): PullRequest {
  return {
    number, title: `#${number}`, body: null, author: 'bot', labels: [], state, merged: false, draft: false,
    headRef: `mergekey/create-app${number}-abcdef`, headSha: 'a'.repeat(40), baseRef: 'main',
    createdAt: '2025-01-01T00:00:00Z', updatedAt, closedAt: state === 'closed' ? updatedAt : null,
    mergedAt: null, mergeCommitSha: null, htmlUrl: `https://github.com/acme/manifests/pull/${number}`, closedBy: 'bot',
  };
}

describe('the portal’s pull request cache', () => {
  it('asks again for a closed pull request only when the list shows it changed', async () => {
    let current = [pull(1, 'closed', '2025-01-02T00:00:00Z'), pull(2, 'open', '2025-01-02T00:00:00Z')];
    const calls: number[] = [];
    const inner = {
      listPullRequests: async () => current,
      getPullRequest: async (number: number) => {
        calls.push(number);
        return current.find((candidate) => candidate.number === number)!;
      },
    } as unknown as RequestsBackend;
    const backend = cachingBackend(inner);
    for (let i = 0; i < 3; i += 1) {
      await backend.listPullRequests();
      await backend.getPullRequest(1);
      await backend.getPullRequest(2);
    }
    // The closed one once; the open one every time.
    expect(calls).toEqual([1, 2, 2, 2]);
    current = [pull(1, 'closed', '2025-01-03T00:00:00Z'), current[1]!];
    await backend.listPullRequests();
    expect((await backend.getPullRequest(1)).updatedAt).toBe('2025-01-03T00:00:00Z');
    expect(calls).toEqual([1, 2, 2, 2, 1]);
  });
});
