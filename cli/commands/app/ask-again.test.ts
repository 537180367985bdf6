// `mergekey app ask-again`: after a rejection, the same request again, starting from what it
// asked for; refused whenever the lifecycle does not allow it. Real git, the local forge.
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RequestError } from '../../../controller/requests/errors.ts';
import { EXIT_CODES, exitCodeFor } from '../../errors.ts';
import { appYaml, createWorld, type World } from '../../../test/support/requests-world.ts';
import { askAgain, command as askAgainCommand } from './ask-again.ts';
import { create } from './create.ts';
import { deactivate } from './deactivate.ts';
import { edit } from './edit.ts';
import { formatShow, show } from './show.ts';
import { approve } from '../review/approve.ts';
import { reject } from '../review/reject.ts';

let world: World;

beforeAll(async () => {
  world = await createWorld(async (key) => ({ 'apps/billing.yaml': await appYaml(key, 'billing') }));
});
afterAll(async () => world?.close());

const savedCredential = async (app: string) => JSON.parse(await readFile(world.credentialsFile, 'utf8')).issuers['https://auth.example.com'][app];

it('asks again for a rejected create with the same client id and secret, changed as told', async () => {
  const created = await create({ ...world.as('alice'), name: 'ledger', description: 'Keeps the books.' });
  await reject({ ...world.as('pat'), number: created.number, reason: 'It needs invoices:read.' });
  const shown = await show({ ...world.as('alice'), name: 'ledger' });
  expect(shown.actions.find((action) => action.action === 'ask-again')).toEqual({ action: 'ask-again', label: 'Ask again', command: 'mergekey app ask-again ledger' });
  expect(formatShow(shown)).toMatch(/\nActions\n(.*\n)*  Ask again +mergekey app ask-again ledger\n/);

  const again = await askAgain({ ...world.as('alice'), name: 'ledger', scopes: ['open', 'invoices:read'] });
  expect(again).toMatchObject({ kind: 'create', app: 'ledger', title: 'Create application ledger', again: created.number });
  expect(again.clientSecret).toBeUndefined();
  const before = await world.repo.show(created.branch, 'apps/ledger.yaml');
  const after = await world.repo.show(again.branch, 'apps/ledger.yaml');
  expect(after).toBe(before.replace('scopes: [open]', 'scopes: [open, invoices:read]').replace(/scopes:\n(\s+)- open\n/, 'scopes:\n$1- open\n$1- invoices:read\n'));
  expect(after).toContain(`clientId: ${created.clientId}`);
  expect(await savedCredential('ledger')).toMatchObject({ clientId: created.clientId, clientSecret: created.clientSecret, request: again.number });
  expect(askAgainCommand.render(again, {} as Parameters<typeof askAgainCommand.render>[1])).toMatch(new RegExp(`^Asking again for rejected request #${created.number}\\.\\nOpened create request #${again.number} for ledger: `));

  // While it is open, nothing can be asked again.
  const refused = await askAgain({ ...world.as('alice'), name: 'ledger' }).catch((error: unknown) => error);
  expect(refused).toBeInstanceOf(RequestError);
  expect((refused as RequestError).message).toBe('ledger has no rejected request to ask for again: its latest request was not rejected, or one is open');
  expect(exitCodeFor(refused)).toBe(EXIT_CODES.failure);
  await approve({ ...world.as('pat'), number: again.number });
});

it("asks again for a rejected edit's fields on today's main, and refuses one that changes nothing", async () => {
  const opened = await edit({ ...world.as('alice'), name: 'ledger', description: 'Keeps the books, daily.', displayName: 'Ledger' });
  await reject({ ...world.as('pat'), number: opened.number, reason: 'Daily is too often.' });
  const again = await askAgain({ ...world.as('alice'), name: 'ledger', description: 'Keeps the books, weekly.' });
  expect(again).toMatchObject({ kind: 'edit', title: 'Edit application ledger (display name, description)', again: opened.number });
  const manifest = await world.repo.show(again.branch, 'apps/ledger.yaml');
  expect(manifest).toContain('description: Keeps the books, weekly.');
  expect(manifest).toContain('displayName: Ledger');
  await reject({ ...world.as('pat'), number: again.number, reason: 'Not now.' });

  // Asked again with what main already holds: nothing to ask.
  const unchanged = await askAgain({ ...world.as('alice'), name: 'ledger', description: 'Keeps the books.', displayName: '' }).catch((error: unknown) => error);
  expect((unchanged as Error).message).toBe(`edit request #${again.number} asked for nothing that differs from main now: give the options that change what the publisher refused`);
});

it('asks again for a rejected deactivation, and takes no other option for it', async () => {
  const opened = await deactivate({ ...world.as('alice'), name: 'billing' });
  await reject({ ...world.as('pat'), number: opened.number, reason: 'Month end is near.' });
  await expect(askAgain({ ...world.as('alice'), name: 'billing', description: 'x' })).rejects.toThrow('a deactivate request changes only the state: give no other option');
  const again = await askAgain({ ...world.as('alice'), name: 'billing' });
  expect(again).toMatchObject({ kind: 'deactivate', app: 'billing', again: opened.number });
  expect(await world.repo.show(again.branch, 'apps/billing.yaml')).toContain('state: inactive');
});
