// `mergekey serve --state postgres://…` as an operator runs it, over a real PostgreSQL
// (test/support/postgres.ts) and real processes: it migrates with --migrate and serves with its
// shared state in PostgreSQL; while the server is stopped every request that needs shared state
// answers 503 with Retry-After, readiness turns false and says why, while liveness, the metadata
// and the JWKS keep answering; once the server is back the same processes serve again, with no
// restart; and a start it cannot serve (a schema newer than it knows, a wrong password, an
// unreachable server, a malformed URL) is refused with a message that names the server and never
// the password.
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { sharedDatabases } from '../../test/support/shared-db.ts';
import { sealedRepo, serveChild, type SealedRepo, type ServeChild } from '../../test/support/serve-child.ts';
import { knownMigrations } from '../store/postgres/migrate.ts';

const pg = sharedDatabases();
const { onCleanup } = pg;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

/** One request on a connection of its own, so that consecutive ones reach each worker in turn. */
function call(url: string, options: { form?: Record<string, string>; basic?: { id: string; secret: string } } = {}): Promise<Answer> {
  const body = options.form === undefined ? undefined : new URLSearchParams(options.form).toString();
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: body === undefined ? 'GET' : 'POST',
      agent: false,
      headers: {
        connection: 'close',
        ...(body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }),
        ...(options.basic === undefined ? {} : { authorization: `Basic ${Buffer.from(`${options.basic.id}:${options.basic.secret}`).toString('base64')}` }),
      },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: /json/.test(res.headers['content-type'] ?? '') ? JSON.parse(text) : text });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** True once `n` consecutive answers (so every worker, in turn) had `status`; polls, asserts no time. */
async function allAnswer(ask: () => Promise<Answer>, status: number, n: number, limit = 2000): Promise<boolean> {
  for (let tries = 0, streak = 0; tries < limit; tries++) {
    streak = (await ask()).status === status ? streak + 1 : 0;
    if (streak === n) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}

/** A sealed repository and a `mergekey serve --state <url> …` child on it. */
async function serving(state: string, extra: string[]): Promise<{ f: SealedRepo; server: ServeChild }> {
  const f = await sealedRepo();
  onCleanup(() => f.remove());
  const server = serveChild(['--repo', f.repo.path, '--data', f.data, '--port', '0', '--poll', '0', ...extra], { MERGEKEY_STATE: state });
  onCleanup(() => server.stop());
  return { f, server };
}

/** The client calls of the fixture: a token for billing, introspection by orders-rs, revocation by billing. */
function clientCalls(f: SealedRepo, url: string) {
  const billing = { id: f.clients.billing!.clientId, secret: f.clients.billing!.secret };
  const resourceServer = { id: f.clients['orders-rs']!.clientId, secret: f.clients['orders-rs']!.secret };
  const mobile = { id: f.clients.mobile!.clientId, secret: f.clients.mobile!.secret };
  return {
    token: () => call(`${url}/oauth2/token`, { form: { grant_type: 'client_credentials', scope: 'orders:read' }, basic: billing }),
    introspect: (token: string) => call(`${url}/oauth2/introspect`, { form: { token }, basic: resourceServer }),
    revoke: (token: string) => call(`${url}/oauth2/revoke`, { form: { token }, basic: billing }),
    list: () => call(`${url}/api/v1/apps/billing/tokens`, { basic: billing }),
    signIn: () => call(`${url}/oauth2/token`, { form: { grant_type: 'password', username: 'alice', password: f.passwords.alice!, scope: 'open' }, basic: mobile }),
    refresh: (refreshToken: string) => call(`${url}/oauth2/token`, { form: { grant_type: 'refresh_token', refresh_token: refreshToken }, basic: mobile }),
  };
}

/** Signs `name` in to the portal over HTTP (the form, its CSRF token, the POST); returns the session cookie. */
async function signIn(url: string, name: string, password: string): Promise<string> {
  const form = await fetch(`${url}/portal/sign-in`);
  const presession = form.headers.getSetCookie()[0]!.split(';')[0]!;
  const csrf = /name="_csrf" value="([^"]*)"/.exec(await form.text())![1]!;
  const signedIn = await fetch(`${url}/portal/sign-in`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: presession },
    body: new URLSearchParams({ _csrf: csrf, name, password }).toString(),
  });
  return signedIn.headers.getSetCookie().find((value) => value.startsWith('mergekey-session='))!.split(';')[0]!;
}

const accessToken = (answer: Answer) => (answer.body as { access_token: string }).access_token;

describe('mergekey serve --state postgres://…', () => {
  it('migrates with --migrate and issues, introspects and revokes tokens', { timeout: 120_000 }, async () => {
    const url = await pg.cluster.createDatabase();
    const { f, server } = await serving(url, ['--migrate', '--workers', '1']);
    const served = await server.url();
    const adminUrl = await server.adminUrl();
    expect(await allAnswer(() => call(`${adminUrl}/readyz`), 200, 1)).toBe(true);
    const database = new URL(url).pathname.slice(1);
    expect(await pg.cluster.psql('SELECT max(version) FROM schema_migrations', database)).toBe(`${knownMigrations().length}\n`);
    // The signing keyring the server made at start is the shared one, its private keys encrypted.
    expect(await pg.cluster.psql("SELECT jsonb_array_length(keyring->'keys') > 0 FROM signing_keyring", database)).toBe('t\n');

    const client = clientCalls(f, served);
    const issued = await client.token();
    expect(issued.status).toBe(200);
    const token = accessToken(issued);
    const jti = (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { jti: string }).jti;
    // The token's record is a row of the shared database, not of the data directory (records are
    // written in batches, so it may take a moment).
    const record = () => pg.cluster.psql(`SELECT app, client_id FROM access_tokens WHERE jti = '${jti}'`, database);
    let row = await record();
    for (let tries = 0; row === '' && tries < 200; tries++) row = await record();
    expect(row).toBe(`billing|${f.clients.billing!.clientId}\n`);
    expect((await client.introspect(token)).body).toMatchObject({ active: true, client_id: f.clients.billing!.clientId });
    expect((await client.revoke(token)).status).toBe(200);
    expect((await client.introspect(token)).body).toEqual({ active: false });
    // Revoked: a tombstone in its place.
    expect(await pg.cluster.psql(`SELECT app FROM revoked_access_tokens WHERE jti = '${jti}'`, database)).toBe('billing\n');
    expect(await record()).toBe('');
    expect(await server.stop()).toBe(0);
    expect(server.lines.join('\n')).not.toContain(pg.cluster.password);
  });

  it('fails closed while PostgreSQL is down, keeps metadata and JWKS, and recovers without a restart (--workers 2)', { timeout: 180_000 }, async () => {
    const url = await pg.cluster.createDatabase();
    const { f, server } = await serving(url, ['--migrate', '--workers', '2']);
    const served = await server.url();
    const adminUrl = await server.adminUrl();
    const ready = () => call(`${adminUrl}/readyz`);
    expect(await allAnswer(ready, 200, 1)).toBe(true);
    const client = clientCalls(f, served);
    const before = await client.token();
    expect(before.status).toBe(200);
    const signedIn = await client.signIn();
    expect(signedIn.status).toBe(200);
    const refreshToken = (signedIn.body as { refresh_token: string }).refresh_token;
    const session = await signIn(served, 'alice', f.passwords.alice!);
    const portalPage = () => fetch(`${served}/portal/apps`, { headers: { cookie: session }, redirect: 'manual' });
    expect((await portalPage()).status).toBe(200);
    const pids = server.lines.filter((line) => /serving on|\(pid \d+\) serving/.test(line)).length;

    await pg.cluster.stopServer();
    let restarted = false;
    onCleanup(() => (restarted ? undefined : pg.cluster.startServer()));
    // Readiness follows within the probe's period, whichever worker's pool noticed first.
    expect(await allAnswer(ready, 503, 1)).toBe(true);
    const notReady = await ready();
    expect(notReady.body).toEqual({ ready: false, message: expect.stringMatching(new RegExp(`^cannot reach PostgreSQL at 127\\.0\\.0\\.1:${pg.cluster.port}: `)) });
    expect(JSON.stringify(notReady.body)).not.toContain(pg.cluster.password);
    // A client_credentials grant writes its token's record after answering (in a batch, as on
    // LMDB), so a worker whose pool has not yet met the outage, neither in a request nor in its
    // probe (once a second), still issues; from then on every worker refuses until it ends.
    expect(await allAnswer(() => client.token(), 503, 4)).toBe(true);
    // Every worker in turn: each fails closed on its own pool.
    for (let i = 0; i < 4; i++) {
      const refused = [
        await client.token(), await client.signIn(), await client.refresh(refreshToken),
        await client.introspect(accessToken(before)), await client.revoke(accessToken(before)), await client.list(),
      ];
      for (const answer of refused) {
        expect(answer.status).toBe(503);
        expect(answer.headers['retry-after']).toMatch(/^\d+$/);
        expect(answer.body).toMatchObject({ error: 'temporarily_unavailable' });
      }
    }
    // The portal cannot find the session: a page saying so, not a 500, nor the sign-in page.
    const unavailablePage = await portalPage();
    expect([unavailablePage.status, unavailablePage.headers.get('retry-after')]).toEqual([503, '5']);
    expect(await unavailablePage.text()).toContain('The server cannot reach its database right now.');
    expect((await call(`${adminUrl}/healthz`)).status).toBe(200);
    expect((await call(`${served}/.well-known/oauth-authorization-server`)).status).toBe(200);
    const jwks = await call(`${served}/oauth2/jwks`);
    expect(jwks.status).toBe(200);
    expect((jwks.body as { keys: unknown[] }).keys.length).toBeGreaterThan(0);

    await pg.cluster.startServer();
    restarted = true;
    expect(await allAnswer(ready, 200, 1)).toBe(true);
    expect(await allAnswer(() => client.token(), 200, 4)).toBe(true);
    // The token issued before the outage is still known: nothing was lost, the revocation refused above did not happen.
    expect((await client.introspect(accessToken(before))).body).toMatchObject({ active: true });
    expect((await client.list()).status).toBe(200);
    // The refreshes refused during the outage spent nothing: the refresh token rotates once now.
    expect((await client.refresh(refreshToken)).status).toBe(200);
    expect((await client.refresh(refreshToken)).body).toMatchObject({ error: 'invalid_grant' });
    // And so is the portal session made before it.
    expect((await portalPage()).status).toBe(200);

    // The same processes: none exited, none was restarted.
    expect(server.proc.exitCode).toBeNull();
    expect(server.lines.filter((line) => /serving on|\(pid \d+\) serving/.test(line)).length).toBe(pids);
    expect(server.lines.filter((line) => /exited with|Unhandled|uncaught/i.test(line))).toEqual([]);
    expect(server.lines.join('\n')).not.toContain(pg.cluster.password);
  });
});

describe('mergekey serve --state postgres://… when PostgreSQL stops answering', () => {
  it('answers 503 instead of hanging, and serves again once it answers', { timeout: 120_000 }, async () => {
    const url = await pg.cluster.createDatabase();
    const { f, server } = await serving(url, ['--migrate', '--workers', '1']);
    const served = await server.url();
    const adminUrl = await server.adminUrl();
    expect(await allAnswer(() => call(`${adminUrl}/readyz`), 200, 1)).toBe(true);
    const client = clientCalls(f, served);
    const issued = await client.token();
    expect(issued.status).toBe(200);

    await pg.cluster.pauseServer();
    let resumed = false;
    onCleanup(() => (resumed ? undefined : pg.cluster.resumeServer()));
    // Open connections wait on a frozen backend, new ones on a frozen postmaster: both give up
    // within the bounds (postgres/db.ts), and the request fails closed.
    const refused = await client.introspect(accessToken(issued));
    expect([refused.status, refused.headers['retry-after'], refused.body]).toEqual([503, '5', expect.objectContaining({ error: 'temporarily_unavailable' })]);
    const notReady = await call(`${adminUrl}/readyz`);
    expect(notReady.status).toBe(503);

    await pg.cluster.resumeServer();
    resumed = true;
    expect(await allAnswer(() => call(`${adminUrl}/readyz`), 200, 1)).toBe(true);
    expect((await client.introspect(accessToken(issued))).body).toMatchObject({ active: true });
    expect(server.proc.exitCode).toBeNull();
  });
});

describe('mergekey serve --state postgres://… refuses to start', () => {
  /** Starts a server that must not start: its exit code and everything it printed. */
  async function refusedStart(state: string, extra: string[] = []): Promise<{ code: number | null; output: string }> {
    const { server } = await serving(state, ['--workers', '1', ...extra]);
    const code = await server.exit;
    return { code, output: server.lines.join('\n') };
  }

  it('on a schema newer than it knows, before anything listens', { timeout: 60_000 }, async () => {
    const { url, name: database } = await pg.freshDatabase();
    const next = knownMigrations().length + 1;
    await pg.cluster.psql(`INSERT INTO schema_migrations (version, name, checksum) VALUES (${next}, '00${next}-future', 'x')`, database);
    const { code, output } = await refusedStart(url);
    expect(code).toBe(1);
    expect(output).toContain(`the database's schema is at version ${next}, newer than this Mergekey knows (version ${next - 1}): run a Mergekey release that knows it`);
    expect(output).not.toMatch(/serving on/);
  });

  it('on a schema it was not migrated to (no --migrate)', { timeout: 60_000 }, async () => {
    const { code, output } = await refusedStart(await pg.cluster.createDatabase());
    expect(code).toBe(1);
    expect(output).toContain("the database's schema is at version 0, older than this Mergekey needs");
    expect(output).toContain('Start with --migrate, or run `mergekey db migrate` first.');
  });

  it('on a wrong password, without printing it', { timeout: 60_000 }, async () => {
    const url = new URL(await pg.cluster.createDatabase());
    url.password = 'wrong-password-s3cret';
    const { code, output } = await refusedStart(url.href);
    expect(code).toBe(1);
    expect(output).toContain(`PostgreSQL at 127.0.0.1:${pg.cluster.port} refused the credentials`);
    expect(output).not.toContain('wrong-password-s3cret');
  });

  it('on an unreachable server, naming host and port, without printing the password', { timeout: 60_000 }, async () => {
    const { code, output } = await refusedStart('postgres://mergekey:s3cret-pw@127.0.0.1:1/mergekey');
    expect(code).toBe(1);
    expect(output).toContain('cannot reach PostgreSQL at 127.0.0.1:1');
    expect(output).not.toContain('s3cret-pw');
  });

  it('on a --state that is not a postgres URL, as a usage error, without printing the password', { timeout: 60_000 }, async () => {
    const { code, output } = await refusedStart('mysql://mergekey:s3cret-pw@db/mergekey');
    expect(code).toBe(2);
    expect(output).toContain('MERGEKEY_STATE: expected lmdb or a postgres://USER:PASSWORD@HOST:PORT/DATABASE URL, got mysql://mergekey:***@db/mergekey');
    expect(output).not.toContain('s3cret-pw');
  });
});
