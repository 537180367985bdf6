// A Plan's token lifetimes at the edge of what the schema's duration form allows (999999999d, 2.7
// million years) once passed validation, issued tokens whose expiry no JavaScript Date can hold,
// and made the token listing answer 500. Lifetimes are bounded (a day for access tokens, 366 days
// for refresh tokens): such a plan is refused in the status and its last good version, here the
// schema's defaults, keeps applying. A real server, a real repository, real HTTP.
import { afterEach, describe, expect, it } from 'vitest';
import { PLAN_YAML } from '../../test/support/reconcile.ts';
import { startTestServer, waitFor, type TestServer } from '../../test/support/server.ts';

const running: TestServer[] = [];
afterEach(async () => {
  for (const t of running.splice(0)) await t.stop();
});

describe('plan lifetimes at the edge of the duration form', () => {
  it('are refused in the status, and tokens keep the last good lifetimes, listable', { timeout: 30_000 }, async () => {
    const t = await startTestServer();
    running.push(t);
    await t.commit({ 'plans/standard.yaml': `${PLAN_YAML}  accessTokenTtl: 999999999d\n  refreshTokenTtl: 999999999d\n` });
    expect((await fetch(`${t.server.adminUrl}/api/v1/sync?wait=true`, { method: 'POST' })).status).toBe(200);
    const status = (await (await fetch(`${t.server.adminUrl}/api/v1/status`)).json()) as { objectStatuses: { path: string; problems: { message: string }[] }[] };
    expect(status.objectStatuses.find((o) => o.path === 'plans/standard.yaml')?.problems.map((p) => p.message)).toEqual([
      'spec.accessTokenTtl: must be at most 24h (86400 seconds), not 999999999d',
      'spec.refreshTokenTtl: must be at most 366d (31622400 seconds), not 999999999d',
    ]);

    const basic = `Basic ${Buffer.from(`billing-client-0001:${t.plaintexts[0]!}`).toString('base64')}`;
    const issued = await fetch(`${t.server.url}/oauth2/token`, {
      method: 'POST', headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials',
    });
    expect(issued.status).toBe(200);
    expect(((await issued.json()) as { expires_in: number }).expires_in).toBe(15 * 60);
    // The record is written in the background: list until it is there (or the listing fails).
    let listed: { status: number; text: string } = { status: 0, text: '' };
    await waitFor(async () => {
      const response = await fetch(`${t.server.url}/api/v1/apps/billing/tokens`, { headers: { authorization: basic } });
      listed = { status: response.status, text: await response.text() };
      return listed.status !== 200 || listed.text.includes('expiresAt');
    }, 'the token in the listing');
    expect(listed.status).toBe(200);
  });
});
