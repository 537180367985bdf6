// The whole story on one machine, as a newcomer tries it: the real `npm start` in a fresh
// temporary directory, nothing else set up, and the portal in Debian's Chromium. alice asks for an
// application, bob (a publisher) approves it, and it gets a token (oauth4webapi, a real OAuth
// client); alice asks for an edit, bob rejects it with a reason, and alice sees who, when and why;
// alice deactivates, bob approves, and the token stops (the Orders API's own client introspects
// it); alice asks for reactivation, bob approves, and the application gets tokens again. Then
// more requests leave My Applications with every status and state, for the README's screenshots.
//
// Screenshots go to a temporary folder; `MERGEKEY_SCREENSHOTS=update` writes them to
// controller/portal/screenshots/ instead (the README's quickstart shows those).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as oauth from 'oauth4webapi';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sync } from '../../cli/commands/sync.ts';
import { launchChromium } from '../support/portal.ts';
import { startQuickstart, type QuickstartChild } from '../support/quickstart-child.ts';

const UPDATE = process.env.MERGEKEY_SCREENSHOTS === 'update';
const shotsDir = UPDATE ? fileURLToPath(new URL('../../controller/portal/screenshots/', import.meta.url)) : mkdtempSync(join(tmpdir(), 'mergekey-shots-'));
const SHOTS = ['quickstart-my-applications.png', 'quickstart-rejected.png', 'quickstart-review-queue.png'] as const;

let browser: Browser;
let quickstart: QuickstartChild;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  [browser, quickstart] = await Promise.all([launchChromium(), startQuickstart()]);
}, 120_000);

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => undefined);
  await browser?.close();
  await quickstart?.remove();
  if (!UPDATE) rmSync(shotsDir, { recursive: true, force: true });
});

async function shown(locator: Locator): Promise<void> {
  await locator.first().waitFor({ state: 'visible' });
}

async function textOf(locator: Locator): Promise<string> {
  await shown(locator);
  return ((await locator.first().textContent()) ?? '').replace(/\s+/g, ' ').trim();
}

/** A person's own browser, signed in with the password the banner printed. */
async function signedIn(person: string): Promise<Page> {
  const context = await browser.newContext({ baseURL: quickstart.url, viewport: { width: 1100, height: 800 } });
  contexts.push(context);
  const page = await context.newPage();
  await page.goto('/portal');
  await page.getByLabel('User name').fill(person);
  await page.getByLabel('Password').fill(quickstart.password(person));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1 }).waitFor();
  return page;
}

/** The live region's text once the page announced it. */
async function announced(page: Page): Promise<string> {
  return textOf(page.locator('#live .banner'));
}

function reviewCard(publisher: Page, number: number): Locator {
  return publisher.locator('article', { has: publisher.getByRole('heading', { name: new RegExp(`^#${number} `) }) });
}

async function approve(publisher: Page, number: number): Promise<void> {
  await publisher.goto('/portal/review');
  const card = reviewCard(publisher, number);
  await shown(card.getByText('Check: allowed'));
  await card.getByRole('button', { name: 'Approve' }).click();
  expect(await announced(publisher)).toContain(`Approved #${number}`);
}

/** The New Application form, filled with a name and a description and sent. */
async function ask(page: Page, name: string, description: string): Promise<void> {
  await page.goto('/portal/apps/new');
  await page.getByLabel('Application name').fill(name);
  await page.getByLabel('Description').fill(description);
  await page.getByRole('button', { name: 'Add' }).click();
  await shown(page.getByText(`${name} was submitted for approval.`));
}

async function reject(publisher: Page, number: number, reason: string): Promise<void> {
  await publisher.goto('/portal/review');
  await reviewCard(publisher, number).getByRole('link', { name: 'Reject…' }).click();
  await publisher.getByLabel('Reason').fill(reason);
  await publisher.getByRole('button', { name: 'Reject' }).click();
  expect(await announced(publisher)).toContain(`Rejected #${number}`);
}

/**
 * The controller has applied what was merged: the portal asked it to sync after approving, but
 * that runs beside the answer, so a token checked at once could still meet the previous state.
 * `mergekey sync` (the operator listener) returns once a sync that started after it has finished.
 */
async function applied(): Promise<void> {
  const done = await sync({ admin: quickstart.adminUrl });
  if (done.result !== 'finished') throw new Error(`mergekey sync did not wait for the run: ${JSON.stringify(done)}`);
  // Unchanged when the portal's own sync got there first.
  expect(['applied', 'unchanged']).toContain(done.run.result);
}

/** The application's status and state, as its details page shows them (two badges). */
async function statusAndState(page: Page, app: string): Promise<string> {
  await page.goto(`/portal/apps/${app}`);
  return `${await textOf(page.locator('h1 .status'))}, ${await textOf(page.locator('h1 .state'))}`;
}

describe('npm start, then the whole story in a browser', () => {
  it('alice asks, bob approves, a token; an edit rejected with a reason; deactivated, the token stops; reactivated; every status in the list', { timeout: 240_000 }, async () => {
    const issuer = new URL(quickstart.url);
    const insecure = { [oauth.allowInsecureRequests]: true } as const;
    const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { ...insecure, algorithm: 'oauth2' }));
    const tokenFor = async (clientId: string, secret: string) =>
      oauth.processClientCredentialsResponse(as, { client_id: clientId },
        await oauth.clientCredentialsGrantRequest(as, { client_id: clientId }, oauth.ClientSecretBasic(secret), {}, insecure));
    // The Orders API's own client, from the demo's secrets: the resource server asking whether a token is live.
    const ordersApi = quickstart.demo.applications['orders-api']!;
    const introspect = async (token: string) =>
      oauth.processIntrospectionResponse(as, { client_id: ordersApi.clientId },
        await oauth.introspectionRequest(as, { client_id: ordersApi.clientId }, oauth.ClientSecretBasic(ordersApi.clientSecrets![0]!), token, insecure));

    // alice asks for an application: New Application is offered, since the forge takes requests.
    const alice = await signedIn('alice');
    await alice.getByRole('link', { name: 'New Application' }).first().click();
    await alice.getByLabel('Application name').fill('billing');
    await alice.getByLabel('Description').fill('Bills customers every month.');
    await alice.getByRole('checkbox', { name: /orders:read/ }).check();
    await alice.getByRole('button', { name: 'Add' }).click();
    await shown(alice.getByText('billing was submitted for approval.'));
    const secret = (await alice.locator('#client-secret').textContent())!.trim();
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const clientId = await textOf(alice.locator('.facts div', { hasText: 'Client ID' }).locator('dd'));
    await alice.goto('/portal/apps');
    expect(await textOf(alice.getByRole('row', { name: /billing/ }).locator('.status'))).toBe('awaiting approval');

    // bob, a publisher, approves it; the controller applies the merge and billing gets a token.
    const bob = await signedIn('bob');
    await approve(bob, 1);
    await applied();
    expect(await statusAndState(alice, 'billing')).toBe('approved, active');
    const first = await tokenFor(clientId, secret);
    expect(first.scope).toBe('orders:read');
    expect(await introspect(first.access_token)).toMatchObject({ active: true, client_id: clientId, scope: 'orders:read' });

    // alice asks for an edit; bob rejects it with a reason; alice sees who, when and why.
    await alice.getByRole('link', { name: 'Edit', exact: true }).click();
    await alice.getByLabel('Description').fill('Bills customers every week.');
    await alice.getByRole('button', { name: 'Review changes' }).click();
    await alice.getByRole('button', { name: 'Update' }).click();
    expect(await announced(alice)).toBe(
      'Your update of billing was submitted for approval as edit request #2. Until a publisher approves it, billing keeps its current settings.',
    );
    // The queue as bob sees it: the description, the check run here, what changes and the diff.
    await bob.goto('/portal/review');
    await shown(reviewCard(bob, 2).getByText('Check: allowed'));
    await bob.screenshot({ path: join(shotsDir, 'quickstart-review-queue.png'), fullPage: true });
    await reject(bob, 2, 'Weekly bills confuse customers; keep them monthly.');
    await alice.goto('/portal/apps/billing');
    expect(await textOf(alice.locator('#rejection'))).toMatch(
      /^Edit request #2 was rejected Rejected by bob, \d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d UTC: Weekly bills confuse customers; keep them monthly\. Ask again A new edit request, starting from what this one asked for\.$/,
    );
    expect(await alice.locator('#rejection time').getAttribute('datetime')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(await textOf(alice.locator('#history tbody tr', { hasText: 'edit #2' }).locator('td[data-label="Decided by"]'))).toMatch(/^bob, /);
    // Still the settings that were approved.
    expect(await textOf(alice.locator('#overview'))).toContain('Bills customers every month.');

    // alice deactivates; bob approves; the token stops at once.
    await alice.getByRole('link', { name: 'Deactivate', exact: true }).click();
    await alice.getByRole('button', { name: 'Deactivate' }).click();
    expect(await announced(alice)).toBe('The deactivation of billing was submitted for approval as request #3. Until a publisher approves it, billing stays active.');
    await approve(bob, 3);
    await applied();
    expect(await statusAndState(alice, 'billing')).toBe('approved, inactive');
    expect(await introspect(first.access_token)).toEqual({ active: false });
    const refused = await fetch(as.token_endpoint!, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    expect([refused.status, await refused.json()]).toEqual([401, { error: 'invalid_client', error_description: 'the application is inactive' }]);

    // alice asks for reactivation; bob approves; billing gets tokens again, the old one stays dead.
    await alice.getByRole('link', { name: 'Reactivate', exact: true }).click();
    await alice.getByRole('button', { name: 'Reactivate', exact: true }).click();
    expect(await announced(alice)).toBe('The reactivation of billing was submitted for approval as request #4. Until a publisher approves it, billing stays inactive.');
    await approve(bob, 4);
    await applied();
    expect(await statusAndState(alice, 'billing')).toBe('approved, active');
    const again = await tokenFor(clientId, secret);
    expect(await introspect(again.access_token)).toMatchObject({ active: true, client_id: clientId });
    expect(await introspect(first.access_token)).toEqual({ active: false });

    // Every status and state in alice's list: a create rejected, one cancelled, one awaiting, an app inactive.
    await ask(alice, 'reports', 'Monthly sales reports for the board.');
    await reject(bob, 5, 'Reports come from the data team’s warehouse, not from an OAuth client.');
    await alice.goto('/portal/apps/reports');
    await shown(alice.locator('#rejection'));
    await alice.screenshot({ path: join(shotsDir, 'quickstart-rejected.png') });
    await ask(alice, 'exports', 'Nightly exports for the accountants.');
    await alice.goto('/portal/apps/exports/cancel');
    await alice.getByRole('button', { name: 'Cancel the request' }).click();
    expect(await announced(alice)).toBe('Your create request #6 for exports was cancelled.');
    await alice.goto('/portal/apps/mobile-app/deactivate');
    await alice.getByRole('button', { name: 'Deactivate' }).click();
    await approve(bob, 7);
    await applied();
    await ask(alice, 'invoices', 'Sends invoices to customers.');
    await alice.goto('/portal/apps');
    const shownAs: Record<string, string> = {};
    for (const name of ['billing', 'exports', 'invoices', 'mobile-app', 'reports']) {
      const row = alice.locator('tbody tr', { has: alice.locator(`a[href="/portal/apps/${name}"]`) });
      const state = row.locator('.state');
      shownAs[name] = `${await textOf(row.locator('.status'))}${(await state.count()) === 0 ? '' : `, ${await textOf(state)}`}`;
    }
    expect(shownAs).toEqual({
      billing: 'approved, active',
      exports: 'cancelled',
      invoices: 'awaiting approval',
      'mobile-app': 'approved, inactive',
      reports: 'rejected',
    });
    await alice.screenshot({ path: join(shotsDir, 'quickstart-my-applications.png'), fullPage: true });
    for (const name of SHOTS) expect(readFileSync(join(shotsDir, name)).subarray(1, 4).toString()).toBe('PNG');
  });
});
