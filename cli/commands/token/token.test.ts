// `mergekey token get|list|revoke` against a real controller, with the application's credentials
// found in a credentials file under the issuer the controller announces.
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt, exportJWK, exportPKCS8, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, TEST_ISSUER, type TestServer } from '../../../test/support/server.ts';
import { saveCredential } from '../../credentials.ts';
import { CliError } from '../../errors.ts';
import { main } from '../../main.ts';
import { tokenGet } from './get.ts';
import { formatTokenList, tokenList } from './list.ts';
import { tokenRevoke } from './revoke.ts';

let t: TestServer;
let dir: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  t = await startTestServer();
  dir = mkdtempSync(join(tmpdir(), 'mergekey-token-cli-'));
  env = { MERGEKEY_CREDENTIALS: join(dir, 'credentials.json') };
  const createdAt = new Date().toISOString();
  saveCredential(env.MERGEKEY_CREDENTIALS!, TEST_ISSUER, 'billing', { clientId: 'billing-client-0001', clientSecret: t.plaintexts[0]!, createdAt }, env);
  saveCredential(env.MERGEKEY_CREDENTIALS!, 'https://other.example.com', 'reports', { clientId: 'reports-client-0001', clientSecret: 'x', createdAt }, env);
});

afterAll(async () => {
  await t.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The real executable, as a user runs it, with `input` on its stdin. */
function cli(args: string[], input: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const bin = new URL('../../bin/mergekey.js', import.meta.url).pathname;
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [bin, ...args], { env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr });
    });
    child.stdin!.end(input);
  });
}

describe('mergekey token get --grant refresh_token (RFC 6749 section 10.4: refresh tokens kept confidential)', () => {
  it('reads the refresh token from stdin, not from argv where every local user can read it', async () => {
    const run = await cli(['token', 'get', 'billing', '--server', t.server.url, '--grant', 'refresh_token'], 'rt_not-a-live-token\n');
    // It reached the token endpoint, which refuses this grant to billing (registered for client_credentials only).
    expect(run).toEqual({ code: 1, stdout: '', stderr: 'mergekey: the token endpoint refused (400 unauthorized_client: this client may not use the refresh_token grant)\n' });
  });

  it('refuses a refresh token given as a flag before asking anything', async () => {
    const run = await cli(['token', 'get', 'billing', '--server', 'http://127.0.0.1:9', '--grant', 'refresh_token', '--refresh-token', 'rt_secret'], '');
    expect(run).toEqual({ code: 2, stdout: '', stderr: "mergekey: unknown option '--refresh-token'\nRun 'mergekey token get --help' for its arguments and options.\n" });
  });
});

async function failureOf(promise: Promise<unknown>): Promise<CliError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  if (!(error instanceof CliError)) throw new Error(`expected a CliError, got ${String(error)}`);
  return error;
}

describe('mergekey token', () => {
  it('gets a token with the saved credentials, lists it masked, and revokes it by its masked id', async () => {
    const server = t.server.url;
    const got = await tokenGet({ app: 'billing', server, grant: 'client_credentials', env });
    expect(got).toMatchObject({ issuer: TEST_ISSUER, token_type: 'Bearer', expires_in: 900, scope: 'open' });
    const jti = decodeJwt(got.access_token).jti!;

    const listed = await tokenList({ app: 'billing', server, env });
    const mine = listed.tokens.find((token) => token.id === `at_${jti}`)!;
    expect(mine).toMatchObject({ type: 'access_token', subject: 'client:billing-client-0001', scope: 'open' });
    expect(formatTokenList(listed)).toContain(mine.masked);
    expect(formatTokenList(listed)).not.toContain(jti);

    expect(await tokenRevoke({ app: 'billing', token: mine.masked, server, env })).toEqual({ app: 'billing', id: `at_${jti}` });
    expect((await tokenList({ app: 'billing', server, env })).tokens.map((token) => token.id)).not.toContain(`at_${jti}`);
    const again = await failureOf(tokenRevoke({ app: 'billing', token: `at_${jti}`, server, env }));
    expect(again.message).toBe(`billing holds no live token at_${jti} (expired, revoked already, or never issued)`);
  });

  it('prints only the access token with --format token, for $(…)', async () => {
    const out: string[] = [];
    const previous = process.env.MERGEKEY_CREDENTIALS;
    process.env.MERGEKEY_CREDENTIALS = env.MERGEKEY_CREDENTIALS;
    try {
      const code = await main(['token', 'get', 'billing', '--server', t.server.url, '--format', 'token'], { stdout: (s) => out.push(s), stderr: (s) => out.push(s) });
      expect(code).toBe(0);
    } finally {
      if (previous === undefined) delete process.env.MERGEKEY_CREDENTIALS;
      else process.env.MERGEKEY_CREDENTIALS = previous;
    }
    expect(out.join('')).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+\n$/);
  });

  it('says how to get credentials it does not have, and where they are saved for another controller', async () => {
    const missing = await failureOf(tokenGet({ app: 'payroll', server: t.server.url, grant: 'client_credentials', env }));
    expect(missing.message).toBe(`no credentials saved for application payroll of ${TEST_ISSUER} in ${env.MERGEKEY_CREDENTIALS}`);
    expect(missing.hint).toMatch(/`mergekey app new` saves a new application's secret on the machine that created it/);

    const elsewhere = await failureOf(tokenList({ app: 'reports', server: t.server.url, env }));
    expect(elsewhere.hint).toBe('They are saved for https://other.example.com: is --server (or MERGEKEY_SERVER) the controller you meant?');
  });

  it('reports a refused secret with the RFC 6749 error and what to check', async () => {
    const wrong = { MERGEKEY_CREDENTIALS: join(dir, 'wrong.json') };
    saveCredential(wrong.MERGEKEY_CREDENTIALS, TEST_ISSUER, 'billing', { clientId: 'billing-client-0001', clientSecret: 'not-the-secret', createdAt: new Date().toISOString() }, wrong);
    const refused = await failureOf(tokenGet({ app: 'billing', server: t.server.url, grant: 'client_credentials', env: wrong }));
    expect(refused.message).toMatch(/^the token endpoint refused \(401 invalid_client: /);
    expect(refused.hint).toContain('--auth-method');

    // A scope the controller knows but billing does not hold.
    const scope = await failureOf(tokenGet({ app: 'billing', server: t.server.url, grant: 'client_credentials', scope: 'openid', env }));
    expect(scope.message).toMatch(/^the token endpoint refused \(400 invalid_scope/);
  });

  it('refuses a scope the controller does not know, with the closest one it knows (its metadata\'s scopes_supported)', async () => {
    await t.commit({
      'apis/catalog.yaml':
        'apiVersion: mergekey/v1\nkind: Api\nmetadata:\n  name: catalog\nspec:\n  description: The catalog.\n' +
        '  audience: https://catalog.example.test\n  scopes:\n    - name: catalog:read\n      description: Read it.\n    - name: catalog:write\n      description: Change it.\n',
    });
    expect((await fetch(`${t.server.adminUrl}/api/v1/sync?wait=true`, { method: 'POST' })).status).toBe(200);
    const typo = await failureOf(tokenGet({ app: 'billing', server: t.server.url, grant: 'client_credentials', scope: 'open catalogs:write', env }));
    expect([typo.code, typo.message, typo.hint]).toEqual([
      'USAGE',
      "option '--scope': unknown scope 'catalogs:write'",
      "Did you mean 'catalog:write'? Known scopes: open, openid, profile, email, catalog:read, catalog:write.",
    ]);
    const far = await failureOf(tokenGet({ app: 'billing', server: t.server.url, grant: 'client_credentials', scope: 'payroll', env }));
    expect(far.hint).toBe('Known scopes: open, openid, profile, email, catalog:read, catalog:write.');
  });

  it('refuses options that do not go with the grant before asking anything', async () => {
    const server = 'http://127.0.0.1:9';
    expect((await failureOf(tokenGet({ app: 'billing', server, grant: 'password', env }))).message).toBe('--grant password needs --username');
    expect((await failureOf(tokenGet({ app: 'billing', server, grant: 'client_credentials', refreshToken: 'r', env }))).message).toBe(
      'a refresh token goes with --grant refresh_token',
    );
    expect((await failureOf(tokenGet({ app: 'billing', server: 'ftp://x', grant: 'client_credentials', env }))).code).toBe('USAGE');
  });

  it('gets a token for a private_key_jwt application with a client assertion signed by its private key', async () => {
    const server = t.server.url;
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    const publicJwk = { ...(await exportJWK(publicKey)), kid: 'signer-1', alg: 'ES256', use: 'sig' };
    // It also holds an Api's scope: the token the listing commands get must still be the one
    // meant for the controller (scope open alone), not one for the Api.
    await t.commit({
      'apis/reports.yaml':
        'apiVersion: mergekey/v1\nkind: Api\nmetadata:\n  name: reports\nspec:\n  description: Reports.\n' +
        '  audience: https://reports.example.test\n  scopes:\n    - name: reports:read\n      description: Read reports.\n',
      'apps/signer.yaml':
        'apiVersion: mergekey/v1\nkind: Application\nmetadata:\n  name: signer\nspec:\n  description: Signs its assertions.\n  owners: [alice]\n' +
        `  clientId: signer-client-0001\n  scopes: [open, reports:read]\n  tokenEndpointAuthMethod: private_key_jwt\n  credentials:\n    jwks: ${JSON.stringify({ keys: [publicJwk] })}\n`,
    });
    expect((await fetch(`${t.server.adminUrl}/api/v1/sync?wait=true`, { method: 'POST' })).status).toBe(200);
    // `mergekey app new --auth-method private_key_jwt` saves the client id and no secret.
    saveCredential(env.MERGEKEY_CREDENTIALS!, TEST_ISSUER, 'signer', { clientId: 'signer-client-0001', createdAt: new Date().toISOString() }, env);
    const jwkFile = join(dir, 'signer.private.jwk.json');
    writeFileSync(jwkFile, JSON.stringify({ ...(await exportJWK(privateKey)), kid: 'signer-1', alg: 'ES256' }), { mode: 0o600 });
    const pemFile = join(dir, 'signer.private.pem');
    writeFileSync(pemFile, await exportPKCS8(privateKey), { mode: 0o600 });

    // A JWK names its key; a PEM file does not, and the manifest's one key is used.
    for (const file of [jwkFile, pemFile]) {
      const got = await tokenGet({ app: 'signer', server, grant: 'client_credentials', privateKey: file, env });
      expect(decodeJwt(got.access_token)).toMatchObject({ sub: 'client:signer-client-0001', client_id: 'signer-client-0001', iss: TEST_ISSUER });
    }

    const withoutKey = await failureOf(tokenList({ app: 'signer', server, env }));
    expect(withoutKey.message).toBe('application signer has no client secret (it authenticates with private_key_jwt)');
    expect(withoutKey.hint).toContain('--private-key FILE');

    // Listing and revoking get a token with the key first, and list that one too.
    const listed = await tokenList({ app: 'signer', server, privateKey: jwkFile, env });
    expect(listed.tokens.filter((token) => token.type === 'access_token')).toHaveLength(3);
    const victim = listed.tokens[0]!;
    expect(await tokenRevoke({ app: 'signer', token: victim.masked, server, privateKey: pemFile, env })).toEqual({ app: 'signer', id: victim.id });
    const after = await tokenList({ app: 'signer', server, privateKey: jwkFile, env });
    expect(after.tokens.map((token) => token.id)).not.toContain(victim.id);

    const other = join(dir, 'other.private.pem');
    writeFileSync(other, await exportPKCS8((await generateKeyPair('ES256', { extractable: true })).privateKey), { mode: 0o600 });
    const refused = await failureOf(tokenGet({ app: 'signer', server, grant: 'client_credentials', privateKey: other, env }));
    expect(refused.message).toMatch(/^the token endpoint refused \(401 invalid_client/);
    expect(refused.hint).toContain(`signed with ${other}`);
  });

  it('refuses a private key file it cannot use before asking anything', async () => {
    const server = 'http://127.0.0.1:9';
    const get = (privateKey: string) => failureOf(tokenGet({ app: 'signer', server, grant: 'client_credentials', privateKey, env }));
    const publicOnly = join(dir, 'public.jwk.json');
    writeFileSync(publicOnly, JSON.stringify(await exportJWK((await generateKeyPair('ES256')).publicKey)));
    expect((await get(publicOnly)).message).toBe(`${publicOnly} holds a public key; --private-key needs the private one (a JWK with "d")`);
    const p384 = join(dir, 'p384.pem');
    writeFileSync(p384, await exportPKCS8((await generateKeyPair('ES384', { extractable: true })).privateKey), { mode: 0o600 });
    expect((await get(p384)).message).toMatch(/holds an EC key on secp384r1, which cannot sign a client assertion here/);
    const garbage = join(dir, 'garbage.pem');
    writeFileSync(garbage, 'not a key\n');
    expect((await get(garbage)).message).toMatch(/is neither a JWK nor a PEM private key/);
    expect((await get(join(dir, 'missing.pem'))).message).toMatch(/^cannot read the private key .*missing\.pem: ENOENT$/);
    // A private key others can read is refused, as ssh refuses one (and nothing is sent).
    const exposed = join(dir, 'exposed.pem');
    writeFileSync(exposed, await exportPKCS8((await generateKeyPair('ES256', { extractable: true })).privateKey));
    chmodSync(exposed, 0o644);
    const refused = await get(exposed);
    expect([refused.message, refused.hint]).toEqual([
      `refusing to use the private key: permissions 0644 on ${exposed} are too open: it must be readable by its owner only (chmod 600 ${exposed})`,
      'Others could read it: put a new key in the manifest (an edit request) after fixing the permissions.',
    ]);
  });
});
