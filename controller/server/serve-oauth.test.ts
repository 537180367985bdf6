// The OAuth server through `mergekey serve`, end to end: manifests in a real bare repository,
// secrets sealed to the data directory's keys, a client library (oauth4webapi) over loopback.
// Lifecycle changes arrive as git commits; durability is checked across a SIGKILL.
import * as oauth from 'oauth4webapi';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveServeConfig } from '../config/defaults.ts';
import { startServer, type RunningServer } from './start.ts';
import { serverDeps } from '../../test/support/server.ts';
import { authorizationServer, insecure, ORDERS_AUDIENCE, sealedRepo, serveChild, type SealedRepo } from '../../test/support/serve-child.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function fixture(): Promise<SealedRepo> {
  const made = await sealedRepo();
  cleanups.push(() => made.remove());
  return made;
}

function client(f: SealedRepo, name: string): [oauth.Client, oauth.ClientAuth] {
  return [{ client_id: f.clients[name]!.clientId }, oauth.ClientSecretBasic(f.clients[name]!.secret)];
}

/** The OAuth error a request was refused with. */
async function refusal(promise: Promise<unknown>): Promise<{ status: number; error: unknown }> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  if (error instanceof oauth.ResponseBodyError) return { status: error.status, error: error.error };
  // A 401 comes with a WWW-Authenticate challenge, which oauth4webapi reports before the body.
  if (error instanceof oauth.WWWAuthenticateChallengeError) return { status: error.status, error: ((await error.response.json()) as { error: unknown }).error };
  throw new Error(`expected an OAuth error response, got ${String(error)}`);
}

/**
 * A server over a fresh sealed repository, and what its tests do with it: billing's
 * client_credentials token, the resource server's introspection, and a sync that must apply
 * `commit`.
 */
async function billingServer() {
  const f = await fixture();
  // No --issuer: the server learns it from mergekey.yaml with its first sync.
  const config = resolveServeConfig({ repo: f.repo.path, data: f.data, port: '0', poll: '0', workers: '1', 'log-level': 'silent' }, {});
  const server: RunningServer = await startServer(config, serverDeps);
  cleanups.push(() => server.close());
  const as = await authorizationServer(server.url, f.issuer);
  const [billing, billingAuth] = client(f, 'billing');
  const [resourceServer, resourceServerAuth] = client(f, 'orders-rs');
  const token = async () =>
    (await oauth.processClientCredentialsResponse(as, billing,
      await oauth.clientCredentialsGrantRequest(as, billing, billingAuth, { scope: 'orders:read' }, insecure))).access_token;
  const introspect = async (accessToken: string) =>
    oauth.processIntrospectionResponse(as, resourceServer,
      await oauth.introspectionRequest(as, resourceServer, resourceServerAuth, accessToken, insecure));
  const sync = async (commit: string) => {
    await server.loop.trigger('test');
    expect(server.loop.last).toMatchObject({ result: 'applied', commit });
  };
  return { f, server, billing, token, introspect, sync };
}

describe('mergekey serve: the OAuth server follows the manifests branch', () => {
  it('stops an application deactivated in git at once, and after its reactivation only new tokens work', { timeout: 30_000 }, async () => {
    const { f, server, billing, token, introspect, sync } = await billingServer();
    expect(server.issuer).toBe(f.issuer);

    const before = await token();
    expect(await introspect(before)).toMatchObject({ active: true, client_id: billing.client_id, aud: ORDERS_AUDIENCE, iss: f.issuer });

    await sync(await f.setState('billing', 'inactive'));
    expect(await introspect(before)).toEqual({ active: false });
    expect(await refusal(token())).toEqual({ status: 401, error: 'invalid_client' });

    await sync(await f.setState('billing', 'active'));
    expect(await introspect(before)).toEqual({ active: false });
    const after = await token();
    expect(await introspect(after)).toMatchObject({ active: true, client_id: billing.client_id });
  });

  it('keeps tokens revoked when an application is deactivated and reactivated with no request in between', { timeout: 30_000 }, async () => {
    const { f, billing, token, introspect, sync } = await billingServer();

    const before = await token();
    // Nobody presents a token while the application is inactive: the deactivation itself must
    // revoke what it held, not the first request that happens to see it inactive.
    await sync(await f.setState('billing', 'inactive'));
    await sync(await f.setState('billing', 'active'));
    expect(await introspect(before)).toEqual({ active: false });
    expect(await introspect(await token())).toMatchObject({ active: true, client_id: billing.client_id });
  });

  it('refuses a refresh token replayed after a SIGKILL restart, and revokes its family', { timeout: 60_000 }, async () => {
    const f = await fixture();
    const args = ['--repo', f.repo.path, '--data', f.data, '--port', '0', '--poll', '0', '--workers', '1'];
    const first = serveChild(args);
    cleanups.push(() => first.proc.kill('SIGKILL'));
    const [mobile, mobileAuth] = client(f, 'mobile');
    const grant = async (as: oauth.AuthorizationServer, grantType: string, parameters: Record<string, string>) =>
      oauth.processGenericTokenEndpointResponse(as, mobile, await oauth.genericTokenEndpointRequest(as, mobile, mobileAuth, grantType, parameters, insecure));

    let as = await authorizationServer(await first.url(), f.issuer);
    const signedIn = await grant(as, 'password', { username: 'alice', password: f.passwords.alice! });
    const rotated = await grant(as, 'refresh_token', { refresh_token: signedIn.refresh_token! });
    expect(rotated.refresh_token).toBeDefined();
    // The rotation was answered, so it is on disk: no graceful shutdown is needed to keep it.
    first.proc.kill('SIGKILL');
    await first.exit;

    const second = serveChild(args);
    cleanups.push(() => second.stop());
    as = await authorizationServer(await second.url(), f.issuer);
    expect(await refusal(grant(as, 'refresh_token', { refresh_token: signedIn.refresh_token! }))).toEqual({ status: 400, error: 'invalid_grant' });
    // The replay revoked the whole family: the token it was rotated into is dead too.
    expect(await refusal(grant(as, 'refresh_token', { refresh_token: rotated.refresh_token! }))).toEqual({ status: 400, error: 'invalid_grant' });
    // The user signs in again and gets a new family.
    expect((await grant(as, 'password', { username: 'alice', password: f.passwords.alice! })).refresh_token).toBeDefined();
  });
});
