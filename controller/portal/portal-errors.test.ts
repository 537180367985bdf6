// The error state the brief asks to design: GitHub unreachable. The portal still signs people in
// and lists what is on the main branch, says why the rest is missing, and refuses requests with
// GitHub's own words.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { signInByInject } from '../../test/support/portal.ts';
import { appYaml, manifestFiles } from '../../test/support/requests-world.ts';
import { createGitHubClient } from '../github/index.ts';
import { createTestRepository, type TestRepository } from '../../forge/index.ts';
import { makeSealingKey } from '../../test/support/manifests/repo.ts';
import { hashPassword } from '../sealing/hashes.ts';
import { openStore, type Store } from '../store/open.ts';
import { handlesOf } from '../store/handles.ts';
import { portalPlugin } from './plugin.ts';
import { Workspace } from './workspace.ts';
import { markerKey } from '../sealing/markers.ts';
import { randomBytes } from 'node:crypto';

let dir: string;
let store: Store;
let repo: TestRepository;
let app: FastifyInstance;
let cookie: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mergekey-portal-errors-'));
  const key = await makeSealingKey();
  repo = await createTestRepository({
    ...(await manifestFiles({ x: String(key.publicJwk.x), kid: key.kid })),
    'apps/billing.yaml': await appYaml(key, 'billing', { owner: 'alice' }),
  });
  store = openStore(dir);
  await handlesOf(store).users.put('alice', { v: 1, name: 'alice', path: 'users/alice.yaml', commit: 'c'.repeat(40), spec: { roles: ['developer'] }, passwordHash: await hashPassword('alice-password') });
  // Nothing listens on the discard port: every GitHub call fails at once.
  const github = { baseUrl: 'http://127.0.0.1:9', host: '127.0.0.1', owner: 'acme', repo: 'manifests', token: 'tok' };
  app = Fastify();
  await app.register(
    portalPlugin({
      store,
      markers: markerKey(randomBytes(32)),
      workspace: new Workspace({ repo: repo.bareDir, branch: 'main', dir: join(dir, 'portal'), github: { config: github, backend: createGitHubClient(github, { timeoutMs: 2000 }) } }),
      issuer: () => 'http://127.0.0.1',
    }),
  );
  cookie = await signInByInject(app, 'alice', 'alice-password');
});

afterAll(async () => {
  await app?.close();
  await store?.close();
  await repo?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

it('lists the applications on main with a banner saying GitHub cannot be reached', async () => {
  const page = await app.inject({ method: 'GET', url: '/portal/apps', headers: { cookie } });
  expect(page.statusCode).toBe(200);
  expect(page.body).toContain('GitHub cannot be reached: cannot reach GitHub at http://127.0.0.1:9 while');
  expect(page.body).toContain('The list shows what is on the main branch; requests awaiting approval, rejected and cancelled are missing until GitHub answers again.');
  expect(page.body).toMatch(/<a href="\/portal\/apps\/billing">billing<\/a>[\s\S]*state--active/);
});

it('refuses a request with GitHub’s error, and opens nothing', async () => {
  const form = await app.inject({ method: 'GET', url: '/portal/apps/new', headers: { cookie } });
  const csrf = /name="_csrf" value="([^"]*)"/.exec(form.body)![1]!;
  const response = await app.inject({
    method: 'POST',
    url: '/portal/apps',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ _csrf: csrf, name: 'ledger', description: 'Keeps the books.', grantType: 'client_credentials' }).toString(),
  });
  expect(response.statusCode).toBe(502);
  expect(response.body).toContain('cannot reach GitHub at http://127.0.0.1:9');
  expect(await repo.log('main', '%s')).toBe('Seed the manifests repository');
});
