// The quickstart (`npm start`): its setup makes a repository that validates, sealed to the data
// directory's own keys, and a server on it issues a token to the credentials the banner prints.
// Running it again reuses everything.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jwtVerify, createRemoteJWKSet } from 'jose';
import * as oauth from 'oauth4webapi';
import { simpleGit } from 'simple-git';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveServeConfig } from '../../controller/config/defaults.ts';
import { validateRepository } from '../../controller/manifests/index.ts';
import { tempDir } from '../../test/support/reconcile.ts';
import { startServer } from '../../controller/server/start.ts';
import { serverDeps } from '../../test/support/server.ts';
import { readRepositoryFiles } from '../read-repository.ts';
import { banner, DEMO_APP, FORGE_OWNER, FORGE_REPO, quickstartAdminPort, setupQuickstart, startLocalForge } from './quickstart.ts';

const dir = tempDir('mergekey-quickstart-');
afterAll(() => dir.remove());

/** A port nothing listens on: the issuer names it, so the server must be on it. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

describe('the quickstart', () => {
  it('sets up a sealed repository that validates, and a server that issues a token to the printed credentials', { timeout: 30_000 }, async () => {
    const port = await freePort();
    const setup = await setupQuickstart({ dir: join(dir.path, 'quickstart'), port, env: {} });
    expect(setup.created).toBe(true);
    expect(setup.issuer).toBe(`http://127.0.0.1:${port}`);
    expect(validateRepository(readRepositoryFiles(setup.clones.alice!).files).problems).toEqual([]);
    for (const file of ['demo.json', 'credentials.json']) expect(statSync(join(setup.dir, file)).mode & 0o777).toBe(0o600);
    // A clone per person with a githubLogin, each naming the local forge and its owner's login there.
    expect(setup.clones).toEqual({ alice: join(setup.dir, 'people', 'alice'), bob: join(setup.dir, 'people', 'bob'), carol: join(setup.dir, 'people', 'carol') });
    expect(setup.demo.people).toEqual({
      alice: { login: 'alice-martin', token: expect.stringMatching(/^mkf_[A-Za-z0-9_-]{27}$/), permission: 'write' },
      bob: { login: 'bob-okafor', token: expect.stringMatching(/^mkf_[A-Za-z0-9_-]{27}$/), permission: 'maintain' },
      carol: { login: 'carol-lindqvist', token: expect.stringMatching(/^mkf_[A-Za-z0-9_-]{27}$/), permission: 'maintain' },
    });
    // Editors find the schemas from the clones: the `$schema` comment points at this checkout's.
    const manifest = join(setup.clones.alice!, 'apps', `${DEMO_APP}.yaml`);
    const schema = /\$schema=(\S+)/.exec(readFileSync(manifest, 'utf8'))![1]!;
    expect(resolve(dirname(manifest), schema)).toBe(fileURLToPath(new URL('../../schemas/application.schema.json', import.meta.url)));
    const bobsConfig = await simpleGit({ baseDir: setup.clones.bob! }).listConfig('local');
    expect([bobsConfig.all['mergekey.forgefile'], bobsConfig.all['mergekey.forgelogin'], bobsConfig.all['remote.origin.url']]).toEqual([setup.forgeFile, 'bob-okafor', setup.repo]);

    const text = banner(setup, setup.issuer, 'http://127.0.0.1:9000', 'http://127.0.0.1:41000');
    expect(text).toContain('  local forge    http://127.0.0.1:41000 (demo/manifests: the pull requests; a local forge for trying Mergekey and for tests, not GitHub)\n');
    expect(text).toContain(`  1. sign in as alice (password ${setup.demo.users.alice}) at ${setup.issuer}/portal and add an application (New Application);\n`);
    expect(text).toContain(`  (cd ${join(setup.dir, 'people', 'bob')} && npx mergekey review list && npx mergekey review approve 1)\n`);
    expect(text).toContain(`curl -s -u '${setup.client.clientId}:${setup.client.clientSecret}' -d grant_type=client_credentials ${setup.issuer}/oauth2/token`);
    // `mergekey status` asks the operator listener, by default at 9000: the banner says where it is.
    expect(text).toContain('  operator       http://127.0.0.1:9000 (health, readiness, metrics, status; this machine only)\n');
    expect(text).toContain('\n  npx mergekey status\n');
    expect(banner(setup, setup.issuer, 'http://127.0.0.1:9001', 'http://127.0.0.1:41000')).toContain('\n  MERGEKEY_ADMIN_URL=http://127.0.0.1:9001 npx mergekey status\n');
    expect([quickstartAdminPort(8080, {}), quickstartAdminPort(9000, {}), quickstartAdminPort(8080, { MERGEKEY_ADMIN_PORT: '9100' })]).toEqual(['9000', '9001', '9100']);

    const config = resolveServeConfig({ repo: setup.repo, data: setup.data, port: String(port), 'admin-port': '0', issuer: setup.issuer, poll: '0', workers: '1', 'log-level': 'silent' }, {});
    const server = await startServer(config, serverDeps);
    try {
      await server.initialSync;
      const issuer = new URL(setup.issuer);
      const insecure = { [oauth.allowInsecureRequests]: true } as const;
      const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { ...insecure, algorithm: 'oauth2' }));
      const client: oauth.Client = { client_id: setup.client.clientId };
      const response = await oauth.processClientCredentialsResponse(as, client,
        await oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretBasic(setup.client.clientSecret), {}, insecure));
      expect(response.scope).toBe(setup.client.scope);
      const { payload } = await jwtVerify(response.access_token, createRemoteJWKSet(new URL(as.jwks_uri!)), { issuer: setup.issuer, typ: 'at+jwt' });
      expect(payload).toMatchObject({ client_id: setup.client.clientId, sub: `client:${setup.client.clientId}` });
    } finally {
      await server.close();
    }

    const again = await setupQuickstart({ dir: join(dir.path, 'quickstart'), port, env: {} });
    expect(again.created).toBe(false);
    expect(again.client).toEqual(setup.client);
    expect(again.client.name).toBe(DEMO_APP);
  });

  it('lets only publishers and the portal merge into main on the local forge: a developer is refused as GitHub refuses a push to a protected branch', { timeout: 30_000 }, async () => {
    const setup = await setupQuickstart({ dir: join(dir.path, 'protected'), port: await freePort(), env: {} });
    const forge = await startLocalForge(setup);
    try {
      const { alice, bob } = setup.demo.people;
      const call = async (token: string, method: string, path: string, body: unknown) => {
        const response = await fetch(`${forge.url}/repos/${FORGE_OWNER}/${FORGE_REPO}${path}`, {
          method,
          headers: { authorization: `token ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        return [response.status, await response.json()] as const;
      };
      // Alice (a developer, write) pushes her request branch from her clone and opens it, as `mergekey app create` does.
      const ask = async (branch: string) => {
        const clone = simpleGit({ baseDir: setup.clones.alice! });
        await clone.checkout(['-B', branch, 'origin/main']);
        writeFileSync(join(setup.clones.alice!, `${branch.replace(/\W/g, '-')}.md`), 'asked\n');
        await clone.add('.').commit(`Ask ${branch}`).push('origin', branch);
        const [status, pull] = await call(alice!.token, 'POST', '/pulls', { title: branch, head: branch, base: 'main' });
        expect(status).toBe(201);
        return (pull as { number: number }).number;
      };
      const first = await ask('mergekey/create-first-0001');
      expect(await call(alice!.token, 'PUT', `/pulls/${first}/merge`, {})).toEqual([
        405,
        {
          message: "You're not authorized to push to this branch. Visit https://docs.github.com/articles/about-protected-branches/ for more information.",
          documentation_url: 'https://docs.github.com/rest/pulls/pulls#merge-a-pull-request',
        },
      ]);
      // Bob (a publisher) approving with the CLI merges with his own token…
      expect(await call(bob!.token, 'PUT', `/pulls/${first}/merge`, {})).toMatchObject([200, { merged: true }]);
      // …and the portal merges what a publisher approved in the portal.
      const second = await ask('mergekey/create-second-0001');
      expect(await call(setup.demo.portalToken, 'PUT', `/pulls/${second}/merge`, {})).toMatchObject([200, { merged: true }]);
    } finally {
      await forge.close();
    }
  });
});
