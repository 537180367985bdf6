// The brief's story with the token server in it: `mergekey serve` (with the OAuth endpoints)
// follows the stand-in's bare repository; a developer's app gets tokens once a publisher approves
// it, its tokens stop working when a deactivation is approved, a rejected reactivation changes
// nothing and an approved one brings tokens back. Each merged request is confirmed on its pull
// request, and `app show --server` says whether the controller serves it yet. The client is
// oauth4webapi, the resource server checking tokens is an application of its own.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveServeConfig } from '../../../controller/config/defaults.ts';
import { APPLIED_CONTEXT } from '../../../controller/confirm/index.ts';
import { loadOrCreateKeys } from '../../../controller/sealing/keys.ts';
import { seal } from '../../../controller/sealing/seal.ts';
import { startServer, type RunningServer } from '../../../controller/server/start.ts';
import { acquireControllerLock } from '../../../controller/store/lock.ts';
import { handlesOf } from '../../../controller/store/handles.ts';
import { create } from './create.ts';
import { deactivate } from './deactivate.ts';
import { reactivate } from './reactivate.ts';
import { show } from './show.ts';
import { check } from '../check.ts';
import { approve } from '../review/approve.ts';
import { reject } from '../review/reject.ts';
import { createWorld, PEOPLE, type World } from '../../../test/support/requests-world.ts';

// http: the test speaks plain HTTP to loopback, which an https issuer refuses.
const ISSUER = 'http://auth.example.com';
const insecure = { [oauth.allowInsecureRequests]: true } as const;

let world: World;
let server: RunningServer;
let dir: string;
let as: oauth.AuthorizationServer;
/** The invoices API's resource server: it introspects the tokens presented to it. */
const gateway = { client: { client_id: 'mk-gateway-0001' } as oauth.Client, secret: randomBytes(32).toString('base64url') };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mergekey-serve-story-'));
  const data = join(dir, 'data');
  // The controller's keys exist first; the repository records its public sealing key.
  const { sealingPublicJwk } = await loadOrCreateKeys(data, { create: true });
  const sealed = await seal(sealingPublicJwk, { kind: 'Application', name: 'gateway' }, gateway.secret);
  world = await createWorld(
    async () => ({
      'apis/invoices.yaml': `apiVersion: mergekey/v1
kind: Api
metadata:
  name: invoices
spec:
  description: Creates and reads invoices.
  audience: https://api.example.com/invoices
  scopes:
    - name: invoices:read
      description: Read invoices.
  introspection:
    applications: [gateway]
`,
      'apps/gateway.yaml': `apiVersion: mergekey/v1
kind: Application
metadata:
  name: gateway
spec:
  description: The invoices API's gateway.
  owners: [pat]
  clientId: ${gateway.client.client_id}
  credentials:
    secrets:
      - sealed: ${sealed}
`,
    }),
    { sealingKey: sealingPublicJwk },
  );
  const tokenFile = join(dir, 'github-token');
  await writeFile(tokenFile, `${PEOPLE.pat.token}\n`, { mode: 0o600 });
  const config = resolveServeConfig(
    {
      repo: world.repo.bareDir,
      data,
      port: '0',
      poll: '0',
      'log-level': 'silent',
      'github-token-file': tokenFile,
      'github-repo': 'acme/manifests',
      'github-api-url': world.standIn.url,
      issuer: ISSUER,
    },
    {},
  );
  server = await startServer(config, {
    acquireLock: acquireControllerLock,
    openKeys: loadOrCreateKeys,
  });
  await server.initialSync;
  as = { issuer: ISSUER, token_endpoint: `${server.url}/oauth2/token`, introspection_endpoint: `${server.url}/oauth2/introspect` };
});

afterAll(async () => {
  await server?.close();
  await world?.close();
  await rm(dir, { recursive: true, force: true });
});

/** What a push webhook does: the controller reconciles now. */
async function sync(): Promise<void> {
  const response = await fetch(`${server.adminUrl}/api/v1/sync?wait=true`, { method: 'POST' });
  expect(response.status).toBe(200);
}

/**
 * The confirmation runs beside the reconciler: look (a bounded number of times) until both the
 * status and the comment are there, and return them.
 */
async function confirmation(number: number, commit: string): Promise<{ status: string | undefined; comment: string | undefined }> {
  const pat = world.github('pat');
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const status = (await pat.listCommitStatuses(commit)).find((candidate) => candidate.context === APPLIED_CONTEXT)?.state;
    const comment = (await pat.listComments(number)).find((candidate) => candidate.body.includes('<!-- mergekey:applied -->'))?.body;
    if (status !== undefined && comment !== undefined) return { status, comment };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { status: undefined, comment: undefined };
}

/** A client_credentials token for billing, or the OAuth error the token endpoint answered. */
async function billingToken(client: oauth.Client, secret: string): Promise<string | { error: string }> {
  const response = await oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretBasic(secret), { scope: 'invoices:read' }, insecure);
  // An RFC 6749 error (401 invalid_client comes with a challenge oauth4webapi throws on): its code.
  if (!response.ok) return { error: ((await response.json()) as { error: string }).error };
  const token = (await oauth.processClientCredentialsResponse(as, client, response)).access_token;
  // The server records an access token just after returning it; introspection finds it once written.
  await handlesOf(server.store).root.committed;
  return token;
}

/** Whether the invoices API's gateway finds the token active (RFC 7662). */
async function introspect(token: string): Promise<boolean> {
  const response = await oauth.introspectionRequest(as, gateway.client, oauth.ClientSecretBasic(gateway.secret), token, insecure);
  return (await oauth.processIntrospectionResponse(as, gateway.client, response)).active;
}

describe('tokens follow what publishers approve', () => {
  let client: oauth.Client;
  let secret: string;
  let firstToken: string;

  it('create → awaiting: no token; approve → active: the saved secret gets a token the API accepts', async () => {
    const created = await create({ ...world.as('alice'), name: 'billing', description: 'Bills customers.', scopes: ['invoices:read'] });
    client = { client_id: created.clientId };
    secret = created.clientSecret!;
    await sync();
    expect(await billingToken(client, secret)).toEqual({ error: 'invalid_client' });
    const before = await show({ ...world.as('alice'), name: 'billing', admin: server.adminUrl });
    expect(before.controller).toMatchObject({ serving: false, message: 'not served: no request about it has been merged yet' });

    const approved = await approve({ ...world.as('pat'), number: created.number });
    await sync();
    const token = await billingToken(client, secret);
    expect(typeof token).toBe('string');
    firstToken = token as string;
    expect(await introspect(firstToken)).toBe(true);

    const confirmed = await confirmation(created.number, approved.mergeCommit);
    expect(confirmed.status).toBe('success');
    expect(confirmed.comment).toContain(`**live**: client id \`${created.clientId}\` — \`billing\` is registered and active`);
    const after = await show({ ...world.as('alice'), name: 'billing', admin: server.adminUrl });
    expect(after.controller).toMatchObject({ serving: true, appliedCommit: approved.mergeCommit });
  });

  it('deactivate: the check counts the tokens it revokes; once approved and synced, they stop working', async () => {
    const opened = await deactivate({ ...world.as('alice'), name: 'billing' });
    // The developer runs the check locally, with her credentials: the listing answers to them.
    const local = await check({ cwd: world.repo.workDir, env: { MERGEKEY_CREDENTIALS: world.credentialsFile }, base: 'refs/remotes/origin/main', head: opened.commit, server: server.url });
    expect(local.markdown).toContain('Deactivation revokes 1 active token.');

    const approved = await approve({ ...world.as('pat'), number: opened.number });
    const pending = await show({ ...world.as('alice'), name: 'billing', admin: server.adminUrl });
    expect(pending.controller?.message).toMatch(/^not yet: request #\d+ \(merged as [0-9a-f]{12}\) is newer than what the controller applied$/);
    expect(await introspect(firstToken)).toBe(true);

    await sync();
    expect(await introspect(firstToken)).toBe(false);
    expect(await billingToken(client, secret)).toEqual({ error: 'invalid_client' });
    expect(await confirmation(opened.number, approved.mergeCommit)).toEqual({ status: 'success', comment: expect.stringContaining('`billing` is inactive') });
  });

  it('reactivate → rejected: still no token; reactivate → approved: new tokens work', async () => {
    const refused = await reactivate({ ...world.as('alice'), name: 'billing' });
    await reject({ ...world.as('pat'), number: refused.number, reason: 'Not this quarter.' });
    await sync();
    expect(await billingToken(client, secret)).toEqual({ error: 'invalid_client' });

    const opened = await reactivate({ ...world.as('alice'), name: 'billing' });
    const approved = await approve({ ...world.as('pat'), number: opened.number });
    await sync();
    const token = await billingToken(client, secret);
    expect(typeof token).toBe('string');
    expect(await introspect(token as string)).toBe(true);
    expect(await confirmation(opened.number, approved.mergeCommit)).toEqual({ status: 'success', comment: expect.stringContaining('`billing` is active again') });
  });
});
