// The authorization code flow against the test OAuth server (oauth-server.ts), for the tests of
// the token side: the request is checked by GET /oauth2/authorize over HTTP, and the person's part
// (sign-in and consent, the portal's) is stood in for by calling the authorization functions the
// portal calls, `parse` and `complete`.
import { randomBytes } from 'node:crypto';
import * as oauth from 'oauth4webapi';
import { send, type TestClient, type TestServer } from './oauth-server.ts';

export interface Authorized {
  /** The callback's parameters, checked by oauth4webapi (`state`, `iss`). */
  callback: URLSearchParams;
  code: string;
  verifier: string;
  state: string;
  nonce: string;
  redirectUri: string;
}

/** An authorization request's query: PKCE S256, a state and a nonce, and `extra`. */
export async function authorizationQuery(app: TestClient, redirectUri: string, extra: Record<string, string> = {}) {
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const nonce = oauth.generateRandomNonce();
  const query: Record<string, string> = {
    response_type: 'code', client_id: app.client.client_id, redirect_uri: redirectUri,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state, nonce, ...extra,
  };
  return { query, verifier, state, nonce };
}

/** GET /oauth2/authorize with `query` (a string is sent as it is). */
export function getAuthorize(s: TestServer, query: Record<string, string> | string) {
  const text = typeof query === 'string' ? query : new URLSearchParams(query).toString();
  return send('GET', s.url(`/oauth2/authorize?${text}`));
}

/** The whole flow up to the callback: the endpoint sends the browser to the portal, the person (`user`) approves. */
export async function authorizeAs(s: TestServer, app: TestClient, redirectUri: string, options: { user?: string; extra?: Record<string, string> } = {}): Promise<Authorized> {
  const { query, verifier, state, nonce } = await authorizationQuery(app, redirectUri, options.extra);
  const answer = await getAuthorize(s, query);
  if (answer.status !== 303 || !String(answer.headers.location).startsWith('/portal/authorize?')) {
    throw new Error(`the authorization endpoint answered ${answer.status} ${String(answer.headers.location)}`);
  }
  const portalQuery = Object.fromEntries(new URL(String(answer.headers.location), s.issuer).searchParams);
  const parsed = s.authorization.parse(portalQuery);
  if (parsed.kind !== 'ok') throw new Error(`the portal's check refused the request: ${JSON.stringify(parsed)}`);
  const location = await s.authorization.complete(parsed.request, { user: options.user ?? 'alice', authTime: Math.floor(s.now() / 1000) - 5 });
  const callback = oauth.validateAuthResponse(s.as, app.client, new URL(location), state);
  return { callback, code: callback.get('code')!, verifier, state, nonce, redirectUri };
}

export const randomName = () => randomBytes(4).toString('hex');
