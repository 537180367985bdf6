// Issue 14 end to end: a person signs in to a relying party through Mergekey. A real `mergekey
// serve` (in process, real LMDB, a real manifests repository), real Chromium clicking through the
// portal's sign-in and consent pages, a relying-party callback server on loopback, and the two
// relying-party libraries the issue names doing every check themselves: openid-client (OpenID
// Connect: PKCE S256, state, RFC 9207 iss, ID token and nonce, userinfo, refresh) for the
// confidential web client, oauth4webapi (plain OAuth 2.0 + PKCE) for the public SPA client.
//
// The tests in this file run in order and share one browser context (one portal session), as one
// person using several apps would.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finishSignIn, startSignIn } from '../../examples/clients/sign-in.ts';
import { launchChromium } from '../support/portal.ts';
import { ALICE, authorizeInBrowser, DINAH, ORDERS_SCOPE, OWNER, startSignInWorld, type SignInClient, type SignInWorld } from '../support/sign-in.ts';

let browser: Browser;
let world: SignInWorld;
let context: BrowserContext;
let page: Page;

beforeAll(async () => {
  [browser, world] = await Promise.all([launchChromium(), startSignInWorld()]);
  context = await browser.newContext();
  page = await context.newPage();
}, 60_000);

afterAll(async () => {
  await context?.close().catch(() => undefined);
  await browser?.close();
  await world?.close();
});

/** The whole error bodies the token endpoint answers here (RFC 6749 section 5.2). */
const CODE_UNUSABLE = { error: 'invalid_grant', error_description: 'the authorization code is invalid, expired, already used or not issued to this client' };
const REFRESH_UNUSABLE = { error: 'invalid_grant', error_description: 'the refresh token is invalid, expired or revoked' };
/** openid-client's error for an error answer: the body is its `cause`. */
const refused = (body: Record<string, string>) => ({ error: body.error, cause: body });

function secretOf(app: SignInClient): string {
  if (app.secret === undefined) throw new Error(`${app.name} is a public client`);
  return app.secret;
}

describe('a person signs in to the confidential web client with openid-client', () => {
  const web = () => world.clients.web;
  let config: client.Configuration;
  let refreshToken: string;
  let accessToken: string;

  it('discovers the OpenID Provider metadata, with the members RFC 8414 and RFC 9207 ask for', async () => {
    const started = await startSignIn(new URL(world.issuer), web().clientId, secretOf(web()), world.redirectUri);
    const metadata = started.config.serverMetadata();
    expect(metadata).toMatchObject({
      issuer: world.issuer,
      authorization_endpoint: `${world.issuer}/oauth2/authorize`,
      token_endpoint: `${world.issuer}/oauth2/token`,
      userinfo_endpoint: `${world.issuer}/oauth2/userinfo`,
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
      authorization_response_iss_parameter_supported: true,
    });
    // The RFC 8414 document says the same.
    const rfc8414 = (await (await fetch(`${world.issuer}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
    for (const member of ['authorization_endpoint', 'response_types_supported', 'code_challenge_methods_supported', 'authorization_response_iss_parameter_supported'] as const) {
      expect(rfc8414[member], member).toEqual(metadata[member]);
    }
  });

  it('signs in, consents, and the library exchanges the code, validates the ID token and fetches userinfo', async () => {
    const started = await startSignIn(new URL(world.issuer), web().clientId, secretOf(web()), world.redirectUri);
    config = started.config;
    // The README's example asks for openid profile email; the web client also wants the orders scope.
    started.url.searchParams.set('scope', `openid profile email ${ORDERS_SCOPE.name}`);
    const run = await authorizeInBrowser(world, page, started.url);

    // The consent page names the app, its owner (not the person signing in) and each scope with its Api's words.
    expect(run.consentPages).toBe(1);
    expect(run.consentText).toContain(web().displayName);
    expect(run.consentText).toMatch(new RegExp(`\\b${OWNER.name}\\b`));
    expect(run.consentText).toContain(ORDERS_SCOPE.description);

    // RFC 9207 and state: the redirect carries both, and the library refuses another iss or state.
    expect(run.callback.searchParams.get('state')).toBe(started.session.state);
    expect(run.callback.searchParams.get('iss')).toBe(world.issuer);
    const forgedIss = new URL(run.callback);
    forgedIss.searchParams.set('iss', 'http://127.0.0.1:1');
    await expect(finishSignIn(config, forgedIss, started.session)).rejects.toMatchObject({ code: 'OAUTH_INVALID_RESPONSE', cause: expect.objectContaining({ message: 'unexpected "iss" (issuer) response parameter value' }) });
    await expect(finishSignIn(config, run.callback, { ...started.session, state: client.randomState() })).rejects.toMatchObject({ code: 'OAUTH_INVALID_RESPONSE', cause: expect.objectContaining({ message: 'unexpected "state" response parameter value' }) });

    const { tokens, user } = await finishSignIn(config, run.callback, started.session);
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
    expect(tokens.scope?.split(' ').sort()).toEqual(['email', 'openid', ORDERS_SCOPE.name, 'profile']);
    const claims = tokens.claims()!;
    expect(claims).toMatchObject({ iss: world.issuer, sub: `user:${ALICE.name}`, aud: web().clientId, nonce: started.session.nonce });
    expect(typeof claims.auth_time).toBe('number');
    expect(claims.auth_time!).toBeLessThanOrEqual(claims.iat);
    expect(claims).not.toHaveProperty('acr');
    expect(user).toEqual({ sub: `user:${ALICE.name}`, name: ALICE.displayName, preferred_username: ALICE.name, email: ALICE.email });
    accessToken = tokens.access_token;
    refreshToken = tokens.refresh_token!;
    expect(refreshToken).toEqual(expect.any(String));
  });

  it('the code is single-use: a second exchange is refused and revokes what the first one gave', async () => {
    const started = await startSignIn(new URL(world.issuer), web().clientId, secretOf(web()), world.redirectUri);
    const run = await authorizeInBrowser(world, page, started.url);
    const first = await finishSignIn(started.config, run.callback, started.session);
    await expect(finishSignIn(started.config, run.callback, started.session)).rejects.toMatchObject(refused(CODE_UNUSABLE));
    // RFC 6749 section 4.1.2: "the authorization server ... SHOULD revoke (when possible) all tokens previously issued based on that authorization code."
    expect((await client.tokenIntrospection(started.config, first.tokens.access_token)).active).toBe(false);
    await expect(client.refreshTokenGrant(started.config, first.tokens.refresh_token!)).rejects.toMatchObject(refused(REFRESH_UNUSABLE));
  });

  it('refreshes: the refresh token from this flow rotates, and the new access token is the same person\'s', async () => {
    const refreshed = await client.refreshTokenGrant(config, refreshToken);
    expect(refreshed.refresh_token).toEqual(expect.any(String));
    expect(refreshed.refresh_token).not.toBe(refreshToken);
    // (Presenting the rotated-away one again would revoke the family: the existing rotation rules.)
    expect(await client.tokenIntrospection(config, refreshed.access_token)).toMatchObject({ active: true, sub: `user:${ALICE.name}`, client_id: web().clientId });
    accessToken = refreshed.access_token;
    refreshToken = refreshed.refresh_token!;
  });

  it('a remembered consent skips the consent page on the next sign-in', async () => {
    const started = await startSignIn(new URL(world.issuer), web().clientId, secretOf(web()), world.redirectUri);
    const run = await authorizeInBrowser(world, page, started.url);
    expect(run.consentPages).toBe(0);
    const { tokens } = await finishSignIn(started.config, run.callback, started.session);
    expect(tokens.claims()).toMatchObject({ sub: `user:${ALICE.name}`, nonce: started.session.nonce });
  });

  it('withdrawing the consent in "Authorized applications" ends the refresh token and the access token', async () => {
    expect(await client.tokenIntrospection(config, accessToken)).toMatchObject({ active: true });
    await page.goto(`${world.issuer}/portal`);
    await Promise.all([page.waitForURL((url) => url.pathname === '/portal/authorized'), page.getByRole('link', { name: 'Authorized applications' }).first().click()]);
    const listed = () => page.locator('main tbody tr').filter({ hasText: web().displayName });
    expect(await listed().count()).toBe(1);
    await Promise.all([page.waitForURL((url) => url.pathname === '/portal/authorized/web/withdraw'), listed().getByRole('link', { name: /withdraw/i }).click()]);
    // The confirmation page, as for the portal's other destructive actions.
    await Promise.all([page.waitForURL((url) => url.pathname === '/portal/authorized'), page.locator('main').getByRole('button', { name: 'Withdraw' }).click()]);
    await page.locator('main').waitFor();
    expect(await listed().count()).toBe(0);

    await expect(client.refreshTokenGrant(config, refreshToken)).rejects.toMatchObject(refused(REFRESH_UNUSABLE));
    expect(await client.tokenIntrospection(config, accessToken)).toEqual({ active: false });
  });

  it('after the withdrawal the consent page is shown again', async () => {
    const started = await startSignIn(new URL(world.issuer), web().clientId, secretOf(web()), world.redirectUri);
    const run = await authorizeInBrowser(world, page, started.url, 'Deny');
    expect(run.consentPages).toBe(1);
    // RFC 6749 section 4.1.2.1: the error comes back with state, and iss (RFC 9207); the library reads it.
    const denied = { error: 'access_denied', error_description: 'the user denied the request', state: started.session.state, iss: world.issuer };
    expect(Object.fromEntries(run.callback.searchParams)).toEqual(denied);
    await expect(finishSignIn(started.config, run.callback, started.session)).rejects.toMatchObject({ error: 'access_denied', error_description: denied.error_description });
  });
});

describe('the public SPA client with oauth4webapi: plain OAuth 2.0 and PKCE, no secret', () => {
  const insecure = { [oauth.allowInsecureRequests]: true } as const;
  const spa = () => world.clients.spa;

  it('signs in, consents, exchanges the code with the verifier alone, and refreshes', async () => {
    const issuer = new URL(world.issuer);
    const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { ...insecure, algorithm: 'oauth2' }));
    const spaClient: oauth.Client = { client_id: spa().clientId };
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const url = new URL(as.authorization_endpoint!);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: spa().clientId,
      redirect_uri: world.redirectUri,
      scope: `profile ${ORDERS_SCOPE.name}`,
      state,
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    }).toString();

    const run = await authorizeInBrowser(world, page, url);
    expect(run.consentPages).toBe(1);
    expect(run.consentText).toContain(spa().displayName);

    // The library checks state and iss (the metadata says iss is always sent).
    expect(() => oauth.validateAuthResponse(as, spaClient, run.callback, oauth.generateRandomState())).toThrow('unexpected "state" response parameter value');
    const forgedIss = new URL(run.callback);
    forgedIss.searchParams.set('iss', 'http://127.0.0.1:1');
    expect(() => oauth.validateAuthResponse(as, spaClient, forgedIss, state)).toThrow('unexpected "iss" (issuer) response parameter value');
    const params = oauth.validateAuthResponse(as, spaClient, run.callback, state);
    // A wrong verifier is refused (RFC 7636 section 4.6).
    const wrong = await oauth.authorizationCodeGrantRequest(as, spaClient, oauth.None(), params, world.redirectUri, oauth.generateRandomCodeVerifier(), insecure);
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toEqual({ error: 'invalid_grant', error_description: 'code_verifier does not match the code challenge' });

    const again = await authorizeInBrowser(world, page, url);
    expect(again.consentPages).toBe(0);
    const response = await oauth.authorizationCodeGrantRequest(as, spaClient, oauth.None(), oauth.validateAuthResponse(as, spaClient, again.callback, state), world.redirectUri, verifier, insecure);
    const tokens = await oauth.processAuthorizationCodeResponse(as, spaClient, response);
    expect(tokens.scope?.split(' ').sort()).toEqual([ORDERS_SCOPE.name, 'profile']);
    expect(tokens).not.toHaveProperty('id_token');

    const refreshed = await oauth.processRefreshTokenResponse(as, spaClient, await oauth.refreshTokenGrantRequest(as, spaClient, oauth.None(), tokens.refresh_token!, insecure));
    expect(refreshed.access_token).toEqual(expect.any(String));
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
  });
});

describe('a single-page app exchanges its code from its own page (CORS)', () => {
  it('reads the token and userinfo answers from its origin, and another origin reads nothing', async () => {
    const spa = world.clients.spa;
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const url = new URL(`${world.issuer}/oauth2/authorize`);
    url.search = new URLSearchParams({
      response_type: 'code', client_id: spa.clientId, redirect_uri: world.redirectUri, scope: 'openid profile', state,
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    }).toString();
    const run = await authorizeInBrowser(world, page, url);
    expect(run.callback.searchParams.get('state')).toBe(state);

    // The page at the redirect URI (another origin than the issuer's) does what an SPA does: fetch.
    const exchange = { token: `${world.issuer}/oauth2/token`, userinfo: `${world.issuer}/oauth2/userinfo`, body: new URLSearchParams({ grant_type: 'authorization_code', code: run.callback.searchParams.get('code')!, redirect_uri: world.redirectUri, client_id: spa.clientId, code_verifier: verifier }).toString() };
    const read = await page.evaluate(async ({ token, userinfo, body }) => {
      const answer = await fetch(token, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
      const tokens = (await answer.json()) as { access_token: string; token_type: string; refresh_token: string; id_token: string };
      // A bearer header makes this a preflighted request.
      const claims = await (await fetch(userinfo, { headers: { authorization: `Bearer ${tokens.access_token}` } })).json();
      return { status: answer.status, tokens, claims };
    }, exchange);
    expect(read.status).toBe(200);
    expect(read.tokens).toMatchObject({ token_type: 'Bearer', access_token: expect.any(String), refresh_token: expect.any(String), id_token: expect.any(String) });
    expect(read.claims).toEqual({ sub: `user:${ALICE.name}`, name: ALICE.displayName, preferred_username: ALICE.name });

    // http://localhost:<port> is another origin than the registered http://127.0.0.1:<port>: the
    // browser sends the request but keeps the answer from the page.
    await page.goto(world.redirectUri.replace('127.0.0.1', 'localhost').replace('/callback', '/elsewhere'));
    const elsewhere = await page.evaluate(async ({ token }) => {
      try {
        await fetch(token, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=refresh_token&refresh_token=x&client_id=spa-client-0001' });
        return 'read';
      } catch (error) {
        return String(error);
      }
    }, exchange);
    expect(elsewhere).toBe('TypeError: Failed to fetch');
  });
});

describe('a first-party app with `consent: skip`', () => {
  it('signs in without a consent page, in a browser that never consented to it', async () => {
    const fresh = await browser.newContext();
    try {
      const consolePage = await fresh.newPage();
      const app = world.clients.console;
      const started = await startSignIn(new URL(world.issuer), app.clientId, secretOf(app), world.redirectUri);
      const run = await authorizeInBrowser(world, consolePage, started.url);
      expect(run.consentPages).toBe(0);
      const { tokens, user } = await finishSignIn(started.config, run.callback, started.session);
      expect(tokens.claims()).toMatchObject({ aud: app.clientId, sub: `user:${ALICE.name}`, nonce: started.session.nonce });
      expect(user.sub).toBe(`user:${ALICE.name}`);
    } finally {
      await fresh.close();
    }
  });
  it('asks once mergekey.yaml no longer lists the app as first-party, though its last good manifest still says skip', async () => {
    await world.setFirstPartyApps([]);
    const fresh = await browser.newContext();
    try {
      const app = world.clients.console;
      const started = await startSignIn(new URL(world.issuer), app.clientId, secretOf(app), world.redirectUri);
      // Someone the app never signed in (the portal remembers a first-party sign-in as a consent).
      const run = await authorizeInBrowser(world, await fresh.newPage(), started.url, 'Allow', DINAH);
      expect(run.consentPages).toBe(1);
      expect(run.consentText).toContain(app.displayName);
    } finally {
      await fresh.close();
    }
  });
});

describe('the README', () => {
  it('shows examples/clients/sign-in.ts, the code these tests run, verbatim', () => {
    const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
    const example = readFileSync(fileURLToPath(new URL('../../examples/clients/sign-in.ts', import.meta.url)), 'utf8');
    const section = readme.slice(readme.indexOf('## Signing people in'));
    expect(section).toContain('```ts\n' + example.trimEnd() + '\n```');
  });
});
