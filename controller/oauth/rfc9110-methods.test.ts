// RFC 9110 section 15.5.6 on every OAuth route: a method the route does not answer is 405 with
// an Allow header and an RFC 6749 error body, never Fastify's 404 (the resource exists).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send, startTestServer, type TestServer } from '../../test/support/oauth-server.ts';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.close());

const routes: [path: string, allow: string, refused: string[]][] = [
  ['/oauth2/token', 'POST', ['GET', 'HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']],
  ['/oauth2/revoke', 'POST', ['GET', 'PUT', 'DELETE', 'OPTIONS']],
  ['/oauth2/introspect', 'POST', ['GET', 'PUT', 'PATCH']],
  ['/oauth2/jwks', 'GET, HEAD', ['POST', 'PUT', 'DELETE']],
  ['/.well-known/oauth-authorization-server', 'GET, HEAD', ['POST', 'DELETE']],
  ['/api/v1/apps/billing/tokens', 'GET, HEAD', ['POST', 'PUT', 'DELETE']],
  ['/api/v1/apps/billing/tokens/at_x', 'DELETE', ['GET', 'POST', 'PUT']],
];

describe('methods a route does not answer', () => {
  it.each(routes)('%s answers 405 with Allow: %s', async (path, allow, refused) => {
    for (const method of refused) {
      const body = 'grant_type=client_credentials';
      const response = await send(method, s.url(path), {
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(body.length) }, body,
      });
      expect([method, response.status, response.headers.allow]).toEqual([method, 405, allow]);
      expect(response.headers['cache-control']).toBe('no-store');
      // A HEAD answer has no body.
      expect(response.body).toEqual(method === 'HEAD' ? undefined : {
        error: 'invalid_request', error_description: `this endpoint answers ${allow.replace(', ', ' and ')} only`,
      });
    }
  });

  it('reads no body before refusing: a large one still gets 405, not 413', async () => {
    const response = await send('PUT', s.url('/oauth2/token'), {
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': '100000' }, body: 'a'.repeat(100_000),
    });
    expect([response.status, response.headers.allow, response.body])
      .toEqual([405, 'POST', { error: 'invalid_request', error_description: 'this endpoint answers POST only' }]);
  });

  it('still answers HEAD on the GET routes', async () => {
    expect((await send('HEAD', s.url('/oauth2/jwks'))).status).toBe(200);
    expect((await send('HEAD', s.url('/.well-known/oauth-authorization-server'))).status).toBe(200);
  });
});
