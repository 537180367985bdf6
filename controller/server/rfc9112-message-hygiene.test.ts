// Requests whose bytes are malformed or whose meaning is ambiguous, sent as raw bytes to a real
// `mergekey serve` on loopback (both listeners): each gets a 400-class answer in the server's one
// error shape (RFC 6749 `invalid_request`, no-store, nosniff), never Fastify's or Node's own body,
// and a request that two parties could read two ways is refused before any route reads it.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveServeConfig } from '../config/defaults.ts';
import { basicAuthorization } from '../oauth/basic.ts';
import { startServer, type RunningServer } from './start.ts';
import { serverDeps } from '../../test/support/server.ts';
import { sealedRepo, type SealedRepo } from '../../test/support/serve-child.ts';

let fixture: SealedRepo;
let server: RunningServer;
let billing: { id: string; secret: string };
beforeAll(async () => {
  fixture = await sealedRepo();
  const config = resolveServeConfig({ repo: fixture.repo.path, data: fixture.data, port: '0', poll: '0', workers: '1', 'log-level': 'silent' }, {});
  server = await startServer(config, serverDeps);
  await server.initialSync;
  billing = { id: fixture.clients.billing!.clientId, secret: fixture.clients.billing!.secret };
}, 30_000);
afterAll(async () => {
  await server?.close();
  fixture?.remove();
});

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Writes `bytes` as they are on a new connection and reads the answer until the server closes it. */
function send(url: string, bytes: string): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.end(bytes));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') });
    });
  });
}

const FORM = 'grant_type=client_credentials';
const tokenRequest = (headers: string[], body = FORM) =>
  `POST /oauth2/token HTTP/1.1\r\n${headers.map((h) => `${h}\r\n`).join('')}Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;

/** The headers every error answer carries. */
function expectErrorHeaders(answer: RawAnswer): void {
  expect(answer.headers).toMatchObject({
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
}

describe('a request Node cannot parse (RFC 9112 section 2.2, 5) gets the server\'s error shape', () => {
  const unparsable: [string, string, number, string][] = [
    ['an obsolete line folding', 'GET /oauth2/jwks HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n', 400, 'the request is not a well-formed HTTP/1.1 message'],
    ['a space before the colon', 'GET /oauth2/jwks HTTP/1.1\r\nHost: a\r\nAuthorization : x\r\n\r\n', 400, 'the request is not a well-formed HTTP/1.1 message'],
    ['a control character in a field value', 'GET /oauth2/jwks HTTP/1.1\r\nHost: a\r\nX-A: b\u0001c\r\n\r\n', 400, 'the request is not a well-formed HTTP/1.1 message'],
    ['two different Content-Length values', 'POST /oauth2/token HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab', 400, 'the request is not a well-formed HTTP/1.1 message'],
    ['Content-Length and Transfer-Encoding together', 'POST /oauth2/token HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400, 'the request is not a well-formed HTTP/1.1 message'],
    ['header fields past the size limit', `GET /oauth2/jwks HTTP/1.1\r\nHost: a\r\nX-A: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'the request header fields are too large'],
  ];
  for (const [what, bytes, status, description] of unparsable) {
    it(`${what}: ${status} invalid_request on both listeners`, async () => {
      for (const url of [server.url, server.adminUrl]) {
        const answer = await send(url, bytes);
        expect([answer.status, JSON.parse(answer.body)]).toEqual([status, { error: 'invalid_request', error_description: description }]);
        expectErrorHeaders(answer);
        expect(answer.headers.connection).toBe('close');
      }
    });
  }
});

describe('an expectation the server does not meet (RFC 9110 section 10.1.1)', () => {
  it('is a 417 in the server\'s error shape on both listeners; 100-continue still works', async () => {
    for (const [url, path] of [[server.url, '/oauth2/jwks'], [server.adminUrl, '/healthz']] as const) {
      const answer = await send(url, `GET ${path} HTTP/1.1\r\nHost: a\r\nExpect: the-moon\r\nConnection: close\r\n\r\n`);
      expect([answer.status, JSON.parse(answer.body)]).toEqual([417, {
        error: 'invalid_request', error_description: 'the request expects something this server does not do (Expect)',
      }]);
      expectErrorHeaders(answer);
    }
    const auth = `Authorization: ${basicAuthorization(billing.id, billing.secret)}`;
    const answer = await send(server.url, tokenRequest(['Host: a', 'Content-Type: application/x-www-form-urlencoded', auth, 'Expect: 100-continue']));
    expect(answer.status).toBe(100);
    expect(answer.body).toContain('"token_type":"Bearer"');
  });
});

describe('a request two parties could read two ways is refused (RFC 9110 section 5.3)', () => {
  it('two Authorization fields: no token whichever comes first', async () => {
    const good = `Authorization: ${basicAuthorization(billing.id, billing.secret)}`;
    const other = `Authorization: ${basicAuthorization(billing.id, 'not-the-secret')}`;
    const type = 'Content-Type: application/x-www-form-urlencoded';
    for (const headers of [[good, other], [other, good]]) {
      const answer = await send(server.url, tokenRequest(['Host: a', type, ...headers]));
      expect([answer.status, JSON.parse(answer.body)]).toEqual([400, {
        error: 'invalid_request', error_description: 'the request has more than one authorization header field',
      }]);
      expectErrorHeaders(answer);
    }
  });

  it('two Content-Type fields', async () => {
    const answer = await send(server.url, tokenRequest([
      'Host: a', 'Content-Type: application/x-www-form-urlencoded', 'Content-Type: application/json',
      `Authorization: ${basicAuthorization(billing.id, billing.secret)}`,
    ]));
    expect([answer.status, JSON.parse(answer.body)]).toEqual([400, {
      error: 'invalid_request', error_description: 'the request has more than one content-type header field',
    }]);
  });

  it('two Host fields, an HTTP/1.1 request without one, and one that is not a host and port (RFC 9112 section 3.2: "MUST respond with a 400")', async () => {
    for (const [url, path] of [[server.url, '/oauth2/jwks'], [server.adminUrl, '/healthz']] as const) {
      const twice = await send(url, `GET ${path} HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n`);
      expect([twice.status, JSON.parse(twice.body)]).toEqual([400, { error: 'invalid_request', error_description: 'the request has more than one host header field' }]);
      expectErrorHeaders(twice);
      const none = await send(url, `GET ${path} HTTP/1.1\r\nConnection: close\r\n\r\n`);
      expect([none.status, JSON.parse(none.body)]).toEqual([400, { error: 'invalid_request', error_description: 'an HTTP/1.1 request needs a Host header field' }]);
      expectErrorHeaders(none);
    }
    for (const host of ['a b', 'a/b', 'a@b', 'a:b:c', '[::1', 'a\tb']) {
      const bad = await send(server.url, `GET /oauth2/jwks HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      expect([bad.status, JSON.parse(bad.body)]).toEqual([400, { error: 'invalid_request', error_description: 'the Host header field is not a host and port' }]);
    }
    for (const host of ['auth.example.com', 'auth.example.com:8443', '127.0.0.1:1', '[::1]:80', 'xn--bcher-kva.example']) {
      expect((await send(server.url, `GET /oauth2/jwks HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`)).status).toBe(200);
    }
    // HTTP/1.0 has no Host requirement.
    const old = await send(server.url, 'GET /oauth2/jwks HTTP/1.0\r\n\r\n');
    expect(old.status).toBe(200);
  });

  it('a body with a content coding is refused with 415, not read as if it had none (RFC 9110 section 8.4)', async () => {
    const auth = `Authorization: ${basicAuthorization(billing.id, billing.secret)}`;
    const type = 'Content-Type: application/x-www-form-urlencoded';
    for (const coding of ['gzip', 'deflate', 'br', 'gzip, identity']) {
      const answer = await send(server.url, tokenRequest(['Host: a', type, auth, `Content-Encoding: ${coding}`]));
      expect([answer.status, JSON.parse(answer.body)]).toEqual([415, {
        error: 'invalid_request', error_description: 'request bodies with a content coding (Content-Encoding) are not accepted',
      }]);
      expectErrorHeaders(answer);
    }
    // `identity` is no coding at all.
    const plain = await send(server.url, tokenRequest(['Host: a', type, auth, 'Content-Encoding: identity']));
    expect([plain.status, JSON.parse(plain.body).token_type]).toEqual([200, 'Bearer']);
  });
});

describe('a body Fastify cannot take gets the server\'s error shape, not Fastify\'s (which names its internal codes)', () => {
  const cases: [string, 'public' | 'admin', string, string, number, string][] = [
    ['invalid JSON to an operator route', 'admin', '/api/v1/sync', 'Content-Type: application/json', 415, 'the request body is of a type this endpoint does not read'],
    ['a form to an operator route', 'admin', '/api/v1/sync', 'Content-Type: application/x-www-form-urlencoded', 415, 'the request body is of a type this endpoint does not read'],
    ['invalid JSON to a public path no route answers', 'public', '/.well-known/mergekey-sealing-key', 'Content-Type: application/json', 400, 'the request could not be read'],
    ['a body over the limit to a public path no route answers', 'public', '/nowhere', 'Content-Type: application/json', 413, 'the request body is too large'],
  ];
  it.each(cases)('%s', async (_what, listener, path, type, status, description) => {
    const body = status === 413 ? `"${'a'.repeat(70_000)}"` : '{';
    const answer = await send(listener === 'admin' ? server.adminUrl : server.url,
      `POST ${path} HTTP/1.1\r\nHost: a\r\n${type}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    expect([answer.status, JSON.parse(answer.body)]).toEqual([status, { error: 'invalid_request', error_description: description }]);
    expectErrorHeaders(answer);
  });
});
