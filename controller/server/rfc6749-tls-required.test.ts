// RFC 6749 section 3.2: "Since requests to the token endpoint result in the transmission of
// clear-text credentials (in the HTTP request and response), the authorization server MUST
// require the use of TLS". With an https issuer `mergekey serve` refuses what arrived over plain
// HTTP — unless a trusted proxy (RFC 9700 section 4.13) says it arrived over TLS — and serves TLS
// natively, reloading its certificate on SIGHUP and when the files change, in every worker.
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import * as oauth from 'oauth4webapi';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, resolveServeConfig, type ServeFlags } from '../config/defaults.ts';
import { portalFor } from '../portal/setup.ts';
import { tempDir } from '../../test/support/reconcile.ts';
import { startServer, type RunningServer } from './start.ts';
import { serverDeps } from '../../test/support/server.ts';
import { authorizationServer, insecure, sealedRepo, serveChild, type SealedRepo } from '../../test/support/serve-child.ts';
import { fetchTrusting, selfSignedCertificate, servedCertificate, type TestCertificate } from '../../test/support/tls.ts';

const HTTPS_ISSUER = 'https://auth.example.com';
const REFUSED = {
  error: 'invalid_request',
  error_description: `TLS is required: the issuer is ${HTTPS_ISSUER}; send this request over https`,
};

const certs = tempDir('mergekey-tls-');
let a: TestCertificate;
let b: TestCertificate;
let c: TestCertificate;
beforeAll(() => {
  a = selfSignedCertificate(certs.path, 'a');
  b = selfSignedCertificate(certs.path, 'b');
  c = selfSignedCertificate(certs.path, 'c');
});
afterAll(() => certs.remove());

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function fixture(): Promise<SealedRepo> {
  const made = await sealedRepo();
  cleanups.push(() => made.remove());
  return made;
}

/** `mergekey serve` in this process, with the portal, its logs captured. */
async function serve(f: SealedRepo, flags: ServeFlags): Promise<{ server: RunningServer; logs: string[] }> {
  const logs: string[] = [];
  const logDestination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(...chunk.toString().split('\n').filter((line) => line !== ''));
      done();
    },
  });
  const config = resolveServeConfig({ repo: f.repo.path, data: f.data, port: '0', poll: '0', workers: '1', 'log-level': 'info', issuer: HTTPS_ISSUER, ...flags }, {});
  const server = await startServer(config, { ...serverDeps, plugins: (context) => [portalFor(context, { env: {} })], logDestination });
  cleanups.push(() => server.close());
  await server.initialSync;
  return { server, logs };
}

const basic = (f: SealedRepo, app: string) => `Basic ${Buffer.from(`${f.clients[app]!.clientId}:${f.clients[app]!.secret}`).toString('base64')}`;
const form = { 'content-type': 'application/x-www-form-urlencoded' };

/** Every route that takes a credential, and one that does not: with an https issuer all are refused over plain HTTP. */
function credentialRequests(f: SealedRepo): [string, RequestInit][] {
  return [
    ['/oauth2/token', { method: 'POST', headers: { ...form, authorization: basic(f, 'billing') }, body: 'grant_type=client_credentials' }],
    ['/oauth2/token', { method: 'POST', headers: form, body: new URLSearchParams({ grant_type: 'client_credentials', client_id: f.clients.billing!.clientId, client_secret: f.clients.billing!.secret }).toString() }],
    ['/oauth2/revoke', { method: 'POST', headers: { ...form, authorization: basic(f, 'billing') }, body: 'token=anything' }],
    ['/oauth2/introspect', { method: 'POST', headers: { ...form, authorization: basic(f, 'orders-rs') }, body: 'token=anything' }],
    ['/api/v1/apps/billing/tokens', { headers: { authorization: basic(f, 'billing') } }],
    ['/api/v1/apps/billing/tokens/abc', { method: 'DELETE', headers: { authorization: basic(f, 'billing') } }],
    ['/portal/sign-in', { method: 'POST', headers: form, body: new URLSearchParams({ name: 'alice', password: f.passwords.alice! }).toString() }],
    ['/portal/sign-in', {}],
    ['/.well-known/oauth-authorization-server', {}],
  ];
}

describe('an https issuer on a plain HTTP listener', () => {
  it('refuses every request, with or without a forged X-Forwarded-Proto, and says so at start', { timeout: 30_000 }, async () => {
    const f = await fixture();
    const { server, logs } = await serve(f, {});

    const forgeries: Record<string, string>[] = [{}, { 'x-forwarded-proto': 'https' }, { forwarded: 'proto=https', 'x-forwarded-for': '10.0.0.1' }];
    for (const forged of forgeries) {
      for (const [path, init] of credentialRequests(f)) {
        const response = await fetch(`${server.url}${path}`, { ...init, headers: { ...(init.headers as Record<string, string>), ...forged } });
        expect([path, response.status, await response.json(), response.headers.get('cache-control')]).toEqual([path, 400, REFUSED, 'no-store']);
      }
    }

    expect(logs.some((line) => line.includes('"level":40') && line.includes(`the issuer is ${HTTPS_ISSUER} but the public listener speaks plain HTTP and trusts no proxy: every request to it will be refused (400 invalid_request)`))).toBe(true);

    // A client library sees the same: no token.
    const as = await authorizationServer(server.url, f.issuer).catch(() => undefined);
    expect(as).toBeUndefined();
    const direct = { issuer: HTTPS_ISSUER, token_endpoint: `${server.url}/oauth2/token` };
    const billing = { client_id: f.clients.billing!.clientId };
    const refused = await oauth
      .clientCredentialsGrantRequest(direct, billing, oauth.ClientSecretBasic(f.clients.billing!.secret), {}, { ...insecure, headers: { 'x-forwarded-proto': 'https' } })
      .then((response) => oauth.processClientCredentialsResponse(direct, billing, response))
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(oauth.ResponseBodyError);
    expect((refused as oauth.ResponseBodyError).cause).toEqual(REFUSED);
  });

  it('believes X-Forwarded-Proto: https from a --trust-proxy address only', { timeout: 30_000 }, async () => {
    const f = await fixture();
    const { server, logs } = await serve(f, { 'trust-proxy': '10.0.0.0/8, 127.0.0.1' });
    expect(logs.some((line) => line.includes('speaks plain HTTP and trusts no proxy'))).toBe(false);
    const direct = { issuer: HTTPS_ISSUER, token_endpoint: `${server.url}/oauth2/token`, introspection_endpoint: `${server.url}/oauth2/introspect` };
    const billing = { client_id: f.clients.billing!.clientId };
    const viaProxy = (proto: string) => ({ ...insecure, headers: { 'x-forwarded-proto': proto, 'x-forwarded-for': '203.0.113.7' } });

    const issued = await oauth.processClientCredentialsResponse(direct, billing,
      await oauth.clientCredentialsGrantRequest(direct, billing, oauth.ClientSecretBasic(f.clients.billing!.secret), { scope: 'orders:read' }, viaProxy('https')));
    expect(issued).toMatchObject({ scope: 'orders:read' });
    const metadata = await fetch(`${server.url}/.well-known/oauth-authorization-server`, { headers: { 'x-forwarded-proto': 'https' } });
    expect([metadata.status, metadata.headers.get('strict-transport-security')]).toEqual([200, 'max-age=31536000']);
    const rs = { client_id: f.clients['orders-rs']!.clientId };
    expect(await oauth.processIntrospectionResponse(direct, rs,
      await oauth.introspectionRequest(direct, rs, oauth.ClientSecretBasic(f.clients['orders-rs']!.secret), issued.access_token, viaProxy('https')))).toMatchObject({ active: true });

    // The proxy says the client came over plain HTTP, or says nothing: refused all the same.
    const claims: Record<string, string>[] = [{ 'x-forwarded-proto': 'http' }, {}, { 'x-forwarded-proto': 'https, http' }];
    for (const headers of claims) {
      const response = await fetch(`${server.url}/oauth2/token`, { method: 'POST', headers: { ...form, ...headers, authorization: basic(f, 'billing') }, body: 'grant_type=client_credentials' });
      expect([response.status, await response.json()]).toEqual([400, REFUSED]);
    }
  });

  it('leaves an http issuer on plain HTTP alone (a local quickstart)', { timeout: 30_000 }, async () => {
    const f = await fixture();
    const { server, logs } = await serve(f, { issuer: 'http://127.0.0.1:8080' });
    expect(logs.some((line) => line.includes('speaks plain HTTP'))).toBe(false);
    const response = await fetch(`${server.url}/oauth2/token`, { method: 'POST', headers: { ...form, authorization: basic(f, 'billing') }, body: 'grant_type=client_credentials' });
    expect(response.status).toBe(200);
  });
});

describe('native TLS (--tls-cert-file, --tls-key-file)', () => {
  it('serves the OAuth endpoints over TLS to a client that trusts the certificate', { timeout: 30_000 }, async () => {
    const f = await fixture();
    const { server, logs } = await serve(f, { 'tls-cert-file': a.certFile, 'tls-key-file': a.keyFile });
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(server.adminUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(logs.some((line) => line.includes('speaks plain HTTP'))).toBe(false);
    expect(await servedCertificate(server.url, [a.cert])).toBe(a.fingerprint256);

    const trusting = { [oauth.customFetch]: fetchTrusting(a.cert) };
    const metadata = await fetchTrusting(a.cert)(`${server.url}/.well-known/oauth-authorization-server`, {});
    expect([metadata.status, metadata.headers.get('strict-transport-security')]).toEqual([200, 'max-age=31536000']);
    const as = { issuer: HTTPS_ISSUER, token_endpoint: `${server.url}/oauth2/token`, introspection_endpoint: `${server.url}/oauth2/introspect` };
    const billing = { client_id: f.clients.billing!.clientId };
    const issued = await oauth.processClientCredentialsResponse(as, billing,
      await oauth.clientCredentialsGrantRequest(as, billing, oauth.ClientSecretBasic(f.clients.billing!.secret), { scope: 'orders:read' }, trusting));
    const rs = { client_id: f.clients['orders-rs']!.clientId };
    expect(await oauth.processIntrospectionResponse(as, rs,
      await oauth.introspectionRequest(as, rs, oauth.ClientSecretBasic(f.clients['orders-rs']!.secret), issued.access_token, trusting))).toMatchObject({ active: true, iss: HTTPS_ISSUER });
  });

  it('reloads on SIGHUP in one process, and keeps the pair in use when the new one does not load', { timeout: 30_000 }, async () => {
    const f = await fixture();
    const dir = tempDir('mergekey-tls-one-');
    cleanups.push(() => dir.remove());
    const certFile = join(dir.path, 'tls.crt');
    const keyFile = join(dir.path, 'tls.key');
    copyFileSync(a.certFile, certFile);
    copyFileSync(a.keyFile, keyFile);
    const { server, logs } = await serve(f, { 'tls-cert-file': certFile, 'tls-key-file': keyFile });
    const trusted = [a.cert, b.cert];
    expect(await servedCertificate(server.url, trusted)).toBe(a.fingerprint256);
    const logged = async (pattern: RegExp) => {
      while (!logs.some((line) => pattern.test(line))) await new Promise((resolve) => setTimeout(resolve, 10));
    };

    // Half a renewal: b's certificate with a's key. Refused, and a stays in use.
    copyFileSync(b.certFile, certFile);
    process.kill(process.pid, 'SIGHUP');
    await logged(/"why":"SIGHUP".*"msg":"TLS certificate not reloaded; the previous one stays in use"/);
    expect(logs.join('\n')).not.toContain(readFileSync(a.keyFile, 'utf8').split('\n')[1]!);
    expect(await servedCertificate(server.url, trusted)).toBe(a.fingerprint256);

    copyFileSync(b.keyFile, keyFile);
    process.kill(process.pid, 'SIGHUP');
    await logged(new RegExp(`"why":"SIGHUP".*"fingerprint256":"${b.fingerprint256}".*"msg":"TLS certificate reloaded"`));
    expect(await servedCertificate(server.url, trusted)).toBe(b.fingerprint256);
  });

  it('refuses at start a configuration that cannot work', { timeout: 30_000 }, async () => {
    expect(() => resolveServeConfig({ repo: 'r', 'tls-cert-file': a.certFile }, {})).toThrow(
      new ConfigError('--tls-cert-file needs --tls-key-file: TLS takes a certificate and its private key'),
    );
    expect(() => resolveServeConfig({ repo: 'r' }, { MERGEKEY_TLS_KEY_FILE: a.keyFile })).toThrow(
      new ConfigError('--tls-key-file needs --tls-cert-file: TLS takes a certificate and its private key'),
    );
    expect(() => resolveServeConfig({ repo: 'r', 'trust-proxy': '10.0.0.0/8,proxy.internal' }, {})).toThrow(
      new ConfigError("--trust-proxy: expected a comma-separated list of IP addresses or CIDR ranges such as 10.0.0.0/8,::1, got '10.0.0.0/8,proxy.internal'"),
    );
    expect(() => resolveServeConfig({ repo: 'r', 'trust-proxy': '10.0.0.0/33' }, {})).toThrow(/--trust-proxy: expected/);
    expect(resolveServeConfig({ repo: 'r', 'trust-proxy': '10.0.0.0/8, ::1,192.0.2.1/32' }, {}).trustProxy).toEqual(['10.0.0.0/8', '::1', '192.0.2.1/32']);

    const f = await fixture();
    const flags = (more: ServeFlags) => resolveServeConfig({ repo: f.repo.path, data: f.data, port: '0', poll: '0', workers: '1', 'log-level': 'silent', ...more }, {});
    const missing = join(certs.path, 'missing.crt');
    await expect(startServer(flags({ 'tls-cert-file': missing, 'tls-key-file': a.keyFile }), serverDeps)).rejects.toThrow(
      new ConfigError(`--tls-cert-file: cannot read ${missing}: ENOENT`),
    );
    await expect(startServer(flags({ 'tls-cert-file': a.certFile, 'tls-key-file': b.keyFile }), serverDeps)).rejects.toThrow(
      /^--tls-cert-file .*a\.crt and --tls-key-file .*b\.key do not load as a certificate and its key: .*key values mismatch/,
    );
    await expect(startServer(flags({ 'tls-cert-file': a.keyFile, 'tls-key-file': a.keyFile }), serverDeps)).rejects.toThrow(/do not load as a certificate and its key/);

    // The CLI says it as a usage error, before opening anything.
    const child = serveChild(['--repo', f.repo.path, '--data', f.data, '--tls-cert-file', a.certFile], {});
    expect(await child.exit).toBe(2);
    expect(child.lines[0]).toBe('mergekey: --tls-cert-file needs --tls-key-file: TLS takes a certificate and its private key');
  });

  it('serves TLS from every worker and reloads the certificate in each on SIGHUP and when the files change', { timeout: 90_000 }, async () => {
    const f = await fixture();
    const dir = tempDir('mergekey-tls-live-');
    cleanups.push(() => dir.remove());
    const certFile = join(dir.path, 'tls.crt');
    const keyFile = join(dir.path, 'tls.key');
    const install = (cert: TestCertificate) => {
      copyFileSync(cert.certFile, certFile);
      copyFileSync(cert.keyFile, keyFile);
    };
    install(a);
    const child = serveChild(['--repo', f.repo.path, '--data', f.data, '--port', '0', '--poll', '0', '--workers', '2', '--issuer', HTTPS_ISSUER,
      '--tls-cert-file', certFile, '--tls-key-file', keyFile]);
    cleanups.push(() => child.stop());
    const url = await child.url();
    expect(url).toMatch(/^https:/);
    const trusted = [a.cert, b.cert, c.cert];
    // node:cluster hands new connections to the workers in turn: four reach both.
    const served = async () => Promise.all([0, 1, 2, 3].map(() => servedCertificate(url, trusted)));
    expect(new Set(await served())).toEqual(new Set([a.fingerprint256]));

    /** Waits until both workers logged a reload matching `pattern`. */
    const reloadedInBoth = async (pattern: string) => {
      const matching = new RegExp(`${pattern}.*"msg":"TLS certificate reloaded"`);
      const pids = new Set<number>();
      for (let seen = 0; pids.size < 2; seen++) pids.add((JSON.parse(await child.waitFor(matching, seen)) as { pid: number }).pid);
    };

    install(b);
    child.proc.kill('SIGHUP');
    await reloadedInBoth(`"why":"SIGHUP to the primary".*"fingerprint256":"${b.fingerprint256}"`);
    expect(new Set(await served())).toEqual(new Set([b.fingerprint256]));

    // A renewal written in place (cert-manager, certbot): each worker notices on its own.
    install(c);
    await reloadedInBoth(`"why":"a TLS file changed".*"fingerprint256":"${c.fingerprint256}"`);
    expect(new Set(await served())).toEqual(new Set([c.fingerprint256]));
    expect(await child.stop()).toBe(0);
  });
});
