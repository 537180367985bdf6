// RFC 7523 section 3: "The authorization server MAY ensure that JWTs are not replayed by
// maintaining the set of used "jti" values for the length of time for which the JWT would be
// considered valid based on the applicable "exp" instant." The set is in the store; a store
// rebuilt from git (`--rebuild-store`) has lost it. So an assertion that could have been
// presented before the rebuild (issued before it, or without `iat` and able to live across it) is
// refused: a client makes a new one, and a captured one cannot be played again. Real processes,
// a real store damaged on disk, real HTTP.
import { truncateSync } from 'node:fs';
import { join } from 'node:path';
import { importJWK, SignJWT } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { FixtureRepo } from '../../test/support/git.ts';
import { BASE_FILES, jwtAppYaml, tempDir } from '../../test/support/reconcile.ts';
import { loadOrCreateKeys } from '../sealing/keys.ts';
import { serveChild, type ServeChild } from '../../test/support/serve-child.ts';

/** RFC 8037 appendix A.1's Ed25519 key: jwtAppYaml lists its public half. */
const PRIVATE_JWK = { kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo', d: 'nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A' };
const ISSUER = 'http://auth.example.com';
const CLIENT_ID = 'signer-client-0001';

const dir = tempDir('mergekey-replay-');
const children: ServeChild[] = [];
afterAll(() => {
  for (const child of children) child.proc.kill('SIGKILL');
  dir.remove();
});

async function assertion(claims: { iat?: number; exp: number; jti: string }): Promise<string> {
  const key = await importJWK(PRIVATE_JWK, 'EdDSA');
  const jwt = new SignJWT({ jti: claims.jti }).setProtectedHeader({ alg: 'EdDSA', typ: 'JWT' })
    .setIssuer(CLIENT_ID).setSubject(CLIENT_ID).setAudience(ISSUER).setExpirationTime(claims.exp);
  if (claims.iat !== undefined) jwt.setIssuedAt(claims.iat);
  return jwt.sign(key);
}

async function token(url: string, clientAssertion: string): Promise<[number, unknown]> {
  const response = await fetch(`${url}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: clientAssertion,
    }),
  });
  const body = (await response.json()) as Record<string, unknown>;
  return [response.status, response.status === 200 ? 'token' : body];
}

async function serve(data: string, repo: string, ...more: string[]): Promise<{ child: ServeChild; url: string }> {
  const child = serveChild(['--repo', repo, '--data', data, '--port', '0', '--poll', '0', '--workers', '1', '--issuer', ISSUER, ...more]);
  children.push(child);
  const url = await child.url();
  await child.waitFor(/applied commit/);
  return { child, url };
}

describe('client assertions across --rebuild-store', () => {
  it('refuses an assertion made before the store was rebuilt, used or not, and takes a new one', { timeout: 60_000 }, async () => {
    const repo = await FixtureRepo.create(join(dir.path, 'manifests.git'));
    await repo.commit({ ...BASE_FILES, 'apps/signer.yaml': jwtAppYaml('signer') });
    const data = join(dir.path, 'data');
    await loadOrCreateKeys(data, { create: true });
    const now = Math.floor(Date.now() / 1000);
    const used = await assertion({ iat: now, exp: now + 240, jti: 'used-before-the-loss' });
    const unused = await assertion({ exp: now + 240, jti: 'made-before-the-loss-without-iat' });

    const first = await serve(data, repo.path);
    expect(await token(first.url, used)).toEqual([200, 'token']);
    expect(await token(first.url, used)).toEqual([401, { error: 'invalid_client', error_description: 'the client assertion was already used' }]);
    expect(await first.child.stop()).toBe(0);

    // The store is lost, and with it the record that `used` was used.
    truncateSync(join(data, 'store', 'data.mdb'), 0);
    const rebuilt = await serve(data, repo.path, '--rebuild-store');
    const refused = [401, { error: 'invalid_client', error_description: 'the client assertion may have been used before the store was rebuilt: make a new one' }];
    expect(await token(rebuilt.url, used)).toEqual(refused);
    expect(await token(rebuilt.url, unused)).toEqual(refused);
    const after = Math.floor(Date.now() / 1000) + 1;
    expect(await token(rebuilt.url, await assertion({ iat: after, exp: after + 60, jti: 'made-after-the-rebuild' }))).toEqual([200, 'token']);
    expect(await rebuilt.child.stop()).toBe(0);
  });
});
