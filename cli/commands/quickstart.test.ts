// The quickstart (`npm start`): its setup makes a repository that validates, sealed to the data
// directory's own keys, and a server on it issues a token to the credentials the banner prints.
// Running it again reuses everything.
import { statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { jwtVerify, createRemoteJWKSet } from 'jose';
import * as oauth from 'oauth4webapi';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveServeConfig } from '../../controller/config/defaults.ts';
import { validateRepository } from '../../controller/manifests/index.ts';
import { tempDir } from '../../test/support/reconcile.ts';
import { startServer } from '../../controller/server/start.ts';
import { serverDeps } from '../../test/support/server.ts';
import { readRepositoryFiles } from '../read-repository.ts';
import { banner, DEMO_APP, quickstartAdminPort, setupQuickstart } from './quickstart.ts';

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
    expect(validateRepository(readRepositoryFiles(setup.repo).files).problems).toEqual([]);
    for (const file of ['demo.json', 'credentials.json']) expect(statSync(join(setup.dir, file)).mode & 0o777).toBe(0o600);

    const text = banner(setup, setup.issuer, 'http://127.0.0.1:9000');
    expect(text).toContain(`curl -s -u '${setup.client.clientId}:${setup.client.clientSecret}' -d grant_type=client_credentials ${setup.issuer}/oauth2/token`);
    // `mergekey status` asks the operator listener, by default at 9000: the banner says where it is.
    expect(text).toContain('  operator       http://127.0.0.1:9000 (health, readiness, metrics, status; this machine only)\n');
    expect(text).toContain('\n  npx mergekey status\n');
    expect(banner(setup, setup.issuer, 'http://127.0.0.1:9001')).toContain('\n  MERGEKEY_ADMIN_URL=http://127.0.0.1:9001 npx mergekey status\n');
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
});
