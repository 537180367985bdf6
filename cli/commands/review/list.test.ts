// `mergekey review list` shows what the portal's queue shows: who asked, the application's
// description, the check run here on each request exactly as the portal runs it (not only the
// verdict a workflow left on GitHub, which anyone with write access can set), and the diff.
import { simpleGit } from 'simple-git';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { requestMarker } from '../../../controller/requests/index.ts';
import { settingsYaml } from '../../../test/support/manifests/repo.ts';
import { appYaml, createWorld, type World } from '../../../test/support/requests-world.ts';
import { command as listCommand, formatReviewList, reviewList } from './list.ts';

let world: World;
let billing: string;

beforeAll(async () => {
  world = await createWorld(async (key) => ({
    // bob's token stands for the portal's account.
    'mergekey.yaml': `${settingsYaml(key)}  portalGitHubLogin: bob\n`,
    'apps/billing.yaml': await appYaml(key, 'billing'),
    'apps/reports.yaml': await appYaml(key, 'reports'),
  }));
  billing = await world.repo.show('main', 'apps/billing.yaml');
  world.setClock(Date.parse('2026-12-07T12:00:00Z'));
});
afterAll(async () => world?.close());

const short = async (ref: string) => (await simpleGit(world.repo.bareDir).raw(['rev-parse', '--short=7', ref])).trim();

it('shows who asked, the description, the check run here with what approving changes, and the manifest diff', async () => {
  const edited = billing.replace('description: The billing service.', 'description: Bills customers monthly.');
  // Opened by the portal's account for alice.
  const opened = await world.handmade('bob', 'mergekey/edit-billing-a1b2c3', { 'apps/billing.yaml': edited }, {
    title: 'Edit application billing (description)',
    body: requestMarker('edit', 'billing', { name: 'alice' }),
    labels: ['mergekey:edit'],
  });
  const url = `${world.standIn.url}/web/acme/manifests/pull/${opened.number}`;
  const lineOf = billing.split('\n').findIndex((line) => line.startsWith('  description:')) + 1;
  const result = await reviewList(world.as('pat'));
  expect(formatReviewList(result)).toBe(
    `#${opened.number}  edit billing  asked by alice (as recorded by bob, unverified), opened 2026-12-07T12:00:00Z\n` +
      '      Edit application billing (description)\n' +
      '      description: Bills customers monthly.\n' +
      `      head: ${opened.headSha.slice(0, 12)}\n` +
      '      check: allowed (low risk: a description-only edit)\n' +
      '        - Description changes.\n' +
      `      ${url}\n` +
      '      | diff --git a/apps/billing.yaml b/apps/billing.yaml\n' +
      `      | index ${await short('main:apps/billing.yaml')}..${await short(`${opened.headSha}:apps/billing.yaml`)} 100644\n` +
      '      | --- a/apps/billing.yaml\n' +
      '      | +++ b/apps/billing.yaml\n' +
      `      | @@ -${lineOf - 3},7 +${lineOf - 3},7 @@ kind: Application\n` +
      billing.split('\n').slice(lineOf - 4, lineOf - 1).map((line) => `      |  ${line}\n`).join('') +
      '      | -  description: The billing service.\n' +
      '      | +  description: Bills customers monthly.\n' +
      billing.split('\n').slice(lineOf, lineOf + 3).map((line) => `      |  ${line}\n`).join(''),
  );
  const json = JSON.parse(listCommand.render(result, { format: 'json' } as Parameters<typeof listCommand.render>[1]));
  expect(json.items[0]).toMatchObject({ number: opened.number, requestedBy: 'bob', recordedRequester: 'alice', author: 'bob', description: 'Bills customers monthly.', report: { allowed: true, lowRisk: true, kind: 'edit', app: 'billing' } });
  await world.github('bob').closePullRequest(opened.number);
});

it('runs the check itself: a workflow status saying "allowed" does not hide what the check refuses', async () => {
  // alice's hand-made pull request deletes a manifest, then marks itself allowed with a status of its own.
  const opened = await world.handmade('alice', 'drop-reports', { 'apps/reports.yaml': null }, { title: 'Drop reports' });
  await world.github('alice').setCommitStatus(opened.headSha, { state: 'success', context: 'mergekey/check', description: 'allowed: edit reports' });
  const result = await reviewList(world.as('pat'));
  const item = result.items.find((candidate) => candidate.number === opened.number)!;
  expect(item.report).toMatchObject({ allowed: false, refusals: [{ code: 'manifest-deleted' }] });
  const text = formatReviewList({ items: [item] });
  expect(text.split('\n').slice(0, 6).join('\n')).toBe(
    `#${opened.number}  unclassified  asked by alice, opened 2026-12-07T12:00:00Z\n` +
      '      Drop reports\n' +
      `      head: ${opened.headSha.slice(0, 12)}\n` +
      `      check: refused\n` +
      `        refused: ${item.report!.refusals[0]!.message} (manifest-deleted)\n` +
      '      workflow: allowed (allowed: edit reports)',
  );
  expect(item.report!.refusals[0]!.message).toMatch(/reports/);
});
