// With an https issuer the session cookie is Secure and `__Host-` prefixed; sign-in needs no git
// or GitHub, so this runs the plugin alone on `inject`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { hashPassword } from '../sealing/hashes.ts';
import { openStore, type Store } from '../store/open.ts';
import { handlesOf } from '../store/handles.ts';
import { portalPlugin } from './plugin.ts';
import { Workspace } from './workspace.ts';
import { markerKey } from '../sealing/markers.ts';
import { randomBytes } from 'node:crypto';

let dir: string;
let store: Store;
let app: FastifyInstance;
let clock = Date.parse('2025-06-01T12:00:00Z');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mergekey-portal-cookies-'));
  store = openStore(dir);
  await handlesOf(store).users.put('alice', {
    v: 1,
    name: 'alice',
    path: 'users/alice.yaml',
    commit: 'c'.repeat(40),
    spec: { roles: ['developer'] },
    passwordHash: await hashPassword('alice-password'),
  });
  app = Fastify();
  await app.register(
    portalPlugin({
      store,
      markers: markerKey(randomBytes(32)),
      workspace: new Workspace({ repo: join(dir, 'none.git'), branch: 'main', dir: join(dir, 'clone'), github: undefined }),
      issuer: () => 'https://auth.example.com',
      now: () => clock,
    }),
  );
});

afterAll(async () => {
  await app?.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

function cookie(headers: Record<string, unknown>, name: string): string | undefined {
  const all = headers['set-cookie'];
  return (Array.isArray(all) ? all : [all]).find((value): value is string => typeof value === 'string' && value.startsWith(`${name}=`));
}

async function signIn(password: string) {
  const form = await app.inject({ method: 'GET', url: '/portal/sign-in' });
  const presession = cookie(form.headers, '__Host-mergekey-signin')!;
  expect(presession).toMatch(/; Secure/);
  const token = /name="_csrf" value="([^"]*)"/.exec(form.body)![1]!;
  return app.inject({
    method: 'POST',
    url: '/portal/sign-in',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: presession.split(';')[0]! },
    payload: new URLSearchParams({ _csrf: token, name: 'alice', password }).toString(),
  });
}

it('sets a Secure, HttpOnly, SameSite=Lax __Host- session cookie for an https issuer', async () => {
  const response = await signIn('alice-password');
  expect(response.statusCode).toBe(303);
  const session = cookie(response.headers, '__Host-mergekey-session')!;
  expect(session).toMatch(/^__Host-mergekey-session=[A-Za-z0-9_-]{43}; Max-Age=43200; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
});

it('ends every session of a user whose password changed', async () => {
  const response = await signIn('alice-password');
  const session = cookie(response.headers, '__Host-mergekey-session')!.split(';')[0]!;
  // Signed in, alice is refused the publishers' page (she is a developer): the session works.
  const before = await app.inject({ method: 'GET', url: '/portal/review', headers: { cookie: session } });
  expect(before.statusCode).toBe(403);
  const record = handlesOf(store).users.get('alice')!;
  await handlesOf(store).users.put('alice', { ...record, passwordHash: await hashPassword('a-new-password') });
  // Any signed-in page: the portal checks the session before anything else.
  const after = await app.inject({ method: 'GET', url: '/portal/review', headers: { cookie: session } });
  expect(after.statusCode).toBe(303);
  expect(after.headers.location).toBe('/portal/sign-in?next=%2Fportal%2Freview');
  await handlesOf(store).users.put('alice', record);
});

it('ends a session left idle for an hour', async () => {
  const response = await signIn('alice-password');
  const session = cookie(response.headers, '__Host-mergekey-session')!.split(';')[0]!;
  clock += 59 * 60_000;
  expect((await app.inject({ method: 'GET', url: '/portal/review', headers: { cookie: session } })).statusCode).toBe(403);
  // That request counted as activity; an hour more without one ends it.
  clock += 61 * 60_000;
  const after = await app.inject({ method: 'GET', url: '/portal/review', headers: { cookie: session } });
  expect(after.statusCode).toBe(303);
});
