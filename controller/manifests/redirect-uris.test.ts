// redirectUriProblem is what a form (the portal's) asks of a redirect URI: the same three layers
// a manifest's redirect URI meets (the schema's shape, urls.ts's ambiguity, the rules here), so
// what a form accepts the manifest accepts too.
import { describe, expect, it } from 'vitest';
import { redirectUriProblem } from './redirect-uris.ts';

describe('redirectUriProblem', () => {
  it.each([
    'https://app.example.com/callback',
    'https://app.example.com:8443/cb?tenant=1',
    'http://127.0.0.1/callback',
    'http://127.0.0.1:51004/callback',
    'http://[::1]:8080/cb',
  ])('accepts %s', (uri) => {
    expect(redirectUriProblem(uri)).toBeUndefined();
  });

  it.each([
    ['https://app.example.com/cb#top', 'use an absolute http:// or https:// URI, without a fragment (#) or spaces'],
    ['/callback', 'use an absolute http:// or https:// URI, without a fragment (#) or spaces'],
    ['com.example.app:/callback', 'use an absolute http:// or https:// URI, without a fragment (#) or spaces'],
    ['https://app.example.com/a b', 'use an absolute http:// or https:// URI, without a fragment (#) or spaces'],
    ['https://good.example@evil.example/cb', 'holds credentials or a user name before the host ("good.example@"), which hide the real host from a reader: remove them'],
    ['https://app.example.com/a/../cb', 'has the path "/a/../cb", which a browser reads as "/cb": write "/cb"'],
    ['http://localhost:3000/cb', 'names "localhost", which a resolver may send elsewhere (RFC 8252 section 8.3: NOT RECOMMENDED): use the loopback IP literal, http://127.0.0.1:3000/cb'],
    ['http://app.example.com/cb', 'uses http on a host that is not a loopback IP, so the code would cross the network in the clear: use https, or http://127.0.0.1 or http://[::1] for a native app on the same device (RFC 8252 section 7.3)'],
    ['https://*.example.com/cb', 'holds a wildcard (*): redirect URIs are compared exactly, never as patterns (RFC 9700 section 4.1.3), so list each URI in full'],
    // A browser reads a backslash as a slash; the schema's format: uri (RFC 3986) refuses it.
    ['https://a.example/cb\\@evil.example', 'is not an absolute URI'],
    ['https://a.example\\@evil.example/cb', 'is not an absolute URI'],
  ])('refuses %s', (uri, problem) => {
    expect(redirectUriProblem(uri)).toBe(problem);
  });
});
