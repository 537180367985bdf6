// Decisions made through a shared token (the portal's): the person is recorded, and GitHub's rule
// that a token never approves its own pull request is met with a clear failure where the
// repository requires an approving review.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { REJECTED_LABEL, requestOutcome, toRequestSummary } from '../../../controller/requests/index.ts';
import { deactivate } from './deactivate.ts';
import { list } from './list.ts';
import { approveRequest, isOwnRequest, rejectRequest } from '../../../controller/requests/review.ts';
import { appYaml, createWorld, type World } from '../../../test/support/requests-world.ts';
import { settingsYaml } from '../../../test/support/manifests/repo.ts';
import { requestMarker } from '../../../controller/requests/index.ts';

let world: World;

beforeAll(async () => {
  // The world's repository requires one approving review from a writer.
  // pat's token stands for the portal's account where a test says so: mergekey.yaml names it.
  world = await createWorld(async (key) => ({ 'mergekey.yaml': `${settingsYaml(key)}  portalGitHubLogin: pat\n`, 'apps/billing.yaml': await appYaml(key, 'billing') }));
});
afterAll(async () => world?.close());

it('refuses to merge, saying why, a request its token opened where a review is required', async () => {
  // alice's token stands for the server's: it opened the request and would approve it for pat.
  const opened = await deactivate({ ...world.as('alice'), name: 'billing' });
  const decider = { tokenLogin: 'alice', user: { name: 'pat' } };
  await expect(approveRequest(world.github('alice'), opened.number, decider)).rejects.toThrow(
    `GitHub will not merge #${opened.number} without an approving review, and the server's token (alice) opened it, so it cannot approve it`,
  );
  expect((await world.github('pat').getPullRequest(opened.number)).state).toBe('open');
});

it('knows whose request it is: the User a shared token asked for, or the User of the GitHub author', async () => {
  const pull = { author: 'mergekey-bot', body: '<!-- mergekey:request kind=create app=x requested-by=alice -->' } as Parameters<typeof isOwnRequest>[0];
  expect(isOwnRequest(pull, { tokenLogin: 'mergekey-bot', user: { name: 'alice' } })).toBe(true);
  expect(isOwnRequest(pull, { tokenLogin: 'mergekey-bot', user: { name: 'pat' } })).toBe(false);
  const byHand = { author: 'Alice-GH', body: null } as Parameters<typeof isOwnRequest>[0];
  expect(isOwnRequest(byHand, { tokenLogin: 'mergekey-bot', user: { name: 'alice', githubLogin: 'alice-gh' } })).toBe(true);
  expect(isOwnRequest(byHand, { tokenLogin: 'alice-gh' })).toBe(true);
});

it('labels a rejection, so that a close by the token that opened it still counts as rejected', async () => {
  const open = (await world.github('pat').listPullRequests({ state: 'open' }))[0]!;
  const rejected = await rejectRequest(world.github('alice'), open.number, { tokenLogin: 'alice', user: { name: 'pat' } }, 'Not now.');
  expect(rejected.rejectedBy).toBe('pat');
  const pull = await world.github('pat').getPullRequest(open.number);
  expect(pull).toMatchObject({ state: 'closed', closedBy: 'alice' });
  expect(pull.labels).toContain(REJECTED_LABEL);
  expect(requestOutcome(toRequestSummary(pull)!)).toBe('rejected');
});

it('lists a request a shared token made for you among yours (app list --mine)', async () => {
  // pat's token stands for the server's, asking for alice.
  await world.handmade('pat', 'mergekey/create-ledger-a1b2c3', { 'apps/ledger.yaml': await appYaml(world.key, 'ledger', { clientId: 'mk-ledger-0001' }) }, {
    title: 'Create application ledger',
    body: requestMarker('create', 'ledger', { name: 'alice' }),
    labels: ['mergekey:create'],
  });
  // Listed as alice's (a filter), though the CLI cannot verify the marker: the reason names GitHub's account.
  const mine = await list({ ...world.as('alice'), mine: true });
  expect(mine.apps.map((app) => app.name)).toContain('ledger');
  expect(mine.apps.find((app) => app.name === 'ledger')!.reason).toBe(`create request #${mine.apps.find((app) => app.name === 'ledger')!.openRequest!.number} by pat is open`);
  const bobs = await list({ ...world.as('bob'), mine: true });
  expect(bobs.apps.map((app) => app.name)).not.toContain('ledger');
  // The same line in a request bob opened himself names nobody: only the portal's account is believed.
  await world.handmade('bob', 'mergekey/create-forged-d4e5f6', { 'apps/forged.yaml': await appYaml(world.key, 'forged', { clientId: 'mk-forged-0001' }) }, {
    title: 'Create application forged',
    body: requestMarker('create', 'forged', { name: 'alice' }),
    labels: ['mergekey:create'],
  });
  expect((await list({ ...world.as('alice'), mine: true })).apps.map((app) => app.name)).not.toContain('forged');
  expect((await list({ ...world.as('bob'), mine: true })).apps.map((app) => app.name)).toContain('forged');
});
