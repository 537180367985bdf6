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
  it('two merged requests, one delivered to A and one to B: one status and one comment each', { timeout: 90_000 }, async () => {
    const { a, b } = replicas;
    const first = await replicas.mergeRequest({ 'README.md': '# manifests\n' }, 'Add a README');
    expect((await a.deliverPush(first.mergeCommit)).status).toBe(202);
    for (const on of [a, b]) await waitFor(async () => (await on.appliedCommit()) === first.mergeCommit, `replica ${on.name} to apply the first request`, 30_000);
    const second = await replicas.mergeRequest({ 'README.md': '# manifests\n\nOAuth clients as code.\n' }, 'Say what the repository is');
    expect((await b.deliverPush(second.mergeCommit)).status).toBe(202);
    for (const on of [a, b]) await waitFor(async () => (await on.appliedCommit()) === second.mergeCommit, `replica ${on.name} to apply the second request`, 30_000);

    // A replica that has applied a commit has begun confirming it; a graceful stop lets a
    // confirmation under way finish. After it, nothing more can be posted.
    expect(await Promise.all([a.child.stop(), b.child.stop()])).toEqual([0, 0]);

    const pat = replicas.github('pat');
    for (const request of [first, second]) {
      const statuses = (await pat.listCommitStatuses(request.mergeCommit)).filter((status) => status.context === APPLIED_CONTEXT);
      expect(statuses.map((status) => status.state)).toEqual(['success']);
      const comments = (await pat.listComments(request.number)).filter((comment) => comment.body.includes(APPLIED_MARKER));
      expect(comments).toHaveLength(1);
      expect(comments[0]!.body).toContain('**live**');
    }
    // Counted as the forge received them: one status and one comment per request, in all.
    const posts = replicas.forge!.requests.filter((request) => request.method === 'POST' && request.status < 300);
    expect(posts.filter((request) => /\/statuses\/[0-9a-f]{40}$/.test(request.url)).map((request) => request.url.split('/').at(-1))).toEqual([first.mergeCommit, second.mergeCommit]);
    expect(posts.filter((request) => /\/issues\/\d+\/comments$/.test(request.url)).map((request) => Number(request.url.split('/').at(-2)))).toEqual([first.number, second.number]);
  });
});
