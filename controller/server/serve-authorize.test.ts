// The composition root wires the authorization endpoint's work into the portal
// (PortalDeps.authorization, bound to this process's OAuth server): /portal/authorize checks a
// request with the OAuth server's own parser. Without the wiring the portal's pages answer 404.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { resolveServeConfig } from '../config/defaults.ts';
import { portalFor } from '../portal/setup.ts';
import { serverDeps } from '../../test/support/server.ts';
import { sealedRepo, type SealedRepo } from '../../test/support/serve-child.ts';
import { send } from '../../test/support/oauth-server.ts';
import { startServer, type RunningServer } from './start.ts';

let f: SealedRepo;
let server: RunningServer;
beforeAll(async () => {
  f = await sealedRepo();
  const config = resolveServeConfig({ repo: f.repo.path, data: f.data, port: '0', poll: '0', workers: '1', 'log-level': 'silent' }, {});
  const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });
  server = await startServer(config, { ...serverDeps, plugins: (context) => [portalFor(context, { env: {} })], logDestination: quiet });
  await server.initialSync;
}, 30_000);
afterAll(async () => {
  await server?.close();
  f?.remove();
});

it('checks an authorization request the same way at /oauth2/authorize and at /portal/authorize', async () => {
  const query = new URLSearchParams({
    response_type: 'code', client_id: f.clients.billing!.clientId, redirect_uri: 'https://billing.example.test/callback',
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256', state: 's1',
  }).toString();
  for (const path of ['/oauth2/authorize', '/portal/authorize']) {
    const answer = await send('GET', `${server.url}${path}?${query}`);
    expect([path, answer.status, answer.headers.location]).toEqual([path, 400, undefined]);
    expect(String(answer.body)).toContain('The redirect URI (redirect_uri) is not one registered for this application.');
  }
});
