// Cases from a black-box campaign against `mergekey serve` that the server already answered
// right, kept so that they stay right: each gets an RFC error (or the RFC's silent answer), never
// a token, a 500, or a change to another client's tokens. The cases that found defects live with
// the code they fixed (rfc6749-token, app-tokens, server/rfc9112-message-hygiene).
import { base64url } from 'jose';
import { randomUUID } from 'node:crypto';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuthorization } from './basic.ts';
import { JWT_BEARER_ASSERTION_TYPE } from './defaults.ts';
import { authOf, insecure, postForm, send, startTestServer, type RawResponse, type TestClient, type TestServer } from '../../test/support/oauth-server.ts';

let s: TestServer;
let owner: TestClient;
let other: TestClient;
let signer: TestClient;
beforeAll(async () => {
  // Failures are throttled per client id and address; the cases here must not trip it.
  s = await startTestServer({ clientAuthFailuresPerMinute: 1000 });
  owner = await s.addApp('owner', { scopes: ['open', 'orders:read', 'orders:write'] });
  other = await s.addApp('other');
  signer = await s.addApp('signer', { tokenEndpointAuthMethod: 'private_key_jwt' });
});
afterAll(() => s.close());

const basic = (app: TestClient) => ({ authorization: basicAuthorization(app.client.client_id, app.secret!) });
const token = async (app: TestClient) => (await oauth.processClientCredentialsResponse(s.as, app.client,
  await oauth.clientCredentialsGrantRequest(s.as, app.client, authOf(app), {}, insecure))).access_token;
const active = async (app: TestClient, value: string) => (await postForm(s.url('/oauth2/introspect'), `token=${value}`, basic(app))).body;
const answer = ({ status, body }: RawResponse) => ({ status, body });

describe('the scope parameter (RFC 6749 section 3.3: scope-token, one space between)', () => {
  const malformed = { status: 400, body: { error: 'invalid_scope', error_description: 'the scope parameter is malformed' } };
  const notHeld = { status: 400, body: { error: 'invalid_scope', error_description: 'a requested scope is not one this client may have' } };
  const cases: [string, string, unknown][] = [
    ['a tab between scopes', 'orders:read%09orders:write', malformed],
    ['a leading space', '+orders:read', malformed],
    ['a trailing space', 'orders:read+', malformed],
    ['only a space', '+', malformed],
    ['a NUL byte', 'orders:read%00', malformed],
    ['a quote (excluded by scope-token)', 'orders%22read', malformed],
    ['another case: scopes are case-sensitive', 'ORDERS:READ', notHeld],
    ['a scope no Api publishes', 'admin', notHeld],
    ['a scope another Api publishes', 'billing:read', notHeld],
    ['a very long scope', 'a'.repeat(12_000), notHeld],
  ];
  it.each(cases)('%s', async (_what, scope, expected) => {
    expect(answer(await postForm(s.url('/oauth2/token'), `grant_type=client_credentials&scope=${scope}`, basic(owner)))).toEqual(expected);
  });

  it('a repeated scope is granted once', async () => {
    const response = await postForm(s.url('/oauth2/token'), 'grant_type=client_credentials&scope=orders:read+orders:read', basic(owner));
    expect([response.status, (response.body as { scope: string }).scope]).toEqual([200, 'orders:read']);
  });
});

describe('client assertions: header parameters that try to change how the JWS is read (RFC 7515 section 4.1.11)', () => {
  const present = async (header: Record<string, unknown>) => {
    const claims = { iss: signer.client.client_id, sub: signer.client.client_id, aud: s.issuer, jti: randomUUID(), exp: Math.floor(s.now() / 1000) + 60 };
    // Signed by hand (ES256 is ECDSA P-256 with the raw r||s signature WebCrypto makes): jose
    // refuses to make a JWS with a critical parameter it does not know.
    const signingInput = `${base64url.encode(JSON.stringify({ alg: 'ES256', kid: signer.kid, ...header }))}.${base64url.encode(JSON.stringify(claims))}`;
    const signature = base64url.encode(new Uint8Array(
      await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, signer.privateKey!, new TextEncoder().encode(signingInput))));
    return answer(await postForm(s.url('/oauth2/token'),
      `grant_type=client_credentials&client_assertion_type=${encodeURIComponent(JWT_BEARER_ASSERTION_TYPE)}&client_assertion=${signingInput}.${signature}`));
  };
  const refused = { status: 401, body: { error: 'invalid_client', error_description: 'client authentication failed' } };
  // "If any of the listed extension Header Parameters are not understood and supported by the
  // recipient, then the JWS is invalid."
  it('a plain header is accepted (the signing here is right)', async () => {
    expect((await present({})).status).toBe(200);
  });
  it.each([
    ['an unknown critical parameter', { crit: ['urn:example:must-understand'], 'urn:example:must-understand': true }],
    ['an unencoded payload (RFC 7797) as critical', { crit: ['b64'], b64: false }],
    ['an empty crit list', { crit: [] }],
  ])('%s is refused', async (_what, header) => {
    expect(await present(header)).toEqual(refused);
  });
});

describe('the token listing routes: ids and names that point elsewhere', () => {
  it('finds no other application\'s token under its own name, whatever the id says, and leaves that token live', async () => {
    const theirs = await token(other);
    await s.settle();
    const listed = (await send('GET', s.url(`/api/v1/apps/${other.name}/tokens`), { headers: basic(other) })).body as { tokens: { id: string }[] };
    const id = listed.tokens[0]!.id;
    const notFound = { status: 404, body: { error: 'not_found', error_description: 'no live token with this id for this application' } };
    for (const path of [id, encodeURIComponent(`../../${other.name}/tokens/${id}`), encodeURIComponent(`${id}/../${id}`)]) {
      expect(answer(await send('DELETE', s.url(`/api/v1/apps/${owner.name}/tokens/${path}`), { headers: basic(owner) }))).toEqual(notFound);
    }
    expect(await active(other, theirs)).toMatchObject({ active: true });
    // Another application's name, spelled differently, is still another application.
    for (const name of [other.name, encodeURIComponent(`../${other.name}`), other.name.toUpperCase()]) {
      expect(answer(await send('GET', s.url(`/api/v1/apps/${name}/tokens`), { headers: basic(owner) }))).toEqual({
        status: 403, body: { error: 'access_denied', error_description: 'these credentials belong to another application' },
      });
    }
  });
});

describe('introspection and revocation across clients (RFC 7009 section 2.1, RFC 7662 section 2.1)', () => {
  it('a client revoking another client\'s token gets 200 and the token stays live, whatever the hint', async () => {
    const theirs = await token(other);
    for (const hint of ['', '&token_type_hint=access_token', '&token_type_hint=refresh_token', '&token_type_hint=id_token']) {
      expect(answer(await postForm(s.url('/oauth2/revoke'), `token=${theirs}${hint}`, basic(owner)))).toEqual({ status: 200, body: undefined });
      expect(await active(owner, theirs)).toEqual({ active: false });
    }
    expect(await active(other, theirs)).toMatchObject({ active: true, client_id: other.client.client_id });
  });
});
