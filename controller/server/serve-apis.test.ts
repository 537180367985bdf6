// An Api's tokens through `mergekey serve` while the Api manifest changes in git: removed and
// restored by a revert, given another audience and then its own back, a scope dropped and
// published again. A real bare repository, oauth4webapi over loopback. What is checked: access
// tokens for an audience the Api gave up, and tokens (refresh tokens too) carrying a scope no Api
// published for a while, stay dead for good (RFC 7662 section 2.2 "active": false, RFC 6749
// section 5.2 invalid_grant), while tokens issued afterwards work.
import { execFileSync } from 'node:child_process';
import * as oauth from 'oauth4webapi';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveServeConfig } from '../config/defaults.ts';
import { startServer, type RunningServer } from './start.ts';
import { serverDeps } from '../../test/support/server.ts';
import { authorizationServer, insecure, ORDERS_AUDIENCE, sealedRepo } from '../../test/support/serve-child.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const ORDERS = 'apis/orders.yaml';

/** The OAuth error a request was refused with. */
async function refusal(promise: Promise<unknown>): Promise<{ status: number; body: unknown }> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  if (error instanceof oauth.ResponseBodyError) return { status: error.status, body: error.cause };
  throw new Error(`expected an OAuth error response, got ${String(error)}`);
}

/**
 * `mergekey serve` over the sealed fixture repository, where the orders Api publishes
 * orders:read and orders:write, billing (client_credentials) holds both and mobile (password,
 * refresh_token) holds orders:read; orders-rs is the Api's resource server.
 */
async function ordersServer() {
  const f = await sealedRepo();
  cleanups.push(() => f.remove());
  const show = (path: string) => execFileSync('git', ['--git-dir', f.repo.path, 'show', `main:${path}`], { encoding: 'utf8' });
  const orders = show(ORDERS).replace(
    '      description: Read orders.\n',
    '      description: Read orders.\n    - name: orders:write\n      description: Change orders.\n',
  );
  await f.repo.commit({
    [ORDERS]: orders,
    'apps/billing.yaml': show('apps/billing.yaml').replace('scopes: [open, orders:read]', 'scopes: [open, orders:read, orders:write]'),
    'apps/mobile.yaml': show('apps/mobile.yaml').replace('scopes: [open]', 'scopes: [open, orders:read]'),
  }, { message: 'orders:write; mobile reads orders' });

  const config = resolveServeConfig({ repo: f.repo.path, data: f.data, port: '0', poll: '0', workers: '1', 'log-level': 'silent' }, {});
  const server: RunningServer = await startServer(config, serverDeps);
  cleanups.push(() => server.close());
  await server.initialSync;
  const as = await authorizationServer(server.url, f.issuer);
  const client = (name: string) => ({ client: { client_id: f.clients[name]!.clientId } as oauth.Client, auth: oauth.ClientSecretBasic(f.clients[name]!.secret) });
  const grant = async (name: string, grantType: string, parameters: Record<string, string>) => {
    const { client: c, auth } = client(name);
    return oauth.processGenericTokenEndpointResponse(as, c, await oauth.genericTokenEndpointRequest(as, c, auth, grantType, parameters, insecure));
  };
  const introspect = async (name: string, token: string) => {
    const { client: c, auth } = client(name);
    return oauth.processIntrospectionResponse(as, c, await oauth.introspectionRequest(as, c, auth, token, insecure));
  };
  /** `type scope` of the application's live tokens, as its token listing shows them. */
  const listed = async (name: string) => {
    const response = await fetch(`${server.url}/api/v1/apps/${name}/tokens`, {
      headers: { authorization: `Basic ${Buffer.from(`${f.clients[name]!.clientId}:${f.clients[name]!.secret}`).toString('base64')}` },
    });
    expect(response.status).toBe(200);
    return ((await response.json()) as { tokens: { scope: string; type: string }[] }).tokens.map((t) => `${t.type} ${t.scope}`).sort();
  };
  const sync = async (commit: string) => {
    await server.loop.trigger('test');
    expect(server.loop.last).toMatchObject({ result: 'applied', commit });
  };
  return {
    orders,
    /** billing's own token for `scope`. */
    machine: (scope: string) => grant('billing', 'client_credentials', { scope }),
    /** alice signs in to mobile. */
    signIn: () => grant('mobile', 'password', { username: 'alice', password: f.passwords.alice, scope: 'open orders:read' }),
    refresh: (refreshToken: string) => grant('mobile', 'refresh_token', { refresh_token: refreshToken }),
    introspect,
    listed,
    sync,
    commit: (content: string | null, message: string) => f.repo.commit({ [ORDERS]: content }, { message }),
  };
}

// One answer for every refresh token that cannot be used (grants/refresh_token.ts).
const UNUSABLE = { status: 400, body: { error: 'invalid_grant', error_description: 'the refresh token is invalid, expired or revoked' } };
const INACTIVE = { active: false };

describe('mergekey serve: an Api\'s tokens end with what it publishes', () => {
  it('keeps the old tokens dead when a removed Api is restored by a revert, while new tokens work', { timeout: 60_000 }, async () => {
    const s = await ordersServer();
    const machine = await s.machine('orders:read');
    const user = await s.signIn();
    expect(await s.introspect('orders-rs', machine.access_token)).toMatchObject({ active: true, aud: ORDERS_AUDIENCE, scope: 'orders:read' });
    expect(await s.introspect('mobile', user.refresh_token!)).toMatchObject({ active: true, scope: 'open orders:read' });
    expect(await s.listed('billing')).toEqual(['access_token orders:read']);

    await s.sync(await s.commit(null, 'orders goes'));
    // Gone with the Api, even to the client that holds them.
    expect(await s.introspect('billing', machine.access_token)).toEqual(INACTIVE);
    expect(await s.introspect('mobile', user.access_token)).toEqual(INACTIVE);
    expect(await s.introspect('mobile', user.refresh_token!)).toEqual(INACTIVE);
    expect(await s.listed('billing')).toEqual([]);
    expect(await s.listed('mobile')).toEqual([]);

    // The revert: the very manifest the Api had.
    await s.sync(await s.commit(s.orders, 'Revert "orders goes"'));
    expect(await s.introspect('orders-rs', machine.access_token)).toEqual(INACTIVE);
    expect(await s.introspect('billing', machine.access_token)).toEqual(INACTIVE);
    expect(await s.introspect('mobile', user.access_token)).toEqual(INACTIVE);
    expect(await s.introspect('mobile', user.refresh_token!)).toEqual(INACTIVE);
    expect(await refusal(s.refresh(user.refresh_token!))).toEqual(UNUSABLE);
    expect(await s.listed('billing')).toEqual([]);
    expect(await s.listed('mobile')).toEqual([]);

    // Tokens issued after the restore work, even in the second of the restore.
    const fresh = await s.machine('orders:read');
    expect(await s.introspect('orders-rs', fresh.access_token)).toMatchObject({ active: true, aud: ORDERS_AUDIENCE, scope: 'orders:read' });
    const signedIn = await s.signIn();
    const rotated = await s.refresh(signedIn.refresh_token!);
    expect(rotated.scope).toBe('open orders:read');
    expect(await s.introspect('mobile', rotated.access_token)).toMatchObject({ active: true, aud: ORDERS_AUDIENCE });
  });

  it('ends the tokens for an audience the Api gives up, for good, and only those', { timeout: 60_000 }, async () => {
    const s = await ordersServer();
    const machine = await s.machine('orders:read');
    const user = await s.signIn();
    const moved = s.orders.replace(`audience: ${ORDERS_AUDIENCE}`, 'audience: https://orders-v2.example.com');
    await s.sync(await s.commit(moved, 'orders: new audience'));
    // At once: the server's scope map, kept up to a second, is read again rather than issue a token
    // for the audience given up in the second after it, which would outlive a revert.
    const next = await s.machine('orders:read');
    expect(await s.introspect('billing', next.access_token)).toMatchObject({ active: true, aud: 'https://orders-v2.example.com' });
    expect(await s.introspect('billing', machine.access_token)).toEqual(INACTIVE);
    expect(await s.introspect('mobile', user.access_token)).toEqual(INACTIVE);
    // The refresh token is for this server, and its scope is still published: it lives, and gives
    // tokens for the new audience.
    const rotated = await s.refresh(user.refresh_token!);
    expect(await s.introspect('mobile', rotated.access_token)).toMatchObject({ active: true, aud: 'https://orders-v2.example.com' });

    await s.sync(await s.commit(s.orders, 'Revert "orders: new audience"'));
    expect(await s.introspect('orders-rs', machine.access_token)).toEqual(INACTIVE);
    expect(await s.introspect('mobile', user.access_token)).toEqual(INACTIVE);
    const fresh = await s.machine('orders:read');
    expect(await s.introspect('orders-rs', fresh.access_token)).toMatchObject({ active: true, aud: ORDERS_AUDIENCE });
  });

  it('ends the tokens carrying a scope the Api drops, for good, and only those', { timeout: 60_000 }, async () => {
    const s = await ordersServer();
    const reader = await s.machine('orders:read');
    const writer = await s.machine('orders:write');
    const dropped = s.orders.replace('    - name: orders:write\n      description: Change orders.\n', '');
    await s.sync(await s.commit(dropped, 'orders: no more writes'));
    expect(await s.introspect('billing', writer.access_token)).toEqual(INACTIVE);
    expect(await s.introspect('orders-rs', reader.access_token)).toMatchObject({ active: true, scope: 'orders:read' });

    await s.sync(await s.commit(s.orders, 'Revert "orders: no more writes"'));
    expect(await s.introspect('orders-rs', writer.access_token)).toEqual(INACTIVE);
    expect(await s.introspect('orders-rs', reader.access_token)).toMatchObject({ active: true, scope: 'orders:read' });
    expect(await s.listed('billing')).toEqual(['access_token orders:read']);
    const fresh = await s.machine('orders:write');
    expect(await s.introspect('orders-rs', fresh.access_token)).toMatchObject({ active: true, scope: 'orders:write' });
  });
});
