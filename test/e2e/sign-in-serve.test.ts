// The sign-in story once more against `mergekey serve` as an operator runs it: a child process
// with two cluster workers, so that the authorization request, the portal's sign-in and consent,
// the code exchange, userinfo, refresh and the withdrawal are served by whichever worker the
// connection reached. Sessions, codes and consents live in the shared LMDB store; nothing of a
// sign-in may live in one worker's memory. (sign-in.test.ts tells the whole story in detail, in
// process.)
import * as client from 'openid-client';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { finishSignIn, startSignIn } from '../../examples/clients/sign-in.ts';
import { launchChromium } from '../support/portal.ts';
import { ALICE, authorizeInBrowser, startSignInWorld, type SignInWorld } from '../support/sign-in.ts';

let browser: Browser;
let world: SignInWorld;

beforeAll(async () => {
  [browser, world] = await Promise.all([launchChromium(), startSignInWorld({ run: 'child', workers: 2 })]);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await world?.close();
});

it('signs in, consents, exchanges, refreshes and withdraws across two workers', async () => {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const web = world.clients.web;
    const started = await startSignIn(new URL(world.issuer), web.clientId, web.secret!, world.redirectUri);
    const run = await authorizeInBrowser(world, page, started.url);
    expect(run.consentPages).toBe(1);
    const { tokens, user } = await finishSignIn(started.config, run.callback, started.session);
    expect(tokens.claims()).toMatchObject({ iss: world.issuer, sub: `user:${ALICE.name}`, aud: web.clientId, nonce: started.session.nonce });
    expect(user).toEqual({ sub: `user:${ALICE.name}`, name: ALICE.displayName, preferred_username: ALICE.name, email: ALICE.email });

    // Several refreshes, each on whichever worker: the rotation holds across them.
    let refreshToken = tokens.refresh_token!;
    for (let i = 0; i < 4; i++) {
      const refreshed = await client.refreshTokenGrant(started.config, refreshToken);
      expect(refreshed.refresh_token).not.toBe(refreshToken);
      refreshToken = refreshed.refresh_token!;
    }

    // The remembered consent is seen by every worker.
    const again = await startSignIn(new URL(world.issuer), web.clientId, web.secret!, world.redirectUri);
    expect((await authorizeInBrowser(world, page, again.url)).consentPages).toBe(0);

    // Withdrawn through the portal's confirmation form; the refresh token is then refused.
    await page.goto(`${world.issuer}/portal/authorized/web/withdraw`);
    await Promise.all([page.waitForURL((url) => url.pathname === '/portal/authorized'), page.locator('main').getByRole('button', { name: 'Withdraw' }).click()]);
    await expect(client.refreshTokenGrant(started.config, refreshToken)).rejects.toMatchObject({
      error: 'invalid_grant',
      cause: { error: 'invalid_grant', error_description: 'the refresh token is invalid, expired or revoked' },
    });
  } finally {
    await context.close();
  }
});
