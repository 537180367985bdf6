// Guarantee 7 of several replicas (issue 13, README "Running several replicas"): a merged request
// is confirmed on GitHub — one `mergekey/applied` commit status, one "live" comment — once, not
// once per replica. Two real `mergekey serve --state postgres://…` processes with a GitHub token
// follow the repository the local forge serves (test/support/replicas.ts with `forge: true`); the
// forge records every request, so the posts themselves are counted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APPLIED_CONTEXT, APPLIED_MARKER } from '../../controller/confirm/index.ts';
import { startReplicas, type ReplicaSet } from '../support/replicas.ts';
import { waitFor } from '../support/server.ts';

let replicas: ReplicaSet;

beforeAll(async () => {
  replicas = await startReplicas({ forge: true });
}, 120_000);

afterAll(async () => {
  await replicas?.close();
});

describe('7. confirmations of a merged request are posted once across the replicas', () => {
  it('six merged requests, five told to both replicas at once and one to B alone: one status and one comment each', { timeout: 90_000 }, async () => {
    const { a, b } = replicas;
    const merged: { number: number; mergeCommit: string }[] = [];
    const applied = async (commit: string) => {
      for (const on of [a, b]) await waitFor(async () => (await on.appliedCommit()) === commit, `replica ${on.name} to apply ${commit}`, 30_000);
    };
    // Both replicas told at once, five times: they apply each commit and confirm it at about the same
    // moment, the race the replicas' lock is for.
    for (let i = 1; i <= 5; i++) {
      const request = await replicas.mergeRequest({ 'README.md': `# manifests\n\nRevision ${i}.\n` }, `README, revision ${i}`);
      expect((await Promise.all([a.deliverPush(request.mergeCommit), b.deliverPush(request.mergeCommit)])).map((answer) => answer.status)).toEqual([202, 202]);
      await applied(request.mergeCommit);
      merged.push(request);
    }
    // One replica told: the other follows it.
    const last = await replicas.mergeRequest({ 'README.md': '# manifests\n\nOAuth clients as code.\n' }, 'Say what the repository is');
    expect((await b.deliverPush(last.mergeCommit)).status).toBe(202);
    await applied(last.mergeCommit);
    merged.push(last);

    // A replica that has applied a commit has begun confirming it; a graceful stop lets a
    // confirmation under way finish. After it, nothing more can be posted.
    expect(await Promise.all([a.child.stop(), b.child.stop()])).toEqual([0, 0]);

    const pat = replicas.github('pat');
    for (const request of merged) {
      const statuses = (await pat.listCommitStatuses(request.mergeCommit)).filter((status) => status.context === APPLIED_CONTEXT);
      expect(statuses.map((status) => status.state)).toEqual(['success']);
      const comments = (await pat.listComments(request.number)).filter((comment) => comment.body.includes(APPLIED_MARKER));
      expect(comments).toHaveLength(1);
      expect(comments[0]!.body).toContain('**live**');
    }
    // Counted as the forge received them: one status and one comment per request, in all.
    const posts = replicas.forge!.requests.filter((request) => request.method === 'POST' && request.status < 300);
    expect(posts.filter((request) => /\/statuses\/[0-9a-f]{40}$/.test(request.url)).map((request) => request.url.split('/').at(-1))).toEqual(merged.map((request) => request.mergeCommit));
    expect(posts.filter((request) => /\/issues\/\d+\/comments$/.test(request.url)).map((request) => Number(request.url.split('/').at(-2)))).toEqual(merged.map((request) => request.number));
  });
});
