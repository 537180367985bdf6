// RFC 7523 client authentication with private_key_jwt: what is accepted, and every way an
// assertion can be forged, replayed or stretched.
import { KeyObject, randomUUID, sign as cryptoSign } from 'node:crypto';
import { base64url, exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWTHeaderParameters } from 'jose';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuthorization } from './basic.ts';
import { JWT_BEARER_ASSERTION_TYPE } from './defaults.ts';
import { authOf, insecure, postForm, startTestServer, type RawResponse, type TestClient, type TestServer } from '../../test/support/oauth-server.ts';

let s: TestServer;
let tokenUrl: string;
let counter = 0;
const fresh = () => s.addApp(`signed-${++counter}`, { tokenEndpointAuthMethod: 'private_key_jwt' });

beforeAll(async () => {
  s = await startTestServer();
  tokenUrl = s.url('/oauth2/token');
});
afterAll(() => s.close());

interface Options {
  claims?: Record<string, unknown>;
  header?: Partial<JWTHeaderParameters>;
  key?: CryptoKey | Uint8Array;
}

/** An assertion for `app`: valid unless the options say otherwise. */
function assertion(app: TestClient, { claims = {}, header = {}, key = app.privateKey! }: Options = {}): Promise<string> {
  const now = Math.floor(s.now() / 1000);
  const payload = { iss: app.client.client_id, sub: app.client.client_id, aud: s.issuer, jti: randomUUID(), iat: now, exp: now + 60, ...claims };
  for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name as keyof typeof payload];
  return new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: app.kid!, ...header }).sign(key);
}

const present = (value: string, extra = '', headers: Record<string, string> = {}): Promise<RawResponse> =>
  postForm(tokenUrl, `grant_type=client_credentials&client_assertion_type=${encodeURIComponent(JWT_BEARER_ASSERTION_TYPE)}&client_assertion=${value}${extra}`, headers);

const refused = (description = 'client authentication failed') => ({ status: 401, body: { error: 'invalid_client', error_description: description } });

describe('private_key_jwt', () => {
  it('authenticates a client whose assertion oauth4webapi signs with its registered key', async () => {
    const app = await fresh();
    const response = await oauth.clientCredentialsGrantRequest(s.as, app.client, authOf(app), {}, insecure);
    expect((await oauth.processClientCredentialsResponse(s.as, app.client, response)).token_type).toBe('bearer');
  });

  it('draft-ietf-oauth-rfc7523bis: accepts only the issuer identifier as aud, as a single string', async () => {
    const app = await fresh();
    const audience = refused('the client assertion\'s aud must be the issuer identifier, as a single string');
    expect((await present(await assertion(app, { claims: { aud: s.issuer } }))).status).toBe(200);
    // CVE-2025-27370/27371: an array with the issuer and another audience could be replayed at the other.
    expect(await present(await assertion(app, { claims: { aud: [s.issuer, 'https://evil.example'] } }))).toEqual(expect.objectContaining(audience));
    expect(await present(await assertion(app, { claims: { aud: [s.issuer] } }))).toEqual(expect.objectContaining(audience));
    // "the token endpoint URL of the authorization server MUST NOT be used as an audience value"
    expect(await present(await assertion(app, { claims: { aud: tokenUrl } }))).toEqual(expect.objectContaining(audience));
    expect(await present(await assertion(app, { claims: { aud: `${s.issuer}/` } }))).toEqual(expect.objectContaining(audience));
    expect(await present(await assertion(app, { claims: { aud: 'https://elsewhere.test' } }))).toEqual(expect.objectContaining(audience));
    expect(await present(await assertion(app, { claims: { aud: undefined } }))).toEqual(expect.objectContaining(audience));
  });

  it('refuses an assertion issued in the future beyond the clock skew, or not valid yet', async () => {
    const app = await fresh();
    const now = Math.floor(s.now() / 1000);
    expect(await present(await assertion(app, { claims: { iat: now + 31, exp: now + 120 } })))
      .toEqual(expect.objectContaining(refused('the client assertion is issued in the future')));
    expect(await present(await assertion(app, { claims: { iat: now + 3600, exp: now + 120 } })))
      .toEqual(expect.objectContaining(refused('the client assertion is issued in the future')));
    // Within the 30 s skew allowed: a client whose clock runs a little fast still gets in.
    expect((await present(await assertion(app, { claims: { iat: now + 20, exp: now + 120 } }))).status).toBe(200);
    expect(await present(await assertion(app, { claims: { nbf: now + 120, exp: now + 180 } }))).toEqual(expect.objectContaining(refused()));
    expect(await present(await assertion(app, { claims: { iat: 'yesterday' } }))).toEqual(expect.objectContaining(refused()));
  });

  it('refuses a JWT typed for something else (an access token, a DPoP proof), and takes the explicit client-authentication type', async () => {
    const app = await fresh();
    for (const typ of ['at+jwt', 'application/at+jwt', 'dpop+jwt', 'JOSE', 'secevent+jwt']) {
      expect(await present(await assertion(app, { header: { typ } }))).toEqual(expect.objectContaining(refused()));
    }
    for (const typ of ['JWT', 'client-authentication+jwt', 'application/client-authentication+jwt']) {
      expect((await present(await assertion(app, { header: { typ } }))).status).toBe(200);
    }
  });

  it('RFC 7519 section 4: refuses an assertion that repeats a claim or header parameter', async () => {
    const app = await fresh();
    const now = Math.floor(s.now() / 1000);
    const id = app.client.client_id;
    // Signed by hand: a JOSE library would not write a repeated name.
    const sign = (header: string, payload: string) => {
      const input = `${base64url.encode(header)}.${base64url.encode(payload)}`;
      const signature = cryptoSign('sha256', Buffer.from(input), { key: KeyObject.from(app.privateKey!), dsaEncoding: 'ieee-p1363' });
      return `${input}.${base64url.encode(signature)}`;
    };
    const claims = () => `"iss":"${id}","sub":"${id}","aud":"${s.issuer}","jti":"${randomUUID()}","exp":${now + 60}`;
    expect(await present(sign(`{"alg":"ES256","kid":"${app.kid!}","alg":"ES256"}`, `{${claims()}}`)))
      .toEqual(expect.objectContaining(refused('the client assertion repeats a claim or header parameter')));
    // A payload whose last `aud` is the issuer and whose first is another server: parsers that
    // keep the first and those that keep the last would disagree.
    const repeatedAud = `{"iss":"${id}","sub":"${id}","aud":"https://evil.example","aud":"${s.issuer}","jti":"${randomUUID()}","exp":${now + 60}}`;
    expect(await present(sign(`{"alg":"ES256","kid":"${app.kid!}"}`, repeatedAud)))
      .toEqual(expect.objectContaining(refused('the client assertion repeats a claim or header parameter')));
    const repeatedEscaped = `{"iss":"${id}","sub":"${id}","aud":"${s.issuer}","jti":"${randomUUID()}","exp":${now + 60},"\\u006a\\u0074\\u0069":"other"}`;
    expect(await present(sign(`{"alg":"ES256","kid":"${app.kid!}"}`, repeatedEscaped)))
      .toEqual(expect.objectContaining(refused('the client assertion repeats a claim or header parameter')));
    // The same names in nested objects, or inside strings, are no repeat.
    const nested = `{"iss":"${id}","sub":"${id}","aud":"${s.issuer}","jti":"${randomUUID()}","exp":${now + 60},"x":{"aud":"a","y":[{"aud":1},{"aud":2}]},"z":"\\"aud\\":"}`;
    expect((await present(sign(`{"alg":"ES256","kid":"${app.kid!}"}`, nested))).status).toBe(200);
  });

  it('requires iss and sub to be the client id', async () => {
    const [app, other] = [await fresh(), await fresh()];
    expect(await present(await assertion(app, { claims: { sub: other.client.client_id } }))).toMatchObject(refused());
    expect(await present(await assertion(app, { claims: { iss: other.client.client_id } }))).toMatchObject(refused());
  });

  it('requires exp and jti, and refuses an expired assertion or one that lives too long', async () => {
    const app = await fresh();
    const now = Math.floor(s.now() / 1000);
    expect(await present(await assertion(app, { claims: { exp: undefined } }))).toMatchObject(refused());
    expect(await present(await assertion(app, { claims: { jti: undefined } }))).toMatchObject(refused());
    expect(await present(await assertion(app, { claims: { iat: now - 600, exp: now - 120 } }))).toMatchObject(refused());
    expect(await present(await assertion(app, { claims: { exp: now + 600 } })))
      .toMatchObject(refused('the client assertion expires too far in the future'));
  });

  it('accepts an assertion once', async () => {
    const app = await fresh();
    const once = await assertion(app);
    expect((await present(once)).status).toBe(200);
    expect(await present(once)).toMatchObject(refused('the client assertion was already used'));
  });

  it('accepts exactly one of 10 copies of an assertion presented at once', async () => {
    const app = await fresh();
    const once = await assertion(app);
    const statuses = (await Promise.all(Array.from({ length: 10 }, () => present(once)))).map((response) => response.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(1);
    expect(statuses.filter((status) => status === 401)).toHaveLength(9);
  });

  it('still refuses a used assertion after a restart, until it expires', async () => {
    const own = await startTestServer();
    try {
      const app = await own.addApp('signed', { tokenEndpointAuthMethod: 'private_key_jwt' });
      const now = Math.floor(own.now() / 1000);
      const value = await new SignJWT({ iss: app.client.client_id, sub: app.client.client_id, aud: own.issuer, jti: 'only-once', exp: now + 60 })
        .setProtectedHeader({ alg: 'ES256', kid: app.kid! }).sign(app.privateKey!);
      const body = `grant_type=client_credentials&client_assertion_type=${encodeURIComponent(JWT_BEARER_ASSERTION_TYPE)}&client_assertion=${value}`;
      expect((await postForm(own.url('/oauth2/token'), body)).status).toBe(200);
      await own.restart();
      expect(await postForm(own.url('/oauth2/token'), body)).toMatchObject(refused('the client assertion was already used'));
    } finally {
      await own.close();
    }
  });
});

describe('forged assertions', () => {
  it('refuses alg none', async () => {
    const app = await fresh();
    const now = Math.floor(s.now() / 1000);
    const encode = (value: object) => base64url.encode(JSON.stringify(value));
    const unsigned = `${encode({ alg: 'none' })}.${encode({ iss: app.client.client_id, sub: app.client.client_id, aud: s.issuer, jti: randomUUID(), exp: now + 60 })}.`;
    expect(await present(unsigned)).toMatchObject(refused());
  });

  it('refuses HS256 keyed with the client\'s public key', async () => {
    const app = await fresh();
    const jwk = JSON.stringify((await s.raw.applications.get(app.name))!.jwks!.keys[0]);
    const { publicKey } = await generateKeyPair('ES256', { extractable: true });
    for (const secret of [new TextEncoder().encode(jwk), new TextEncoder().encode(await exportSPKI(publicKey))]) {
      expect(await present(await assertion(app, { header: { alg: 'HS256' }, key: secret }))).toMatchObject(refused());
    }
  });

  it('never takes a key from the assertion\'s own header (jwk, jku, x5u)', async () => {
    const app = await fresh();
    const attacker = await generateKeyPair('ES256', { extractable: true });
    const attackerJwk = await exportJWK(attacker.publicKey);
    for (const header of [
      { jwk: attackerJwk },
      { jwk: attackerJwk, kid: undefined },
      { jku: 'https://attacker.test/jwks.json' },
      { x5u: 'https://attacker.test/cert.pem' },
    ] as Partial<JWTHeaderParameters>[]) {
      expect(await present(await assertion(app, { header, key: attacker.privateKey }))).toMatchObject(refused());
    }
  });

  it('refuses an assertion signed with another client\'s key', async () => {
    const [app, other] = [await fresh(), await fresh()];
    expect(await present(await assertion(app, { key: other.privateKey!, header: { kid: other.kid! } }))).toMatchObject(refused());
  });

  it('refuses a wrong assertion type, and an assertion alongside another method', async () => {
    const app = await fresh();
    const value = await assertion(app);
    expect(await postForm(tokenUrl, `grant_type=client_credentials&client_assertion_type=urn:example:other&client_assertion=${value}`))
      .toMatchObject({ status: 400, body: { error: 'invalid_request', error_description: `client_assertion_type must be ${JWT_BEARER_ASSERTION_TYPE}` } });
    expect(await present(value, '', { authorization: basicAuthorization(app.client.client_id, 'x') }))
      .toMatchObject({ status: 400, body: { error: 'invalid_request', error_description: 'the request uses more than one client authentication method' } });
  });

  it('refuses a malformed assertion and a client id that is not the assertion\'s', async () => {
    const [app, other] = [await fresh(), await fresh()];
    expect(await present('not.a.jwt')).toMatchObject(refused());
    expect(await present(await assertion(app), `&client_id=${other.client.client_id}`)).toMatchObject(refused());
  });

  it('keeps methods apart: no secret for a private_key_jwt client, no assertion for a secret client', async () => {
    const signed = await fresh();
    expect(await postForm(tokenUrl, 'grant_type=client_credentials', { authorization: basicAuthorization(signed.client.client_id, 'anything') }))
      .toMatchObject(refused());
    const secretApp = await s.addApp(`secret-${++counter}`);
    expect(await present(await assertion({ ...secretApp, privateKey: signed.privateKey!, kid: signed.kid! })))
      .toMatchObject(refused());
  });
});
