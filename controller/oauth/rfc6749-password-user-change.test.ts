// RFC 6749 section 4.3 (the password grant) racing a reconcile: the User is removed, or given a
// new password, while the server checks the password it was sent. The password was right for
// the record read, but that record is no longer in force when the tokens would be issued, so the
// grant is refused (section 5.2 invalid_grant). The reconcile is made to land exactly there: the
// test's read of the user record writes it, through the reconciler's own ConfigWriter, and moves
// the injected clock past the second of its mark, as a slow check would. Nothing sleeps. The same
// window with the application deactivated: the tokens are dated before the check, so the
// deactivation covers them and its reactivation does not bring them back.
import * as oauth from 'oauth4webapi';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configWriter, type ConfigWriter } from '../store/config.ts';
import type { ApplicationRecord, UserRecord } from '../store/records.ts';
import { ALICE_PASSWORD, authOf, insecure, startTestServer, type TestClient, type TestServer } from '../../test/support/oauth-server.ts';

let s: TestServer;
let app: TestClient;
beforeEach(async () => {
  s = await startTestServer();
  app = await s.addApp('mobile', { grantTypes: ['password', 'refresh_token'] });
});
afterEach(() => s.close());

const passwordGrant = async () =>
  oauth.processGenericTokenEndpointResponse(s.as, app.client,
    await oauth.genericTokenEndpointRequest(s.as, app.client, authOf(app), 'password', { username: 'alice', password: ALICE_PASSWORD }, insecure));

async function oauthError(promise: Promise<unknown>): Promise<{ status: number; body: unknown }> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  if (!(err instanceof oauth.ResponseBodyError)) throw new Error(`expected an OAuth error response, got ${String(err)}`);
  return { status: err.status, body: err.cause };
}

/** The next read of alice's record returns it as it was, then applies `change` as a reconcile would. */
function reconcileDuringNextRead(change: (writer: ConfigWriter, alice: UserRecord) => unknown): void {
  const users = s.raw.users as unknown as { get(name: string): unknown };
  const read = users.get.bind(users);
  users.get = (name: string) => {
    const record = read(name);
    if (name !== 'alice') return record;
    users.get = read;
    s.raw.root.transactionSync(() => change(configWriter(s.raw, s.now), record as UserRecord));
    s.advance(2_000);
    return record;
  };
}

describe('password grant (RFC 6749 4.3) racing a change of its user', () => {
  it.each([
    ['removed', (writer: ConfigWriter) => writer.delete('User', 'alice')],
    ['given a new password', (writer: ConfigWriter, alice: UserRecord) => writer.putUser({ ...alice, passwordSealed: 'sealed-anew' })],
  ] as const)('refuses the grant when the user is %s while its password is checked', async (_change, change) => {
    reconcileDuringNextRead(change);
    expect(await oauthError(passwordGrant())).toEqual({
      status: 400, body: { error: 'invalid_grant', error_description: 'the resource owner credentials are invalid' },
    });
  });

  it('issues nothing that outlives the application deactivated while the password is checked', async () => {
    reconcileDuringNextRead((writer) => writer.deactivateApplication('mobile', 'c'.repeat(40)));
    const raced = await passwordGrant();
    // Reactivated by a later commit: tokens from before the deactivation stay dead.
    s.advance(60_000);
    const inactive = s.raw.applications.get('mobile') as ApplicationRecord;
    s.raw.root.transactionSync(() => configWriter(s.raw, s.now).putApplication({ ...inactive, spec: { ...inactive.spec, state: 'active' } }));
    const introspect = async (token: string) =>
      oauth.processIntrospectionResponse(s.as, app.client, await oauth.introspectionRequest(s.as, app.client, authOf(app), token, insecure));
    expect(await introspect(raced.access_token)).toEqual({ active: false });
    expect(await introspect(raced.refresh_token!)).toEqual({ active: false });
    expect(await oauthError(oauth.processRefreshTokenResponse(s.as, app.client,
      await oauth.refreshTokenGrantRequest(s.as, app.client, authOf(app), raced.refresh_token!, insecure)))).toEqual({
      status: 400, body: { error: 'invalid_grant', error_description: 'the refresh token is invalid, expired or revoked' },
    });
    expect(await introspect((await passwordGrant()).access_token)).toMatchObject({ active: true, sub: 'user:alice' });
  });

  it('signs the user in once nothing changes under the check', async () => {
    reconcileDuringNextRead((writer, alice) => writer.putUser({ ...alice, passwordSealed: 'sealed-anew' }));
    await oauthError(passwordGrant());
    expect((await passwordGrant()).refresh_token).toBeDefined();
  });
});
