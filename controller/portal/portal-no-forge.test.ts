// A server with no forge (no GitHub token: a production server serving tokens only). The portal
// offers nothing it cannot do (no New Application, Edit, Deactivate, Rotate secret, review), says
// why once in plain words, and its routes refuse what its pages do not offer.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { signInByInject } from '../../test/support/portal.ts';
import { appYaml, manifestFiles } from '../../test/support/requests-world.ts';
import { createTestRepository, type TestRepository } from '../../forge/index.ts';
import { makeSealingKey } from '../../test/support/manifests/repo.ts';
import { hashPassword } from '../sealing/hashes.ts';
import { openStore, type Store } from '../store/open.ts';
import { handlesOf } from '../store/handles.ts';
import { portalPlugin } from './plugin.ts';
import { NO_FORGE, NO_FORGE_HINT } from './policy.ts';
import { Workspace } from './workspace.ts';
import { markerKey } from '../sealing/markers.ts';
import { randomBytes } from 'node:crypto';

let dir: string;
let store: Store;
let repo: TestRepository;
let app: FastifyInstance;
let cookie: string;

/** How the page writes a sentence: html.ts escapes apostrophes and quotes. */
const escaped = (text: string) => text.replaceAll("'", '&#39;').replaceAll('"', '&quot;');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mergekey-portal-no-forge-'));
  const key = await makeSealingKey();
  repo = await createTestRepository({
    ...(await manifestFiles({ x: String(key.publicJwk.x), kid: key.kid })),
    'apps/billing.yaml': await appYaml(key, 'billing', { owner: 'alice' }),
  });
  store = openStore(dir);
  // Both roles: a publisher who would see the review queue on a server with a forge.
  await handlesOf(store).users.put('alice', { v: 1, name: 'alice', path: 'users/alice.yaml', commit: 'c'.repeat(40), spec: { roles: ['developer', 'publisher'] }, passwordHash: await hashPassword('alice-password') });
  app = Fastify();
  await app.register(
    portalPlugin({
      store,
      markers: markerKey(randomBytes(32)),
      workspace: new Workspace({ repo: repo.bareDir, branch: 'main', dir: join(dir, 'portal'), github: undefined }),
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

const get = (url: string) => app.inject({ method: 'GET', url, headers: { cookie } });

it('lists what is on main, says once why nothing can be asked for, and offers no request', async () => {
  const page = await get('/portal/apps');
  expect(page.statusCode).toBe(200);
  expect(page.body.split(NO_FORGE)).toHaveLength(2);
  expect(page.body).toContain(escaped(NO_FORGE_HINT));
  expect(page.body).not.toContain('GitHub answers again');
  expect(page.body).not.toContain('New Application');
  expect(page.body).not.toContain('/portal/review');
  expect(page.body).toMatch(/<a href="\/portal\/apps\/billing">billing<\/a>[\s\S]*<span class="status status--approved">approved<\/span>[\s\S]*<span class="state state--active">active<\/span>/);
});

it('shows an application with no action that needs a forge, and says why once', async () => {
  const page = await get('/portal/apps/billing');
  expect(page.statusCode).toBe(200);
  expect(page.body.split(NO_FORGE)).toHaveLength(2);
  expect(page.body).not.toContain('class="actions"');
  for (const path of ['edit', 'deactivate', 'reactivate', 'rotate', 'cancel']) expect(page.body).not.toContain(`/portal/apps/billing/${path}"`);
});

it('refuses every request route with the same plain words (503), and a publisher sees the reason, not an empty queue', async () => {
  for (const path of ['/portal/apps/new', '/portal/apps/billing/edit', '/portal/apps/billing/deactivate', '/portal/apps/billing/rotate', '/portal/apps/billing/cancel']) {
    const response = await get(path);
    expect(response.statusCode, path).toBe(503);
    expect(response.body, path).toContain(NO_FORGE);
  }
  const queue = await get('/portal/review');
  expect(queue.statusCode).toBe(200);
  expect(queue.body).toContain(NO_FORGE);
  expect(queue.body).not.toContain('Nothing to review');
});
