// Requests made and decided in the portal, read with `mergekey app show`: the CLI shows the people
// the portal recorded (who asked, who approved or rejected) beside the server's account that GitHub
// names. A marker's name is shown as that account's record, unverified: the CLI holds no key to check
// its MAC, and anyone with write access may edit it. The merge commit's Approved-by trailer is git
// history, so it names the approver. A real `mergekey serve`, the local forge, real git.
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BOT, OWNER, REPO, startPortalWorld, Visitor, type PortalWorld } from '../../../test/support/portal.ts';
import { formatShow, show } from './show.ts';

let world: PortalWorld;

beforeAll(async () => {
  world = await startPortalWorld();
  const alice = new Visitor(world.url);
  await alice.signIn('alice');
  const pat = new Visitor(world.url);
  await pat.signIn('pat');
  await alice.post('/portal/apps', { _csrf: await alice.csrf('/portal/apps/new'), name: 'billing', description: 'Bills customers monthly.', grantType: 'client_credentials' });
  const queue = await pat.get('/portal/review');
  const csrf = /name="_csrf" value="([^"]*)"/.exec(queue.html)![1]!;
  expect((await pat.post('/portal/review/1/approve', { _csrf: csrf, head: (await world.github.getPullRequest(1)).headSha, comment: 'Welcome.' })).status).toBe(303);
  await world.sync();
  const form = await alice.get('/portal/apps/billing/edit');
  await alice.post('/portal/apps/billing/edit', { _csrf: /name="_csrf" value="([^"]*)"/.exec(form.html)![1]!, description: 'Bills customers daily.', grantType: 'client_credentials', scope: 'open', confirm: 'yes' });
  await pat.post('/portal/review/2/reject', { _csrf: await pat.csrf('/portal/review/2/reject'), reason: 'Daily is too often.' });
});
afterAll(async () => world?.close());

it('names who asked and who decided as the portal recorded them, with the reason and the comment', async () => {
  // Reading needs any token that sees the repository; the server's is the one the forge knows.
  const env = { ...process.env, GITHUB_TOKEN: BOT.token, GITHUB_API_URL: world.standIn.url, MERGEKEY_CREDENTIALS: join(world.repo.workDir, '..', 'credentials.json') };
  const result = await show({ cwd: world.repo.workDir, env, githubRepo: `${OWNER}/${REPO}`, name: 'billing' });
  const [rejected, approved] = await Promise.all([world.github.getPullRequest(2), world.github.getPullRequest(1)]);
  expect(result.requests).toEqual([
    {
      number: 2, kind: 'edit', outcome: 'rejected', requestedBy: BOT.login, recordedRequester: 'alice', author: BOT.login, openedAt: rejected.createdAt,
      decidedBy: BOT.login, recordedDecider: 'pat', decidedAt: rejected.closedAt, reason: 'Daily is too often.', commit: rejected.headSha, url: rejected.htmlUrl,
    },
    {
      number: 1, kind: 'create', outcome: 'approved', requestedBy: BOT.login, recordedRequester: 'alice', author: BOT.login, openedAt: approved.createdAt,
      decidedBy: 'pat', decidedAt: approved.mergedAt, comment: 'Welcome.', commit: approved.mergeCommitSha, url: approved.htmlUrl,
    },
  ]);
  expect(formatShow(result).split('Requests\n')[1]!.split('\nActions\n')[0]).toBe(
    `  #2 edit, asked by alice (as recorded by ${BOT.login}, unverified): rejected by pat (as recorded by ${BOT.login}, unverified) at ${rejected.closedAt}\n` +
      '      Reason: Daily is too often.\n' +
      `  #1 create, asked by alice (as recorded by ${BOT.login}, unverified): approved by pat at ${approved.mergedAt}\n` +
      '      Comment: Welcome.\n',
  );
  expect(result.actions.find((action) => action.action === 'ask-again')).toEqual({ action: 'ask-again', label: 'Ask again', command: 'mergekey app ask-again billing' });
});
