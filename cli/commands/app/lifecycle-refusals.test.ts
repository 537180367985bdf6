// Every refused transition, refused by BOTH the CLI (before anything is pushed: no branch is left
// behind, the checkout is untouched) and the repository's check (on a pull request made by hand,
// as in GitHub's web interface). Real git, real pull requests on the stand-in.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RefusalCode } from '../../../controller/requests/index.ts';
import { cancel } from './cancel.ts';
import { create } from './create.ts';
import { deactivate } from './deactivate.ts';
import { edit } from './edit.ts';
import { reactivate } from './reactivate.ts';
import { reject } from '../review/reject.ts';
import { check } from '../check.ts';
import { isRefusal, RequestError } from '../../../controller/requests/errors.ts';
import { appYaml, createWorld, type World } from '../../../test/support/requests-world.ts';

let world: World;
let awaitingYaml: string;

beforeAll(async () => {
  world = await createWorld(async (key) => ({
    'apps/active-app.yaml': await appYaml(key, 'active-app'),
    'apps/inactive-app.yaml': await appYaml(key, 'inactive-app', { state: 'inactive' }),
    'apps/busy-app.yaml': await appYaml(key, 'busy-app'),
  }));
  const alice = world.as('alice');
  await create({ ...alice, name: 'awaiting-app', description: 'Waits for a publisher.' });
  const rejected = await create({ ...alice, name: 'rejected-app', description: 'Will be rejected.' });
  await reject({ ...world.as('pat'), number: rejected.number, reason: 'not needed' });
  await edit({ ...alice, name: 'busy-app', description: 'Being edited.' });
  awaitingYaml = await appYaml(world.key, 'awaiting-app', { description: 'Edited before approval.' });
});

afterAll(async () => world?.close());

async function refusedByCli(run: () => Promise<unknown>): Promise<RefusalCode> {
  const branches = await world.remoteBranches();
  const checkout = await world.checkout();
  const error = await run().then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(RequestError);
  // Nothing left behind: no branch on origin, no local branch, the checkout as it was.
  expect(await world.remoteBranches()).toEqual(branches);
  expect(await world.checkout()).toEqual(checkout);
  const { code } = error as RequestError;
  if (!isRefusal(code)) throw new Error(`${code} is not a lifecycle refusal`);
  return code;
}

let branchCounter = 0;

async function refusedByCheck(changes: Record<string, string | null>, labels: string[] = []): Promise<{ codes: string[]; problems: string[] }> {
  branchCounter += 1;
  const pr = await world.handmade('bob', `by-hand-${branchCounter}`, changes, { labels });
  const result = await check({ ...world.as('pat'), base: 'refs/remotes/origin/main', head: pr.headSha, pr: pr.number, comment: true });
  expect(result.allowed).toBe(false);
  // The verdict reaches the pull request: a failing commit status on its head.
  const statuses = await world.github('pat').listCommitStatuses(pr.headSha);
  expect(statuses.find((status) => status.context === 'mergekey/check')?.state).toBe('failure');
  // Withdrawn again, so that it does not count as an open request in the cases that follow.
  await world.github('bob').closePullRequest(pr.number);
  return { codes: result.refusals.map((refusal) => refusal.code), problems: result.problems.map((problem) => problem.code) };
}

const withDescription = async (name: string, description: string, state: 'active' | 'inactive' = 'active') =>
  appYaml(world.key, name, { description, state });

describe('refused by the CLI and by the check', () => {
  const cases: {
    rule: string;
    cli: () => Promise<unknown>;
    cliCode: RefusalCode;
    pr: () => Promise<{ changes: Record<string, string | null>; labels: string[] }>;
    checkCode: RefusalCode;
  }[] = [
    {
      rule: 'an edit of an application awaiting approval',
      cli: () => edit({ ...world.as('alice'), name: 'awaiting-app', description: 'Changed.' }),
      cliCode: 'awaiting-approval',
      pr: async () => ({ changes: { 'apps/awaiting-app.yaml': awaitingYaml }, labels: ['mergekey:edit'] }),
      checkCode: 'app-not-on-main',
    },
    {
      rule: 'an edit of a rejected application',
      cli: () => edit({ ...world.as('alice'), name: 'rejected-app', description: 'Changed.' }),
      cliCode: 'rejected',
      pr: async () => ({ changes: { 'apps/rejected-app.yaml': await appYaml(world.key, 'rejected-app') }, labels: ['mergekey:edit'] }),
      checkCode: 'app-not-on-main',
    },
    {
      rule: 'a deactivation of an inactive application',
      cli: () => deactivate({ ...world.as('alice'), name: 'inactive-app' }),
      cliCode: 'already-inactive',
      pr: async () => ({ changes: { 'apps/inactive-app.yaml': await withDescription('inactive-app', 'Still inactive.', 'inactive') }, labels: ['mergekey:deactivate'] }),
      checkCode: 'already-inactive',
    },
    {
      rule: 'a reactivation of an active application',
      cli: () => reactivate({ ...world.as('alice'), name: 'active-app' }),
      cliCode: 'already-active',
      pr: async () => ({ changes: { 'apps/active-app.yaml': await withDescription('active-app', 'Still active.') }, labels: ['mergekey:reactivate'] }),
      checkCode: 'already-active',
    },
    {
      rule: 'a second open request for the same application',
      cli: () => deactivate({ ...world.as('bob'), name: 'busy-app' }),
      cliCode: 'open-request-exists',
      pr: async () => ({ changes: { 'apps/busy-app.yaml': await withDescription('busy-app', 'A second edit.') }, labels: ['mergekey:edit'] }),
      checkCode: 'open-request-exists',
    },
    {
      rule: 'a create of a name already on main',
      cli: () => create({ ...world.as('alice'), name: 'active-app', description: 'Again.' }),
      cliCode: 'app-exists',
      pr: async () => ({ changes: { 'apps/active-app.yaml': await withDescription('active-app', 'Created again.') }, labels: ['mergekey:create'] }),
      checkCode: 'app-exists',
    },
    {
      rule: 'a create of a name awaiting approval',
      cli: () => create({ ...world.as('bob'), name: 'awaiting-app', description: 'Mine too.' }),
      cliCode: 'awaiting-approval',
      pr: async () => ({ changes: { 'apps/awaiting-app.yaml': awaitingYaml }, labels: ['mergekey:create'] }),
      checkCode: 'open-request-exists',
    },
  ];

  it.each(cases)('$rule', async ({ cli, cliCode, pr, checkCode }) => {
    expect(await refusedByCli(cli)).toBe(cliCode);
    const { changes, labels } = await pr();
    expect((await refusedByCheck(changes, labels)).codes).toContain(checkCode);
  });

  it('a cancellation by someone other than the author, and of an app with no open request', async () => {
    expect(await refusedByCli(() => cancel({ ...world.as('bob'), name: 'busy-app' }))).toBe('not-author');
    expect(await refusedByCli(() => cancel({ ...world.as('alice'), name: 'active-app' }))).toBe('no-open-request');
  });
});

describe('refused by the check (no CLI command makes these)', () => {
  const cases: { rule: string; pr: () => Promise<{ changes: Record<string, string | null>; labels?: string[] }>; code: RefusalCode }[] = [
    { rule: 'a deleted manifest', pr: async () => ({ changes: { 'apps/active-app.yaml': null } }), code: 'manifest-deleted' },
    {
      rule: 'a renamed manifest',
      pr: async () => ({ changes: { 'apps/active-app.yaml': null, 'apps/renamed-app.yaml': (await appYaml(world.key, 'active-app')).replace('name: active-app', 'name: renamed-app') } }),
      code: 'manifest-renamed',
    },
    {
      rule: 'a changed clientId',
      pr: async () => ({ changes: { 'apps/active-app.yaml': await appYaml(world.key, 'active-app', { clientId: 'mk-something-else' }) }, labels: ['mergekey:edit'] }),
      code: 'client-id-changed',
    },
    {
      rule: 'two applications in one request',
      pr: async () => ({
        changes: {
          'apps/active-app.yaml': await withDescription('active-app', 'One.'),
          'apps/inactive-app.yaml': await withDescription('inactive-app', 'Two.', 'inactive'),
        },
      }),
      code: 'multiple-apps',
    },
    {
      rule: 'an application change mixed with a publisher file',
      pr: async () => ({
        changes: { 'apps/active-app.yaml': await withDescription('active-app', 'One.'), 'plans/gold.yaml': 'apiVersion: mergekey/v1\nkind: Plan\nmetadata:\n  name: gold\nspec:\n  description: Gold.\n' },
      }),
      code: 'mixed-change',
    },
    {
      rule: 'a deactivation that also edits',
      pr: async () => ({ changes: { 'apps/active-app.yaml': await withDescription('active-app', 'Going away.', 'inactive') }, labels: ['mergekey:deactivate'] }),
      code: 'mixed-state-change',
    },
    {
      rule: 'an application created inactive',
      pr: async () => ({ changes: { 'apps/sleepy-app.yaml': await appYaml(world.key, 'sleepy-app', { state: 'inactive', clientId: 'mk-sleepy-0001' }) } }),
      code: 'created-inactive',
    },
  ];

  it.each(cases)('$rule', async ({ pr, code }) => {
    const { changes, labels } = await pr();
    expect((await refusedByCheck(changes, labels)).codes).toContain(code);
  });

  it('a manifest that breaks a rule of the repository (a scope no API publishes)', async () => {
    const yaml = (await appYaml(world.key, 'scoped-app', { clientId: 'mk-scoped-0001' })).replace('scopes: [open]', 'scopes: [payroll:read]');
    const { problems } = await refusedByCheck({ 'apps/scoped-app.yaml': yaml });
    expect(problems).toEqual(['rules.unknown-scope']);
  });
});
