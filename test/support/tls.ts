// Test fixtures for TLS: a self-signed certificate for 127.0.0.1 made by openssl in a temporary
// directory (never committed), and clients that trust it: a fetch for oauth4webapi over
// node:https, and the certificate a new connection is shown.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { connect } from 'node:tls';

export interface TestCertificate {
  certFile: string;
  keyFile: string;
  /** PEM. */
  cert: string;
  fingerprint256: string;
}

/** A fresh P-256 key and a self-signed certificate for 127.0.0.1, as `NAME.crt` and `NAME.key` in `dir`. */
export function selfSignedCertificate(dir: string, name: string): TestCertificate {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
    '-subj', `/CN=127.0.0.1 ${name}`, '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile,
  ], { stdio: 'ignore' });
  const fingerprint = execFileSync('openssl', ['x509', '-in', certFile, '-noout', '-fingerprint', '-sha256'], { encoding: 'utf8' });
  return { certFile, keyFile, cert: readFileSync(certFile, 'utf8'), fingerprint256: fingerprint.trim().split('=')[1]! };
}

/** A `fetch` that trusts `ca` (and nothing else): what oauth4webapi's `customFetch` takes. */
export function fetchTrusting(ca: string | string[]): (url: string, init: RequestInit) => Promise<Response> {
  return (url, init) =>
    new Promise((resolve, reject) => {
      const headers = Object.fromEntries(new Headers(init.headers).entries());
      const req = httpsRequest(url, { method: init.method ?? 'GET', headers, ca, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const answered = new Headers();
          for (const [key, value] of Object.entries(res.headers)) if (typeof value === 'string') answered.set(key, value);
          resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 0, headers: answered }));
        });
      });
      req.on('error', reject);
      req.end(init.body === undefined || init.body === null ? undefined : String(init.body));
    });
}

/** The SHA-256 fingerprint of the certificate a new TLS connection to `url` is shown (verified against `ca`). */
export function servedCertificate(url: string, ca: string[]): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port), ca }, () => {
      const fingerprint = socket.getPeerX509Certificate()?.fingerprint256;
      socket.end();
      if (fingerprint === undefined) reject(new Error('no peer certificate'));
      else resolve(fingerprint);
    });
    socket.on('error', reject);
  });
}
