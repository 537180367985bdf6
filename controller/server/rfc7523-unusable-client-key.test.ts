// RFC 7523 client authentication with a key the server cannot use, through `mergekey serve`.
// Validation refuses such keys now (controller/manifests/client-keys.ts), but a store written by
// an older controller may still hold one: the records here are written through the store API,
// as that controller wrote them. Whatever is wrong with the key, the token endpoint answers
// invalid_client (RFC 6749 section 5.2), never 500, and tells the operator at warn which
// application's key it is, without a stack trace.
import { createHash, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { CLIENT_KEY_ALGORITHMS } from '../manifests/client-keys.ts';
import { ASSERTION_ALGORITHMS, JWT_BEARER_ASSERTION_TYPE } from '../oauth/defaults.ts';
import { postForm } from '../../test/support/oauth-server.ts';
import type { ApplicationRecord } from '../store/records.ts';
import { handlesOf } from '../store/handles.ts';
import { BASE_FILES, jwtAppYaml } from '../../test/support/reconcile.ts';
import { startTestServer, TEST_ISSUER, type TestServer } from '../../test/support/server.ts';

const servers: TestServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.stop();
});

// Each case its own application: key sets are cached per application and commit, and the
// fixture repositories' first commits are alike.
let counter = 0;

/** A compact JWS signed with node:crypto, which (unlike jose) signs with any key size. */
function assertion(clientId: string, alg: 'RS256' | 'ES256' | 'EdDSA', key: KeyObject, kid: string): string {
  const now = Math.floor(Date.now() / 1000);
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${encode({ alg, kid, typ: 'JWT' })}.${encode({ iss: clientId, sub: clientId, aud: TEST_ISSUER, jti: randomUUID(), iat: now, exp: now + 60 })}`;
  const signature = alg === 'EdDSA'
    ? sign(null, Buffer.from(input), key)
    : sign('sha256', Buffer.from(input), alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key);
  return `${input}.${signature.toString('base64url')}`;
}

/**
 * An RS256 assertion "signed" for an RSA key whose exponent is 1, by nobody: with e = 1 the
 * signature is the padded message itself (RFC 8017 section 9.2, EMSA-PKCS1-v1_5).
 */
function forgedWithExponentOne(clientId: string, n: string, kid: string): string {
  const now = Math.floor(Date.now() / 1000);
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${encode({ alg: 'RS256', kid, typ: 'JWT' })}.${encode({ iss: clientId, sub: clientId, aud: TEST_ISSUER, jti: randomUUID(), iat: now, exp: now + 60 })}`;
  const digestInfo = Buffer.concat([Buffer.from('3031300d060960864801650304020105000420', 'hex'), createHash('sha256').update(input).digest()]);
  const length = Buffer.from(n, 'base64url').length;
  const encoded = Buffer.concat([Buffer.from([0, 1]), Buffer.alloc(length - digestInfo.length - 3, 0xff), Buffer.from([0]), digestInfo]);
  return `${input}.${encoded.toString('base64url')}`;
}

/** A server whose store holds `jwks` for the private_key_jwt application, as an older controller wrote it. */
async function serverWithStoredKeys(name: string, jwks: unknown): Promise<{ server: TestServer; token: (value: string) => ReturnType<typeof postForm> }> {
  const server = await startTestServer({ files: { ...BASE_FILES, [`apps/${name}.yaml`]: jwtAppYaml(name) } });
  servers.push(server);
  const { applications } = handlesOf(server.server.store);
  const record = applications.get(name)!;
  await applications.put(name, { ...record, jwks: jwks as ApplicationRecord['jwks'] });
  const url = `${server.server.url}/oauth2/token`;
  const token = (value: string) =>
    postForm(url, `grant_type=client_credentials&client_assertion_type=${encodeURIComponent(JWT_BEARER_ASSERTION_TYPE)}&client_assertion=${value}`);
  return { server, token };
}

const REFUSED = { status: 401, body: { error: 'invalid_client', error_description: 'client authentication failed' } };

/** The warn line naming the application, and proof that nothing was logged as an error. */
function keyWarnings(server: TestServer, name: string): Record<string, unknown>[] {
  const lines = server.logs.map((line) => JSON.parse(line) as Record<string, unknown>);
  expect(lines.filter((line) => Number(line.level) >= 50)).toEqual([]);
  return lines.filter((line) => line.level === 40 && line.app === name);
}

describe('RFC 7523: a client key the server cannot use is invalid_client, not a server error', () => {
  const cases: [string, (clientId: string) => { jwks: unknown; value: string }][] = [
    ['a 1024-bit RSA key (RFC 7518 section 3.3 asks 2048)', (clientId) => {
      const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
      return { jwks: { keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'weak', alg: 'RS256' }] }, value: assertion(clientId, 'RS256', privateKey, 'weak') };
    }],
    ['an EC key whose point is not on P-256', (clientId) => {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const off = { kty: 'EC', crv: 'P-256', x: 'A'.repeat(43), y: 'A'.repeat(43), kid: 'off' };
      return { jwks: { keys: [off] }, value: assertion(clientId, 'ES256', privateKey, 'off') };
    }],
    ['an Ed25519 key of the wrong length', (clientId) => {
      const { privateKey } = generateKeyPairSync('ed25519');
      return { jwks: { keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'AAAA', kid: 'short' }] }, value: assertion(clientId, 'EdDSA', privateKey, 'short') };
    }],
    ['an RSA key with public exponent 1, with which anyone can forge the client\'s signature', (clientId) => {
      const { n } = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' });
      return { jwks: { keys: [{ kty: 'RSA', n: n!, e: 'AQ', kid: 'e1' }] }, value: forgedWithExponentOne(clientId, n!, 'e1') };
    }],
    ['a private key where the public one belongs', (clientId) => {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      return { jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'private', alg: 'ES256' }] }, value: assertion(clientId, 'ES256', privateKey, 'private') };
    }],
    ['a key set that is not a JWKS', (clientId) => {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      return { jwks: { keys: 'none' }, value: assertion(clientId, 'ES256', privateKey, 'any') };
    }],
  ];

  it.each(cases)('%s', { timeout: 30_000 }, async (_title, make) => {
    const name = `signer-${++counter}`;
    const { jwks, value } = make(`${name}-client-0001`);
    const { server, token } = await serverWithStoredKeys(name, jwks);
    const response = await token(value);
    expect({ status: response.status, body: response.body }).toEqual(REFUSED);
    const warnings = keyWarnings(server, name);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      app: name,
      msg: 'a client key of this application cannot be used; its private_key_jwt authentication fails until the manifest lists a usable key',
    });
    expect(warnings[0]).not.toHaveProperty('err');
    expect(JSON.stringify(warnings[0])).not.toMatch(/\n\s+at /);
  });

  it('validation accepts exactly the algorithms the token endpoint verifies', () => {
    expect(Object.values(CLIENT_KEY_ALGORITHMS).flat().sort()).toEqual([...ASSERTION_ALGORITHMS].sort());
  });
});
