// Confirmation against the GitHub stand-in: merged requests get a `mergekey/applied` status on
// their merge commit and one "live" comment, once, however often the event is replayed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appYaml, createWorld, type World } from '../../test/support/requests-world.ts';
import { APPLIED_CONTEXT, createConfirmer, gitCommitsBetween, type ConfirmBackend } from './confirm.ts';
import type { AppliedEvent } from './event.ts';

let world: World;

beforeAll(async () => {
  world = await createWorld(async (key) => ({ 'apps/billing.yaml': await appYaml(key, 'billing', { clientId: 'mk-billing-0001' }) }));
});
afterAll(async () => world?.close());

/** A request merged by pat, as `mergekey review approve` does it. */
async function mergedRequest(branch: string, changes: Record<string, string | null>): Promise<{ number: number; merge: string }> {
  const pr = await world.handmade('alice', branch, changes, { labels: [branch.startsWith('mergekey/deactivate') ? 'mergekey:deactivate' : 'mergekey:edit'] });
  await world.github('pat').approve(pr.number);
  const { sha } = await world.github('pat').mergePullRequest(pr.number, { method: 'merge' });
  return { number: pr.number, merge: sha };
}

const billing = (description: string, state: 'active' | 'inactive' = 'active') => appYaml(world.key, 'billing', { clientId: 'mk-billing-0001', description, state });

function event(commit: string, previous: string, objects: AppliedEvent['objects']): AppliedEvent {
  return { commit, previous, at: '2025-03-01T10:05:00.000Z', objects };
}

describe('confirmation', () => {
  let confirmer: ReturnType<typeof createConfirmer>;
  beforeAll(() => {
    confirmer = createConfirmer({ backend: world.github('pat'), commitsBetween: gitCommitsBetween(world.repo.bareDir), statusUrl: 'https://auth.example.com/api/v1/status' });
  });

  it('confirms every request merged in the applied range, once', async () => {
    const before = await world.repo.revParse('main');
    const edit = await mergedRequest('mergekey/edit-billing-0000aa', { 'apps/billing.yaml': await billing('Edited.') });
    const deactivation = await mergedRequest('mergekey/deactivate-billing-0000bb', { 'apps/billing.yaml': await billing('Edited.', 'inactive') });
    const applied = event(deactivation.merge, before, [{ path: 'apps/billing.yaml', kind: 'Application', name: 'billing', outcome: 'applied', clientId: 'mk-billing-0001', state: 'inactive' }]);

    const first = await confirmer.confirm(applied);
    expect(first).toEqual([
      { number: deactivation.number, commit: deactivation.merge, state: 'success', postedStatus: true, postedComment: true },
      { number: edit.number, commit: edit.merge, state: 'success', postedStatus: true, postedComment: true },
    ]);
    const statuses = await world.github('pat').listCommitStatuses(deactivation.merge);
    expect(statuses).toEqual([
      expect.objectContaining({ context: APPLIED_CONTEXT, state: 'success', description: 'applied: billing is inactive', targetUrl: 'https://auth.example.com/api/v1/status' }),
    ]);
    const [comment] = await world.github('pat').listComments(deactivation.number);
    expect(comment?.body).toContain('**live**: client id `mk-billing-0001` — `billing` is inactive since 2025-03-01T10:05:00Z');

    // A replay (a restart, the webhook and the poll racing) posts nothing more.
    confirmer.onApplied(applied);
    confirmer.onApplied(applied);
    await confirmer.idle();
    const again = await confirmer.confirm(applied);
    expect(again.every((c) => !c.postedStatus && !c.postedComment)).toBe(true);
    expect(await world.github('pat').listComments(deactivation.number)).toHaveLength(1);
    expect(await world.github('pat').listCommitStatuses(edit.merge)).toHaveLength(1);
  });

  it('says when the controller did not apply the request, and why', async () => {
    const before = await world.repo.revParse('main');
    const broken = await mergedRequest('mergekey/edit-billing-0000cc', { 'apps/billing.yaml': await billing('Broken.') });
    const [result] = await confirmer.confirm(
      event(broken.merge, before, [
        { path: 'apps/billing.yaml', kind: 'Application', name: 'billing', outcome: 'kept', clientId: 'mk-billing-0001', state: 'inactive', message: 'apps/billing.yaml:12:3: scope payroll:read is not published' },
      ]),
    );
    expect(result).toMatchObject({ state: 'error', postedStatus: true, postedComment: true });
    const [status] = await world.github('pat').listCommitStatuses(broken.merge);
    expect(status).toMatchObject({ state: 'error', description: 'not applied: apps/billing.yaml:12:3: scope payroll:read is not published' });
    const [comment] = await world.github('pat').listComments(broken.number);
    expect(comment?.body).toContain('**not applied**: the controller could not apply `apps/billing.yaml`');
    expect(comment?.body).toContain('it keeps serving the previous version');
  });

  it('never throws into the reconciler when GitHub fails', async () => {
    const failing: ConfirmBackend = { ...world.github('pat'), pullRequestsForCommit: async () => Promise.reject(new Error('GitHub is down')) };
    const warnings: string[] = [];
    const quiet = createConfirmer({ backend: failing, commitsBetween: async (_p, c) => [c], log: { info() {}, warn: (_d, message) => void warnings.push(message) } });
    await expect(quiet.confirm(event('a'.repeat(40), 'b'.repeat(40), []))).resolves.toEqual([]);
    expect(warnings).toEqual([`could not confirm the pull requests of commit ${'a'.repeat(12)} on GitHub`]);
  });
});
