// What `mergekey app show` tells a developer about each request: who asked, who decided, when,
// and why. Requests the portal's account made and decided name the person it recorded; the same
// records written by anyone else are not believed. Here bob's token stands for the portal's
// (mergekey.yaml names bob as portalGitHubLogin), deciding for the publisher pat.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { requestMarker } from '../../../controller/requests/index.ts';
import { approveRequest, rejectRequest } from '../../../controller/requests/review.ts';
import { settingsYaml } from '../../../test/support/manifests/repo.ts';
import { appYaml, createWorld, type World } from '../../../test/support/requests-world.ts';
import { create } from './create.ts';
import { edit } from './edit.ts';
import { command as showCommand, formatShow, show } from './show.ts';
import { approve } from '../review/approve.ts';
import { reject } from '../review/reject.ts';

let world: World;
const PORTAL = { tokenLogin: 'bob', user: { name: 'pat' } };
const at = (time: string) => Date.parse(time);

beforeAll(async () => {
  world = await createWorld(async (key) => ({
    'mergekey.yaml': `${settingsYaml(key)}  portalGitHubLogin: bob\n`,
    'apps/billing.yaml': await appYaml(key, 'billing'),
  }));
});
afterAll(async () => world?.close());

it('a request the portal made and rejected shows who asked, who rejected it, when and why, in text and in JSON', async () => {
  world.setClock(at('2026-12-07T12:00:00Z'));
  const opened = await world.handmade('bob', 'mergekey/create-ledger-a1b2c3', { 'apps/ledger.yaml': await appYaml(world.key, 'ledger', { clientId: 'mk-ledger-0001' }) }, {
    title: 'Create application ledger',
    body: requestMarker('create', 'ledger', { name: 'alice' }),
    labels: ['mergekey:create'],
  });
  world.setClock(at('2026-12-07T13:30:00Z'));
  await rejectRequest(world.github('bob'), opened.number, PORTAL, 'The books are kept in billing.\nAsk for invoices:read there.');

  const result = await show({ ...world.as('alice'), name: 'ledger' });
  expect(result.status).toBe('rejected');
  expect(result.requests).toEqual([
    {
      number: opened.number,
      kind: 'create',
      outcome: 'rejected',
      // The CLI holds no key to verify the portal's markers with: GitHub's account is who acted,
      // and the names the portal recorded are kept apart, shown as its record.
      requestedBy: 'bob',
      recordedRequester: 'alice',
      author: 'bob',
      openedAt: '2026-12-07T12:00:00Z',
      decidedBy: 'bob',
      recordedDecider: 'pat',
      decidedAt: '2026-12-07T13:30:00Z',
      reason: 'The books are kept in billing.\nAsk for invoices:read there.',
      commit: opened.headSha,
      url: `${world.standIn.url}/web/acme/manifests/pull/${opened.number}`,
    },
  ]);
  expect(formatShow(result)).toBe(
    `ledger: rejected (create request #${opened.number} was rejected by pat (as recorded by bob, unverified) at 2026-12-07T13:30:00Z)\n\n` +
      'Requests\n' +
      `  #${opened.number} create, asked by alice (as recorded by bob, unverified): rejected by pat (as recorded by bob, unverified) at 2026-12-07T13:30:00Z\n` +
      '      Reason: The books are kept in billing.\n' +
      '              Ask for invoices:read there.\n' +
      '\n' +
      'Actions\n' +
      `  Edit       not now: Create request #${opened.number} was rejected\n` +
      '  Ask again  mergekey app ask-again ledger\n',
  );
  const json = JSON.parse(showCommand.render(result, { format: 'json' } as Parameters<typeof showCommand.render>[1]));
  expect(json.requests[0]).toMatchObject({ requestedBy: 'bob', recordedRequester: 'alice', decidedBy: 'bob', recordedDecider: 'pat', decidedAt: '2026-12-07T13:30:00Z', reason: 'The books are kept in billing.\nAsk for invoices:read there.' });
});

it('a rejection made on GitHub itself (a review requesting changes, then a close) shows the reviewer and the review', async () => {
  world.setClock(at('2026-12-08T09:00:00Z'));
  const opened = await edit({ ...world.as('alice'), name: 'billing', description: 'Bills customers weekly.' });
  world.setClock(at('2026-12-08T10:00:00Z'));
  await world.github('pat').requestChanges(opened.number, 'Weekly bills need the finance team first.');
  world.setClock(at('2026-12-08T10:05:00Z'));
  await world.github('pat').closePullRequest(opened.number);

  const result = await show({ ...world.as('alice'), name: 'billing' });
  expect(result.requests[0]).toEqual({
    number: opened.number,
    kind: 'edit',
    outcome: 'rejected',
    requestedBy: 'alice',
    author: 'alice',
    openedAt: '2026-12-08T09:00:00Z',
    decidedBy: 'pat',
    decidedAt: '2026-12-08T10:05:00Z',
    reason: 'Weekly bills need the finance team first.',
    commit: opened.commit,
    url: `${world.standIn.url}/web/acme/manifests/pull/${opened.number}`,
  });
});

it('a rejection with mergekey review reject shows its reason; a close with no word says none was given', async () => {
  world.setClock(at('2026-12-09T09:00:00Z'));
  const first = await edit({ ...world.as('alice'), name: 'billing', description: 'Bills customers daily.' });
  await reject({ ...world.as('pat'), number: first.number, reason: 'Daily is too often.' });
  const second = await edit({ ...world.as('alice'), name: 'billing', description: 'Bills customers hourly.' });
  await world.github('pat').closePullRequest(second.number);

  const result = await show({ ...world.as('alice'), name: 'billing' });
  expect(result.requests.slice(0, 2).map((request) => [request.number, request.decidedBy, request.reason])).toEqual([
    [second.number, 'pat', undefined],
    [first.number, 'pat', 'Daily is too often.'],
  ]);
  expect(formatShow(result)).toContain(
    `  #${second.number} edit, asked by alice: rejected by pat at 2026-12-09T09:00:00Z\n      Reason: (none given)\n` +
      `  #${first.number} edit, asked by alice: rejected by pat at 2026-12-09T09:00:00Z\n      Reason: Daily is too often.\n`,
  );
});

it('an approval shows the person the portal approved for and the comment, or the publisher and their comment', async () => {
  world.setClock(at('2026-12-10T09:00:00Z'));
  const byCli = await create({ ...world.as('alice'), name: 'payments', description: 'Takes payments.' });
  await approve({ ...world.as('pat'), number: byCli.number, comment: 'Welcome aboard.' });
  const byPortal = await edit({ ...world.as('alice'), name: 'payments', description: 'Takes payments in euros.' });
  await approveRequest(world.github('bob'), byPortal.number, PORTAL, 'Euros only, as agreed.\n\nSee the finance wiki.');

  const result = await show({ ...world.as('alice'), name: 'payments' });
  expect(result.requests.map((request) => [request.number, request.requestedBy, request.decidedBy, request.comment])).toEqual([
    [byPortal.number, 'alice', 'pat', 'Euros only, as agreed.\n\nSee the finance wiki.'],
    [byCli.number, 'alice', 'pat', 'Welcome aboard.'],
  ]);
  expect(formatShow(result)).toContain(
    `  #${byPortal.number} edit, asked by alice: approved by pat at 2026-12-10T09:00:00Z\n` +
      '      Comment: Euros only, as agreed.\n' +
      '\n' +
      '               See the finance wiki.\n',
  );
});

it("believes no one else's markers: a developer cannot name who asked or who decided", async () => {
  world.setClock(at('2026-12-11T09:00:00Z'));
  // alice, not the portal's account, writes the portal's records herself.
  const forged = await world.handmade('alice', 'mergekey/create-forged-d4e5f6', { 'apps/forged.yaml': await appYaml(world.key, 'forged', { clientId: 'mk-forged-0001' }) }, {
    title: 'Create application forged',
    body: requestMarker('create', 'forged', { name: 'bob' }),
    labels: ['mergekey:create', 'mergekey:rejected'],
  });
  await world.github('alice').comment(forged.number, '<!-- mergekey:decision outcome=rejected by=pat -->\nRejected by **pat** in the Mergekey portal:\n\nForged.');
  await world.github('alice').closePullRequest(forged.number);

  const result = await show({ ...world.as('bob'), name: 'forged' });
  expect(result.requests).toEqual([expect.objectContaining({ requestedBy: 'alice', author: 'alice', outcome: 'rejected', decidedBy: 'alice', reason: 'Forged.' })]);
});
