// Hostile cases that need a real browser, in headless Chromium against a real `mergekey serve`:
// markup typed into every field the portal shows stays text and runs nothing, the CSP blocks
// inline script even when something puts it in the page, and after sign-out the back button
// shows no page that held a secret.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, PEOPLE, startPortalWorld, type Person, type PortalWorld } from '../../test/support/portal.ts';

const MARKUP = '"><img src=x onerror="window.__xss=1"><script>window.__xss=2</script>';

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
});

async function open(): Promise<{ page: Page; violations: string[] }> {
  const context = await browser.newContext({ baseURL: world.url });
  contexts.push(context);
  const page = await context.newPage();
  const violations: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  return { page, violations };
}

async function signIn(page: Page, person: Person): Promise<void> {
  await page.goto('/portal/sign-in');
  await page.getByLabel('User name').fill(person);
  await page.getByLabel('Password').fill(PEOPLE[person].password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1 }).waitFor();
}

describe('in a browser', () => {
  it('shows markup typed into the form as text, runs none of it, and the CSP blocks inline script', async () => {
    const { page, violations } = await open();
    await signIn(page, 'alice');
    await page.goto('/portal/apps/new');
    await page.getByLabel(/Application name/).fill('billing');
    await page.getByLabel(/Display name/).fill(MARKUP.slice(0, 60));
    await page.getByLabel(/Description/).fill(MARKUP);
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.getByRole('heading', { level: 1 }).waitFor();
    expect(await page.evaluate('window.__xss')).toBeUndefined();
    await page.goto('/portal/apps/billing');
    await page.getByRole('heading', { level: 1 }).waitFor();
    expect(await page.locator('main').textContent()).toContain(MARKUP);
    expect(await page.evaluate('window.__xss')).toBeUndefined();
    expect(await page.locator('img[src="x"]').count()).toBe(0);
    // Script put into the page (as an injection would) does not run: script-src 'self', no 'unsafe-inline'.
    const ran = await page.evaluate("(() => { const script = document.createElement('script'); script.textContent = 'window.__inline = 1'; document.body.append(script); return window.__inline; })()");
    expect(ran).toBeUndefined();
    await expect.poll(() => violations.length).toBeGreaterThan(0);
  });

  it('after sign-out, Back shows no page that held a secret, and the session cookie no longer works', async () => {
    const { page } = await open();
    await signIn(page, 'bob');
    await page.goto('/portal/apps/new');
    await page.getByLabel(/Application name/).fill('ledger');
    await page.getByLabel(/Description/).fill('Keeps the books.');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    const secret = (await page.locator('#client-secret').textContent())!.trim();
    expect(secret.length).toBeGreaterThan(20);
    const cookies = await page.context().cookies();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/portal\/sign-in\?signed-out=1/);
    // Back to the page that showed the secret: no-store keeps it out of every cache, so Chromium
    // has nothing to show but its own "confirm form resubmission" page (or a fresh request).
    await page.goBack({ waitUntil: 'load' }).catch(() => undefined);
    let shown: string | null = null;
    await expect.poll(async () => (shown = await page.evaluate<string | null>("document.readyState === 'complete' ? document.documentElement.outerHTML : null").catch(() => null))).not.toBeNull();
    expect(shown).not.toContain(secret);
    // The old cookie, replayed, is refused: the session ended on the server.
    const replay = await fetch(`${world.url}/portal/apps`, { redirect: 'manual', headers: { cookie: cookies.map((c) => `${c.name}=${c.value}`).join('; ') } });
    expect(replay.status).toBe(303);
    expect(replay.headers.get('location')).toBe('/portal/sign-in?next=%2Fportal%2Fapps');
  });
});
