// Signing a person in to an application, in headless Chromium against a real `mergekey serve`:
// the portal's pages of the flow (sign-in, consent, Authorized applications) between a client
// (oauth4webapi, PKCE S256) and its callback on another loopback port. The callback is another
// origin than the portal, so this is where the CSP's form-action would stop the redirect after
// Allow, or after signing in with a remembered consent (Chrome checks every redirect a form
// submission leads to). The whole flow with openid-client is test/e2e/sign-in.test.ts.
import { createServer, type Server } from 'node:http';
import * as oauth from 'oauth4webapi';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ISSUER, launchChromium, PEOPLE, startPortalWorld, Visitor, type PortalWorld } from '../../test/support/portal.ts';

let browser: Browser;
let world: PortalWorld;
let callbackServer: Server;
let callbackUrl: string;
/** The URLs the client's callback was called with. */
const callbacks: URL[] = [];
const contexts: BrowserContext[] = [];
let client: oauth.Client;
let secret: string;
let as: oauth.AuthorizationServer;

beforeAll(async () => {
  [browser, world] = await Promise.all([launchChromium(), startPortalWorld()]);
  callbackServer = createServer((request, response) => {
    const url = new URL(request.url!, callbackUrl);
    // Not the browser's favicon request.
    if (url.pathname === '/callback') callbacks.push(url);
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>Callback</title><h1>Back at the application</h1>');
  });
  await new Promise<void>((resolve) => callbackServer.listen(0, '127.0.0.1', resolve));
  callbackUrl = `http://127.0.0.1:${(callbackServer.address() as { port: number }).port}/callback`;

  const alice = new Visitor(world.url);
  await alice.signIn('alice');
  const created = await alice.post('/portal/apps', {
    _csrf: await alice.csrf('/portal/apps/new'), name: 'webshop', displayName: 'Web Shop', description: 'Sells things to people.',
    grantType: ['authorization_code', 'refresh_token'], redirectUris: 'http://127.0.0.1/callback', scope: 'open',
  });
  expect(created.status).toBe(200);
  secret = /<code class="secret-value" id="client-secret"[^>]*>([^<]+)<\/code>/.exec(created.html)![1]!;
  const pat = new Visitor(world.url);
  await pat.signIn('pat');
  expect((await pat.approve(1)).status).toBe(303);
  await world.sync();
  const clientId = /<code id="client-id">([^<]+)<\/code>/.exec((await alice.get('/portal/apps/webshop')).html)![1]!;
  client = { client_id: clientId };
  // The issuer names no port (the test world's); its endpoints are where the server listens.
  as = { issuer: ISSUER, authorization_endpoint: `${world.url}/oauth2/authorize`, token_endpoint: `${world.url}/oauth2/token` };
}, 60_000);

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => undefined);
  await browser?.close();
  await new Promise((resolve) => callbackServer?.close(resolve));
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

/** A fresh authorization request as the client makes it: its URL, and what it must keep. */
async function authorizationRequest(): Promise<{ url: string; verifier: string; state: string }> {
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const url = new URL(as.authorization_endpoint!);
  url.search = new URLSearchParams({
    response_type: 'code', client_id: client.client_id, redirect_uri: callbackUrl, scope: 'open', state,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  }).toString();
  return { url: url.href, verifier, state };
}

/** Waits for the callback page, then exchanges its code as the client would (RFC 9207 iss and state checked by the library). */
async function finish(page: Page, request: { verifier: string; state: string }): Promise<oauth.TokenEndpointResponse> {
  await page.waitForURL((url) => url.href.startsWith(callbackUrl));
  await page.getByRole('heading', { name: 'Back at the application' }).waitFor();
  const params = oauth.validateAuthResponse(as, client, callbacks.at(-1)!, request.state);
  const response = await oauth.authorizationCodeGrantRequest(as, client, oauth.ClientSecretBasic(secret), params, callbackUrl, request.verifier, { [oauth.allowInsecureRequests]: true });
  return oauth.processAuthorizationCodeResponse(as, client, response);
}

async function signIn(page: Page): Promise<void> {
  await page.getByLabel('User name').fill('alice');
  await page.getByLabel('Password').fill(PEOPLE.alice.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

describe('signing in to an application in a browser', () => {
  it('goes from the client to sign-in, consent and back to the client’s other-origin callback, whose code the client exchanges', async () => {
    const { page, violations } = await open();
    const request = await authorizationRequest();
    await page.goto(request.url);
    await page.getByRole('heading', { name: 'Sign in', level: 1 }).waitFor();
    await signIn(page);
    await page.getByRole('heading', { name: 'Web Shop wants to sign you in', level: 1 }).waitFor();
    expect(await page.getByRole('listitem').filter({ hasText: 'open:' }).textContent()).toBe('open: Basic access, to no particular API.');
    await page.getByRole('button', { name: 'Allow' }).click();
    const tokens = await finish(page, request);
    expect({ type: tokens.token_type, scope: tokens.scope, refresh: typeof tokens.refresh_token }).toEqual({ type: 'bearer', scope: 'open', refresh: 'string' });
    expect(violations).toEqual([]);

    // Signed in and remembered: the next request goes straight back, no page shown.
    const second = await authorizationRequest();
    await page.goto(second.url);
    expect((await finish(page, second)).token_type).toBe('bearer');
  });

  it('signs a returning user in and sends them straight back when their consent is remembered (the sign-in form’s redirects reach the client)', async () => {
    const { page, violations } = await open();
    const request = await authorizationRequest();
    await page.goto(request.url);
    await signIn(page);
    expect((await finish(page, request)).token_type).toBe('bearer');
    expect(violations).toEqual([]);
  });

  it('lists the application under Authorized applications; withdrawing it ends its refresh token and asks again next time', async () => {
    const { page } = await open();
    const request = await authorizationRequest();
    await page.goto(request.url);
    await signIn(page);
    const tokens = await finish(page, request);

    await page.goto('/portal/authorized');
    await page.getByRole('row', { name: /Web Shop/ }).waitFor();
    await page.getByRole('link', { name: 'Withdraw Web Shop' }).click();
    await page.getByRole('heading', { name: 'Withdraw Web Shop?', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Withdraw' }).click();
    await page.getByText('Web Shop no longer has access: its tokens for you were revoked.').waitFor();
    expect(await page.getByText('You have not authorized any application.').count()).toBe(1);

    const refreshed = await oauth.refreshTokenGrantRequest(as, client, oauth.ClientSecretBasic(secret), tokens.refresh_token!, { [oauth.allowInsecureRequests]: true });
    expect({ status: refreshed.status, body: await refreshed.json() }).toEqual({ status: 400, body: { error: 'invalid_grant', error_description: 'the refresh token is invalid, expired or revoked' } });

    const again = await authorizationRequest();
    await page.goto(again.url);
    await page.getByRole('heading', { name: 'Web Shop wants to sign you in', level: 1 }).waitFor();

    // Deny sends the browser back with access_denied, the client's state and the issuer (RFC 9207).
    await page.getByRole('button', { name: 'Deny' }).click();
    await page.waitForURL((url) => url.href.startsWith(callbackUrl));
    await page.getByRole('heading', { name: 'Back at the application' }).waitFor();
    const denied = callbacks.at(-1)!;
    expect(Object.fromEntries(denied.searchParams)).toEqual({ error: 'access_denied', error_description: 'the user denied the request', state: again.state, iss: ISSUER });
  });
});
