// A user's tokens through `mergekey serve` while the User manifest changes in git: removed,
// restored by a revert, replaced by another person of the same name, given a new password. A real
// bare repository, the password sealed to the data directory's own keys, oauth4webapi over
// loopback. What is checked: tokens issued before the user's last removal or password change stay
// dead for good (RFC 7662 section 2.2 "active": false, RFC 6749 section 5.2 invalid_grant), while
// the user's new sign-ins work.
import { randomBytes } from 'node:crypto';
import * as oauth from 'oauth4webapi';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveServeConfig } from '../config/defaults.ts';
import { loadOrCreateKeys } from '../sealing/keys.ts';
import { seal } from '../sealing/seal.ts';
import { startServer, type RunningServer } from './start.ts';
import { serverDeps } from '../../test/support/server.ts';
import { authorizationServer, insecure, sealedRepo } from '../../test/support/serve-child.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const BOB = 'users/bob.yaml';

/** The OAuth error a request was refused with. */
async function refusal(promise: Promise<unknown>): Promise<{ status: number; body: unknown }> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  if (error instanceof oauth.ResponseBodyError) return { status: error.status, body: error.cause };
  throw new Error(`expected an OAuth error response, got ${String(error)}`);
}

/**
 * `mergekey serve` over the sealed fixture repository plus a user `bob`, and what the tests do
 * with it through the `mobile` application (password and refresh_token grants).
 */
async function mobileServer() {
  const f = await sealedRepo();
  cleanups.push(() => f.remove());
  const { sealingPublicJwk } = await loadOrCreateKeys(f.data, { create: false });
  const bobYaml = async (password: string, displayName = 'Bob') =>
    `apiVersion: mergekey/v1\nkind: User\nmetadata:\n  name: bob\nspec:\n  displayName: ${displayName}\n  roles: [developer]\n  password:\n` +
    `    sealed: ${await seal(sealingPublicJwk, { kind: 'User', name: 'bob' }, password)}\n`;
  const password = randomBytes(12).toString('base64url');
  const bob = await bobYaml(password);
  await f.repo.commit({ [BOB]: bob }, { message: 'bob joins' });

  const config = resolveServeConfig({ repo: f.repo.path, data: f.data, port: '0', poll: '0', workers: '1', 'log-level': 'silent' }, {});
  const server: RunningServer = await startServer(config, serverDeps);
  cleanups.push(() => server.close());
  await server.initialSync;
  const as = await authorizationServer(server.url, f.issuer);
  const mobile: oauth.Client = { client_id: f.clients.mobile!.clientId };
  const mobileAuth = oauth.ClientSecretBasic(f.clients.mobile!.secret);
  const grant = async (grantType: string, parameters: Record<string, string>) =>
    oauth.processGenericTokenEndpointResponse(as, mobile, await oauth.genericTokenEndpointRequest(as, mobile, mobileAuth, grantType, parameters, insecure));
  const signIn = (pw: string) => grant('password', { username: 'bob', password: pw });
  const refresh = (refreshToken: string) => grant('refresh_token', { refresh_token: refreshToken });
  const introspect = async (token: string) =>
    oauth.processIntrospectionResponse(as, mobile, await oauth.introspectionRequest(as, mobile, mobileAuth, token, insecure));
  /** The subjects of mobile's live tokens, as its token listing shows them. */
  const listed = async () => {
    const response = await fetch(`${server.url}/api/v1/apps/mobile/tokens`, {
      headers: { authorization: `Basic ${Buffer.from(`${mobile.client_id}:${f.clients.mobile!.secret}`).toString('base64')}` },
    });
    expect(response.status).toBe(200);
    return ((await response.json()) as { tokens: { subject: string; type: string }[] }).tokens.map((t) => `${t.type} ${t.subject}`).sort();
  };
  const sync = async (commit: string) => {
    await server.loop.trigger('test');
    expect(server.loop.last).toMatchObject({ result: 'applied', commit });
  };
  const commit = (content: string | null, message: string) => f.repo.commit({ [BOB]: content }, { message });
  return { bob, bobYaml, password, signIn, refresh, introspect, listed, sync, commit };
}

// One answer for every refresh token that cannot be used (grants/refresh_token.ts).
const UNUSABLE = { status: 400, body: { error: 'invalid_grant', error_description: 'the refresh token is invalid, expired or revoked' } };

describe('mergekey serve: a user\'s tokens end with the user', () => {
  it('keeps the old tokens dead when a removed user is restored by a revert, while new sign-ins work', { timeout: 60_000 }, async () => {
    const s = await mobileServer();
    const old = await s.signIn(s.password);
    expect(await s.introspect(old.access_token)).toMatchObject({ active: true, sub: 'user:bob' });
    expect(await s.listed()).toEqual(['access_token user:bob', 'refresh_token user:bob']);

    await s.sync(await s.commit(null, 'bob leaves'));
    expect(await s.introspect(old.access_token)).toEqual({ active: false });
    expect(await s.introspect(old.refresh_token!)).toEqual({ active: false });
    expect(await refusal(s.refresh(old.refresh_token!))).toEqual(UNUSABLE);
    expect(await s.listed()).toEqual([]);

    // The revert: the very manifest bob had.
    await s.sync(await s.commit(s.bob, 'Revert "bob leaves"'));
    expect(await s.introspect(old.access_token)).toEqual({ active: false });
    expect(await s.introspect(old.refresh_token!)).toEqual({ active: false });
    expect(await s.listed()).toEqual([]);
    expect(await refusal(s.refresh(old.refresh_token!))).toEqual(UNUSABLE);

    const fresh = await s.signIn(s.password);
    expect(await s.introspect(fresh.access_token)).toMatchObject({ active: true, sub: 'user:bob' });
    expect((await s.refresh(fresh.refresh_token!)).refresh_token).toBeDefined();
  });

  it('keeps them dead when the user is removed and restored with no request in between', { timeout: 60_000 }, async () => {
    const s = await mobileServer();
    const old = await s.signIn(s.password);
    // Nobody presents a token while bob is gone: the removal itself must end them.
    await s.sync(await s.commit(null, 'bob leaves'));
    await s.sync(await s.commit(s.bob, 'Revert "bob leaves"'));
    expect(await refusal(s.refresh(old.refresh_token!))).toEqual(UNUSABLE);
    expect(await s.introspect(old.access_token)).toEqual({ active: false });
    expect(await s.listed()).toEqual([]);
  });

  it('gives a new person of a removed user\'s name none of the old tokens', { timeout: 60_000 }, async () => {
    const s = await mobileServer();
    const old = await s.signIn(s.password);
    await s.sync(await s.commit(null, 'bob leaves'));
    const otherPassword = randomBytes(12).toString('base64url');
    await s.sync(await s.commit(await s.bobYaml(otherPassword, 'Another Bob'), 'a new bob joins'));

    expect(await s.introspect(old.access_token)).toEqual({ active: false });
    expect(await refusal(s.refresh(old.refresh_token!))).toEqual(UNUSABLE);
    expect(await refusal(s.signIn(s.password))).toEqual({ status: 400, body: { error: 'invalid_grant', error_description: 'the resource owner credentials are invalid' } });
    const fresh = await s.signIn(otherPassword);
    expect(await s.introspect(fresh.access_token)).toMatchObject({ active: true, sub: 'user:bob' });
    expect(await s.listed()).toEqual(['access_token user:bob', 'refresh_token user:bob']);
  });

  it('ends every token of the user when its password changes, and only then', { timeout: 60_000 }, async () => {
    const s = await mobileServer();
    const old = await s.signIn(s.password);

    // An edit that leaves the sealed password as it was ends nothing.
    const renamed = s.bob.replace('displayName: Bob', 'displayName: Robert');
    await s.sync(await s.commit(renamed, 'bob: display name'));
    expect(await s.introspect(old.access_token)).toMatchObject({ active: true, sub: 'user:bob' });
    const rotated = await s.refresh(old.refresh_token!);

    const newPassword = randomBytes(12).toString('base64url');
    await s.sync(await s.commit(await s.bobYaml(newPassword, 'Robert'), 'bob: new password'));
    expect(await s.introspect(old.access_token)).toEqual({ active: false });
    expect(await s.introspect(rotated.access_token)).toEqual({ active: false });
    expect(await refusal(s.refresh(rotated.refresh_token!))).toEqual(UNUSABLE);
    expect(await s.listed()).toEqual([]);
    const fresh = await s.signIn(newPassword);
    expect(await s.introspect(fresh.access_token)).toMatchObject({ active: true, sub: 'user:bob' });
  });
});
