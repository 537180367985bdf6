// The portal's "Generate token" under an https issuer. The portal gets tokens from the server's
// own token endpoint; it used to call it as http://<listen address>/oauth2/token, which a TLS
// listener does not speak and which an https issuer refuses ("TLS is required"), so with any
// production issuer the button could only fail. Driven over real TLS, as a browser would.
import { request as httpsRequest } from 'node:https';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { resolveServeConfig } from '../config/defaults.ts';
import { portalFor } from '../portal/setup.ts';
import { tempDir } from '../../test/support/reconcile.ts';
import { startServer, type RunningServer } from './start.ts';
import { serverDeps } from '../../test/support/server.ts';
import { sealedRepo, type SealedRepo } from '../../test/support/serve-child.ts';
import { selfSignedCertificate, type TestCertificate } from '../../test/support/tls.ts';

const certs = tempDir('mergekey-portal-tls-');
let cert: TestCertificate;
let f: SealedRepo;
let server: RunningServer;
beforeAll(async () => {
  cert = selfSignedCertificate(certs.path, 'portal');
  f = await sealedRepo();
  const config = resolveServeConfig({
    repo: f.repo.path, data: f.data, port: '0', poll: '0', workers: '1', 'log-level': 'silent',
    issuer: 'https://auth.example.com', 'tls-cert-file': cert.certFile, 'tls-key-file': cert.keyFile,
  }, {});
  const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });
  server = await startServer(config, { ...serverDeps, plugins: (context) => [portalFor(context, { env: {} })], logDestination: quiet });
  await server.initialSync;
}, 30_000);
afterAll(async () => {
  await server?.close();
  f?.remove();
  certs.remove();
});

/** A browser's view of the portal over TLS: cookies kept, the certificate trusted. */
function browser() {
  const cookies = new Map<string, string>();
  return async (method: 'GET' | 'POST', path: string, form?: Record<string, string>): Promise<{ status: number; location?: string; html: string }> => {
    const body = form === undefined ? undefined : new URLSearchParams(form).toString();
    const headers: Record<string, string> = { cookie: [...cookies].map(([name, value]) => `${name}=${value}`).join('; ') };
    if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    return new Promise((resolve, reject) => {
      const req = httpsRequest(`${server.url}${path}`, { method, headers, ca: cert.cert, agent: false }, (res) => {
        for (const line of res.headers['set-cookie'] ?? []) {
          const [pair = ''] = line.split(';');
          const equals = pair.indexOf('=');
          const value = pair.slice(equals + 1);
          if (value === '') cookies.delete(pair.slice(0, equals));
          else cookies.set(pair.slice(0, equals), value);
        }
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode!, ...(res.headers.location === undefined ? {} : { location: res.headers.location }), html: Buffer.concat(chunks).toString('utf8') }));
      });
      req.on('error', reject);
      req.end(body);
    });
  };
}

const csrfOf = (html: string) => /name="_csrf" value="([^"]*)"/.exec(html)![1]!;

it('generates a token in the portal under an https issuer served over native TLS', { timeout: 30_000 }, async () => {
  const visit = browser();
  const signIn = await visit('GET', '/portal/sign-in');
  expect(signIn.status).toBe(200);
  expect((await visit('POST', '/portal/sign-in', { _csrf: csrfOf(signIn.html), name: 'alice', password: f.passwords.alice })).status).toBe(303);
  const details = await visit('GET', '/portal/apps/billing');
  expect(details.status).toBe(200);
  const posted = await visit('POST', '/portal/apps/billing/token', {
    _csrf: csrfOf(details.html), grant_type: 'client_credentials', client_secret: f.clients.billing!.secret,
  });
  // Post/redirect/get: the answer is shown once by the page the POST redirects to, which needs the
  // cookies the POST set (Secure ones, over TLS).
  expect([posted.status, posted.location]).toEqual([303, '/portal/apps/billing/token']);
  const result = await visit('GET', posted.location!);
  expect(result.html).not.toContain('No token');
  expect(result.status).toBe(200);
  expect(result.html).toMatch(/<code[^>]*>eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+<\/code>/);
});

it('still refuses a token request that reaches the public listener over plain HTTP', async () => {
  // The portal's own request does not travel over the network; nothing from outside is exempt.
  const plain = server.url.replace(/^https:/, 'http:');
  const answer = await fetch(`${plain}/oauth2/token`, { method: 'POST' }).then((r) => r.status, () => 'no HTTP answer');
  expect(answer).toBe('no HTTP answer');
});
