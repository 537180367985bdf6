// The brief's whole story, clicked through in real headless Chromium against a real `mergekey
// serve`, a real manifests repository and the GitHub stand-in: sign in, add, approve as a
// publisher, generate a token with each grant type, revoke one, deactivate (nothing refused offered
// meanwhile), reject a reactivation,
// reactivate. It also reads the portal with JavaScript off, at phone width, and by keyboard.
//
// Screenshots go to a temporary folder; `MERGEKEY_SCREENSHOTS=update` writes them to
// controller/portal/screenshots/ instead (the README shows those).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, PEOPLE, startPortalWorld, type Person, type PortalWorld } from '../../test/support/portal.ts';

const UPDATE = process.env.MERGEKEY_SCREENSHOTS === 'update';
const shotsDir = UPDATE ? fileURLToPath(new URL('./screenshots/', import.meta.url)) : mkdtempSync(join(tmpdir(), 'mergekey-shots-'));

let browser: Browser;
let world: PortalWorld;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  [browser, world] = await Promise.all([launchChromium(), startPortalWorld()]);
}, 60_000);

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => undefined);
  await browser?.close();
  await world?.close();
  if (!UPDATE) rmSync(shotsDir, { recursive: true, force: true });
});

// playwright-core has no test runner assertions: these wait for what the page must show, then
// vitest asserts on it. Clicks that navigate wait for the new page to start loading.
async function shown(locator: Locator): Promise<void> {
  await locator.first().waitFor({ state: 'visible' });
}

async function gone(locator: Locator): Promise<void> {
  await locator.first().waitFor({ state: 'hidden' });
}

async function textOf(locator: Locator): Promise<string> {
  await shown(locator);
  return ((await locator.first().textContent()) ?? '').trim();
}

/** Waits until `locator` holds `text`. */
async function has(locator: Locator, text: string | RegExp): Promise<void> {
  await shown(locator.filter({ hasText: text }));
}

async function open(options: { javaScriptEnabled?: boolean; width?: number } = {}): Promise<Page> {
  const context = await browser.newContext({
    baseURL: world.url,
    viewport: { width: options.width ?? 1100, height: 800 },
    javaScriptEnabled: options.javaScriptEnabled ?? true,
    permissions: ['clipboard-read', 'clipboard-write'],
  });
  contexts.push(context);
  const page = await context.newPage();
  // Nothing is fetched from anywhere but the server itself.
  page.on('request', (request) => {
    if (!request.url().startsWith(world.url)) throw new Error(`the page fetched ${request.url()}`);
  });
  return page;
}

async function signIn(page: Page, person: Person): Promise<void> {
  await page.goto('/portal');
  await expect.poll(() => page.url()).toContain('/portal/sign-in');
  await page.getByLabel('User name').fill(person);
  await page.getByLabel('Password').fill(PEOPLE[person].password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1 }).waitFor();
}

/** The live region's text once the page announced it. */
async function announced(page: Page): Promise<string> {
  const live = page.locator('#live');
  await live.locator('.banner').waitFor();
  return (await live.textContent())!.trim();
}

async function approve(publisher: Page, number: number): Promise<void> {
  await publisher.goto('/portal/review');
  const card = publisher.locator('article', { has: publisher.getByRole('heading', { name: new RegExp(`^#${number} `) }) });
  await shown(card.getByText('Check: allowed'));
  await card.getByRole('button', { name: 'Approve' }).click();
  expect(await announced(publisher)).toContain(`Approved #${number}`);
  await world.sync();
}

async function reject(publisher: Page, number: number, reason: string): Promise<void> {
  await publisher.goto('/portal/review');
  const card = publisher.locator('article', { has: publisher.getByRole('heading', { name: new RegExp(`^#${number} `) }) });
  await card.getByRole('link', { name: 'Reject…' }).click();
  await publisher.getByLabel('Reason').fill(reason);
  await publisher.getByRole('button', { name: 'Reject' }).click();
  expect(await announced(publisher)).toContain(`Rejected #${number}`);
}

function statusOf(page: Page, app: string) {
  return page.getByRole('row', { name: new RegExp(app) }).locator('.status');
}

async function generate(page: Page, grant: 'Client Credentials' | 'Password' | 'Refresh Token', fields: { secret: string; scope?: string; username?: string; password?: string; refreshToken?: string }) {
  await page.goto('/portal/apps/billing#generate');
  const form = page.locator('#generate form');
  await form.getByLabel(grant, { exact: true }).check();
  await form.getByLabel('Client secret').fill(fields.secret);
  if (fields.username !== undefined) await form.getByLabel('User name').fill(fields.username);
  if (fields.password !== undefined) await form.getByLabel('User’s password').fill(fields.password);
  if (fields.scope !== undefined) await form.getByLabel(fields.scope).check();
  if (fields.refreshToken !== undefined) await form.getByLabel('Refresh token', { exact: true }).fill(fields.refreshToken);
  // Only the chosen grant's fields are shown.
  expect(await form.getByLabel('Refresh token', { exact: true }).isVisible()).toBe(grant === 'Refresh Token');
  await form.getByRole('button', { name: 'Generate Token' }).click();
  await shown(page.getByText('Access token generated'));
  return {
    access: (await page.locator('#access-token').textContent())!,
    refresh: (await page.locator('#refresh-token').count()) === 0 ? undefined : (await page.locator('#refresh-token').textContent())!,
  };
}

describe('the portal in a browser', () => {
  it(
    'walks the brief’s story: add, approve, tokens of every grant, revoke, deactivate, a rejected reactivation, reactivate',
    async () => {
      const alice = await open();
      const pat = await open();
      await signIn(alice, 'alice');
      await shown(alice.getByRole('heading', { name: 'My Applications' }));
      await shown(alice.getByText('No applications yet.'));

      // Add: name and description required, scopes from the published APIs.
      await alice.getByRole('link', { name: 'New Application' }).first().click();
      await alice.getByRole('button', { name: 'Add' }).click();
      await has(alice.getByRole('alert'), 'Enter the application name.');
      await alice.getByLabel('Application name').fill('billing');
      await alice.getByLabel('Description').fill('Bills customers every month.');
      await alice.getByLabel('Redirect URIs').fill('https://billing.example.com/callback');
      await alice.getByRole('checkbox', { name: /invoices:read/ }).check();
      await alice.getByRole('checkbox', { name: /^Password/ }).check();
      await alice.getByRole('checkbox', { name: /^Refresh token/ }).check();
      await alice.getByRole('button', { name: 'Add' }).click();
      await shown(alice.getByText('billing was submitted for approval.'));
      const secret = (await alice.locator('#client-secret').textContent())!.trim();
      expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      await alice.getByRole('button', { name: 'Copy' }).click();
      expect(await alice.evaluate('navigator.clipboard.readText()')).toBe(secret);
      await alice.goto('/portal/apps');
      expect(await textOf(statusOf(alice, 'billing'))).toBe('awaiting approval');
      // Never shown again.
      await alice.goto('/portal/apps/billing');
      expect(await alice.content()).not.toContain(secret);

      // A publisher approves it; a second application is rejected.
      await signIn(pat, 'pat');
      await approve(pat, 1);
      await alice.goto('/portal/apps/new');
      await alice.getByLabel('Application name').fill('reports');
      await alice.getByLabel('Description').fill('Monthly reports.');
      await alice.getByRole('button', { name: 'Add' }).click();
      await shown(alice.getByText('reports was submitted for approval.'));
      await reject(pat, 2, 'Reports come from the data team.');

      await alice.goto('/portal/apps');
      expect(await textOf(statusOf(alice, 'billing'))).toBe('approved');
      expect(await textOf(alice.getByRole('row', { name: /billing/ }).locator('.state'))).toBe('active');
      expect(await textOf(statusOf(alice, 'reports'))).toBe('rejected');
      // A count card is a link that filters the list.
      await alice.getByRole('link', { name: 'Approved 1' }).click();
      expect(await alice.getByRole('row', { name: /reports/ }).count()).toBe(0);
      expect(await textOf(statusOf(alice, 'billing'))).toBe('approved');
      await alice.getByLabel('Status').selectOption('rejected');
      await alice.getByRole('button', { name: 'Filter' }).click();
      expect(await alice.getByRole('row', { name: /billing/ }).count()).toBe(0);
      expect(await textOf(statusOf(alice, 'reports'))).toBe('rejected');
      await alice.goto('/portal/apps');
      await alice.screenshot({ path: join(shotsDir, 'my-applications.png') });

      // Generate a token with each grant type, through the real token endpoint.
      const cc = await generate(alice, 'Client Credentials', { secret, scope: 'invoices:read' });
      expect(cc.access.split('.')).toHaveLength(3);
      expect(cc.refresh).toBeUndefined();
      await has(alice.locator('.facts'), 'invoices:read');
      const pw = await generate(alice, 'Password', { secret, username: 'alice', password: PEOPLE.alice.password });
      expect(pw.refresh).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const rt = await generate(alice, 'Refresh Token', { secret, refreshToken: pw.refresh! });
      expect(rt.refresh).not.toBe(pw.refresh);
      // "Use this refresh token", on the page that shows one: the refresh grant, narrowed to one
      // of the scopes it was granted.
      const useIt = alice.getByRole('region', { name: 'Use this refresh token' });
      expect((await textOf(alice.locator('.facts dd').nth(2))).split(/,\s*/)).toContain('invoices:read');
      await useIt.getByLabel('Client secret').fill(secret);
      await useIt.getByLabel('invoices:read', { exact: true }).check();
      await useIt.getByRole('button', { name: 'Use this refresh token' }).click();
      await has(alice.getByRole('status'), 'with the Refresh Token grant');
      expect(await textOf(alice.locator('.facts dd').nth(2))).toBe('invoices:read');
      const used = (await alice.locator('#refresh-token').textContent())!;
      expect([pw.refresh, rt.refresh]).not.toContain(used);
      // Post/redirect/get: reloading the page that showed it shows it no more and makes no
      // other token (the live tokens, counted in another tab, stay as many).
      const tab = await alice.context().newPage();
      await tab.goto('/portal/apps/billing#tokens');
      const live = await tab.locator('#tokens tbody tr').count();
      await alice.reload();
      expect(await announced(alice)).toBe('A generated token is shown once and kept nowhere: generate another one here if you need it.');
      expect(await alice.locator('#access-token').count()).toBe(0);
      await tab.reload();
      expect(await tab.locator('#tokens tbody tr').count()).toBe(live);
      await tab.close();
      // A wrong secret is the token endpoint's invalid_client, said plainly.
      await alice.goto('/portal/apps/billing#generate');
      await alice.locator('#generate').getByLabel('Client secret').fill('not-the-secret');
      await alice.getByRole('button', { name: 'Generate Token' }).click();
      await has(alice.getByRole('alert'), 'invalid_client');

      // Active tokens, by their shortened id (not a credential: nothing to reveal); revoke one
      // with a confirmation.
      await alice.goto('/portal/apps/billing');
      const rows = alice.locator('#tokens tbody tr');
      await shown(rows.first());
      const first = rows.first();
      const revokedId = await textOf(first.locator('.token-id'));
      expect(revokedId).toMatch(/^(at|rt)_[\w-]+\.\.\.[\w-]+$/);
      expect(await alice.locator('#tokens details, #tokens button').count()).toBe(0);
      expect(await alice.locator('#tokens').getByText('Reveal', { exact: true }).count()).toBe(0);
      await alice.screenshot({ path: join(shotsDir, 'application-details.png'), fullPage: true });
      const before = await rows.count();
      await first.getByRole('link', { name: /^Revoke token/ }).click();
      await shown(alice.getByRole('heading', { name: /^Revoke token/ }));
      await alice.getByRole('button', { name: 'Revoke' }).click();
      expect(await announced(alice)).toContain('The token was revoked');
      expect(await rows.count()).toBe(before - 1);
      expect(await alice.locator('#tokens').textContent()).not.toContain(revokedId);

      // Deactivate (confirmed, approved), then a reactivation is rejected, then one is approved.
      await alice.getByRole('link', { name: 'Deactivate', exact: true }).click();
      await shown(alice.getByRole('heading', { name: 'Deactivate billing?' }));
      await alice.getByRole('button', { name: 'Deactivate' }).click();
      expect(await announced(alice)).toContain('was submitted for approval as request #3');
      // While it is open, nothing that would be refused is offered: disabled, the reason beside it.
      const actions = alice.getByRole('group', { name: 'Actions' });
      for (const name of ['Edit', 'Deactivate']) {
        const button = actions.getByRole('button', { name, exact: true });
        expect(await button.isDisabled(), name).toBe(true);
        const describedBy = await button.getAttribute('aria-describedby');
        expect(await textOf(alice.locator(`#${describedBy}`)), name).toBe('Deactivate request #3 awaits approval.');
      }
      await shown(actions.getByText('Deactivate request #3 awaits approval.'));
      expect(await actions.getByRole('link', { name: 'Edit', exact: true }).count()).toBe(0);
      await shown(actions.getByRole('link', { name: 'Cancel request' }));
      expect(await alice.locator('#keys').getByRole('button', { name: 'Rotate secret' }).isDisabled()).toBe(true);
      await approve(pat, 3);
      await alice.goto('/portal/apps/billing');
      expect(await textOf(alice.locator('h1 .status'))).toBe('approved');
      expect(await textOf(alice.locator('h1 .state'))).toBe('inactive');
      await has(alice.locator('#tokens'), 'billing is inactive: none of its tokens work.');

      await alice.getByRole('link', { name: 'Reactivate', exact: true }).click();
      await alice.getByRole('button', { name: 'Reactivate' }).click();
      expect(await announced(alice)).toContain('request #4');
      await reject(pat, 4, 'Billing moves to the new platform.');
      await alice.goto('/portal/apps/billing');
      expect(await textOf(alice.locator('h1 .state'))).toBe('inactive');
      const history = alice.locator('#history tbody tr');
      await has(history.filter({ hasText: 'reactivate #4' }), 'rejected');
      await has(history.filter({ hasText: 'reactivate #4' }), 'pat');

      await alice.getByRole('link', { name: 'Reactivate', exact: true }).click();
      await alice.getByRole('button', { name: 'Reactivate' }).click();
      expect(await announced(alice)).toContain('request #5');
      await approve(pat, 5);
      await alice.goto('/portal/apps/billing');
      expect(await textOf(alice.locator('h1 .state'))).toBe('active');
      await has(history.filter({ hasText: 'create #1' }), 'alice');
      await has(history.filter({ hasText: 'deactivate #3' }), 'approved');
      // Active again: it gets tokens, and the revoked one stays revoked.
      const fresh = await generate(alice, 'Password', { secret, username: 'alice', password: PEOPLE.alice.password });
      expect(fresh.refresh).toBeDefined();
      await alice.goto('/portal/apps/billing');
      await shown(alice.locator('#tokens tbody tr'));
      expect(await alice.locator('#tokens').innerHTML()).not.toContain(revokedId);
      await alice.goto('/portal/apps');
      await shown(alice.getByText('Requests decided so far: 3 approved, 2 rejected, 0 cancelled.'));
    },
    180_000,
  );

  // Reads what the story left behind (billing, with live tokens).
  it('reads without JavaScript, fits a phone, and works from the keyboard', async () => {
    const page = await open({ javaScriptEnabled: false, width: 375 });
    await signIn(page, 'alice');
    await page.goto('/portal/apps/billing');
    await shown(page.getByRole('heading', { name: 'Overview' }));
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    await page.screenshot({ path: join(shotsDir, 'application-details-phone.png') });
    // Copy buttons need JavaScript, so they stay hidden; the tokens' ids are there to read.
    expect(await page.locator('button.copy').count()).toBe(1);
    await gone(page.locator('button.copy'));
    await shown(page.locator('#tokens tbody tr').first().locator('.token-id'));
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);

    await page.goto('/portal/apps');
    await page.keyboard.press('Tab');
    expect(await textOf(page.locator(':focus'))).toBe('Skip to content');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Tab');
    // From the skip link straight into the content: the first control in <main>.
    expect(await page.evaluate("document.activeElement.closest('main') !== null")).toBe(true);
    for (const name of ['my-applications.png', 'application-details.png', 'application-details-phone.png']) {
      expect(readFileSync(join(shotsDir, name)).subarray(1, 4).toString()).toBe('PNG');
    }
  }, 60_000);
});
