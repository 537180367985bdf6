// `mergekey review approve` merges the version that was checked, never one pushed in between: the
// approving review names the commit the check's verdict was read on, the merge asks GitHub for that
// head, and `--head` pins the commit the publisher saw in `mergekey review list`. A push at any
// point refuses the approval with the same message, merges nothing, and leaves no approval on the
// new commits.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RequestsBackend } from '../../../controller/github/index.ts';
import { approve, parseHead } from './approve.ts';
import { RequestError } from '../../../controller/requests/errors.ts';
import { EXIT_CODES, exitCodeFor } from '../../errors.ts';
import { approveRequest } from '../../../controller/requests/review.ts';
import { appYaml, createWorld, type World } from '../../../test/support/requests-world.ts';

let world: World;

beforeAll(async () => {
  world = await createWorld(async (key) => ({ 'apps/billing.yaml': await appYaml(key, 'billing') }));
});
afterAll(async () => world?.close());

let branches = 0;

/** A request alice opens by hand: a new app, at commit `headSha` on `branch`. */
async function request(): Promise<{ number: number; headSha: string; branch: string; app: string }> {
  const branch = `request-${++branches}`;
  const app = `reports${branches}`;
  const opened = await world.handmade('alice', branch, { [`apps/${app}.yaml`]: await appYaml(world.key, app) });
  return { ...opened, branch, app };
}

/** alice pushes a commit the publisher never saw onto the request's branch: the same app, described anew. */
async function sneak(opened: { branch: string; headSha: string; app: string }): Promise<string> {
  return world.repo.pushBranch(opened.branch, { [`apps/${opened.app}.yaml`]: await appYaml(world.key, opened.app, { description: 'Sneaked in.' }) }, 'Sneaked in', opened.headSha);
}

/**
 * pat's GitHub client, where alice pushes a commit the publisher never saw onto the request's
 * branch once: right after the call named `after` answers, or right before the one named `before`.
 */
function pushing(opened: { branch: string; headSha: string; app: string }, when: { after?: keyof RequestsBackend; before?: keyof RequestsBackend }): { backend: RequestsBackend; pushed: () => boolean } {
  let pushed = false;
  const push = async () => {
    if (pushed) return;
    pushed = true;
    await sneak(opened);
  };
  const real = world.github('pat');
  const backend = new Proxy(real, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        if (name === when.before) await push();
        const result = await (value as (...a: unknown[]) => unknown).apply(target, args);
        if (name === when.after) await push();
        return result;
      };
    },
  });
  return { backend, pushed: () => pushed };
}

/** Nothing merged, the request still open, and no approval on any commit but the one checked. */
async function nothingMerged(opened: { number: number; headSha: string }, mainBefore: string): Promise<void> {
  expect(await world.repo.revParse('main')).toBe(mainBefore);
  const pull = await world.github('pat').getPullRequest(opened.number);
  expect(pull.state).toBe('open');
  expect(pull.headSha).not.toBe(opened.headSha);
  const approvals = (await world.github('pat').listReviews(opened.number)).filter((review) => review.state === 'APPROVED');
  expect(approvals.filter((review) => review.commitId !== opened.headSha)).toEqual([]);
}

const changed = (number: number) => `#${number} changed since it was checked (its branch has new commits), so nothing was merged`;

/** The refusal, whole: the workflow's error with its message and hint, a failure (exit 1) to the CLI. */
function refusedAsChanged(error: unknown, number: number): void {
  expect(error).toBeInstanceOf(RequestError);
  expect(error).toMatchObject({ code: 'head-moved', params: { request: number }, message: changed(number), hint: 'Review it again.' });
  expect(exitCodeFor(error)).toBe(EXIT_CODES.failure);
}

it.each([
  ['after the check was read', { after: 'listCommitStatuses' }],
  ['as the approving review is sent', { before: 'approve' }],
  ['as the merge is sent', { before: 'mergePullRequest' }],
] as const)('refuses, merging nothing, a request pushed to %s', async (_, when) => {
  const opened = await request();
  const mainBefore = await world.repo.revParse('main');
  const { backend, pushed } = pushing(opened, when);
  const error = await approveRequest(backend, opened.number, { tokenLogin: 'pat' }).catch((caught: unknown) => caught);
  expect(pushed()).toBe(true);
  await nothingMerged(opened, mainBefore);
  refusedAsChanged(error, opened.number);
});

it('approve --head merges only the commit the publisher reviewed', async () => {
  const opened = await request();
  const mainBefore = await world.repo.revParse('main');
  // pat reviewed opened.headSha (review list shows 12 digits); alice pushes before pat approves.
  const newHead = await sneak(opened);
  const stale = await approve({ ...world.as('pat'), number: opened.number, head: opened.headSha.slice(0, 12) }).catch((caught: unknown) => caught);
  const empty = await approve({ ...world.as('pat'), number: opened.number, head: '' }).catch((caught: unknown) => caught);
  await nothingMerged(opened, mainBefore);
  refusedAsChanged(stale, opened.number);
  refusedAsChanged(empty, opened.number);
  expect(() => parseHead('abc')).toThrow('--head must be a commit id of 7 to 64 hex digits (got 3 characters)');

  // Reviewed again at the new head, it merges that commit.
  const merged = await approve({ ...world.as('pat'), number: opened.number, head: newHead.slice(0, 7) });
  expect(await world.repo.log(merged.mergeCommit, '%P')).toBe(`${mainBefore} ${newHead}`);
  const approvals = (await world.github('pat').listReviews(opened.number)).filter((review) => review.state === 'APPROVED');
  expect(approvals.map((review) => review.commitId)).toEqual([newHead]);
});

it('approve runs the repository check here, as the portal does, and merges nothing it refuses', async () => {
  // A request no workflow judged on GitHub (its verdict: none) that changes two applications.
  const opened = await world.handmade('alice', 'two-apps', {
    'apps/alpha.yaml': await appYaml(world.key, 'alpha'),
    'apps/omega.yaml': await appYaml(world.key, 'omega'),
  });
  const mainBefore = await world.repo.revParse('main');
  const error = await approve({ ...world.as('pat'), number: opened.number }).catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(RequestError);
  expect(error).toMatchObject({
    code: 'check-refused',
    params: { request: opened.number },
    message: `the repository check, run here, refuses #${opened.number}: this pull request changes 2 applications (alpha, omega); open one request per application`,
    hint: 'Its author must change it (or cancel it); reject it with mergekey review reject.',
  });
  expect(exitCodeFor(error)).toBe(EXIT_CODES.failure);
  expect(await world.repo.revParse('main')).toBe(mainBefore);
  expect((await world.github('pat').getPullRequest(opened.number)).state).toBe('open');
  expect(await world.github('pat').listReviews(opened.number)).toEqual([]);
});

it('approve weighs the other open requests, as review list does: a second open request for one application is refused', async () => {
  const first = await world.handmade('alice', 'mergekey/edit-billing-000101', { 'apps/billing.yaml': await appYaml(world.key, 'billing', { description: 'First edit.' }) });
  const second = await world.handmade('alice', 'mergekey/edit-billing-000102', { 'apps/billing.yaml': await appYaml(world.key, 'billing', { description: 'Second edit.' }) });
  const mainBefore = await world.repo.revParse('main');
  const error = await approve({ ...world.as('pat'), number: second.number }).catch((caught: unknown) => caught);
  expect(error).toMatchObject({
    code: 'check-refused',
    message: `the repository check, run here, refuses #${second.number}: billing already has an open edit request (#${first.number}); one request per application at a time`,
  });
  expect(await world.repo.revParse('main')).toBe(mainBefore);
  // The older one is the one that may go first.
  await approve({ ...world.as('pat'), number: first.number });
  expect(await world.repo.revParse('main')).not.toBe(mainBefore);
});
