import * as client from 'openid-client';

// 1. Send the browser to Mergekey; keep `session` (in your own session store) until it comes back.
export async function startSignIn(issuer: URL, clientId: string, clientSecret: string, redirectUri: string) {
  const http = issuer.protocol === 'http:' ? { execute: [client.allowInsecureRequests] } : {}; // the quickstart's http://127.0.0.1 issuer
  const config = await client.discovery(issuer, clientId, undefined, client.ClientSecretBasic(clientSecret), http);
  const session = { verifier: client.randomPKCECodeVerifier(), state: client.randomState(), nonce: client.randomNonce() };
  const code_challenge = await client.calculatePKCECodeChallenge(session.verifier);
  const url = client.buildAuthorizationUrl(config, { redirect_uri: redirectUri, scope: 'openid profile email', code_challenge, code_challenge_method: 'S256', state: session.state, nonce: session.nonce });
  return { config, session, url };
}

// 2. At the redirect URI: the library checks state, iss (RFC 9207), the PKCE exchange, the ID token and its nonce.
export async function finishSignIn(config: client.Configuration, callbackUrl: URL, session: { verifier: string; state: string; nonce: string }) {
  const tokens = await client.authorizationCodeGrant(config, callbackUrl, { pkceCodeVerifier: session.verifier, expectedState: session.state, expectedNonce: session.nonce });
  const user = await client.fetchUserInfo(config, tokens.access_token, tokens.claims()!.sub);
  return { tokens, user };
}
