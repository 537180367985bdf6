// The benchmark's reference point: node-oidc-provider, as bench/token.ts compares it with mergekey
// on three workloads:
// - client_credentials issuing JWT access tokens (RFC 9068, ES256), which it neither stores nor
//   can revoke;
// - its refresh grant with its default in-memory adapter, rotating every refresh token
//   (`rotateRefreshToken: true`, as mergekey always does), a JWT access token for the Api each time;
// - its introspection (RFC 7662) of opaque access tokens held by the in-memory adapter, asked by a
//   resource server's own client.
//
//   tsx bench/oidc-provider-peer.ts PORT WORKERS CLIENT_ID CLIENT_SECRET REFRESH_TOKENS
//
// Configured as its documentation says for these cases: the clientCredentials and introspection
// features, resource indicators with two resource servers (the Api, whose tokens are
// `accessTokenFormat: 'jwt'` signed ES256, and one whose tokens are opaque, for introspection),
// the client's `id_token_signed_response_alg: 'ES256'`, devInteractions off. CLIENT_ID is the
// application's client; `${CLIENT_ID}-rs` (same secret) is the resource server that introspects.
// WORKERS = 1 runs one process (oidc-provider's default); more runs that many node:cluster
// workers on one port, the same shape as `mergekey serve --workers N`: client_credentials only,
// since the in-memory adapter is one process's. With REFRESH_TOKENS > 0 (one process only), that
// many refresh tokens are made at start, each of its own grant to user `bench-user` for the Api's
// scopes, as an authorization code exchange would have left them, and printed as one line
// `refresh-tokens ["…", …]`. Then prints `listening URL`.
//
// The in-memory adapter keeps its entries in an LRU of 1,000 by default: a refresh run of
// thousands of rotations would push out the refresh tokens (and grants) the measured run starts
// from, and every refresh of theirs would fail. So the adapter is oidc-provider's MemoryAdapter
// itself over the same LRU made large enough for a run (a million entries): no live token is dropped.
import cluster from 'node:cluster';
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';
import LRU from 'oidc-provider/lib/helpers/lru.js';

const [portArg, workersArg, clientId, clientSecret, seedsArg, jwkArg] = process.argv.slice(2);
const port = Number(portArg);
const workers = Number(workersArg);
const seeds = Number(seedsArg);
if (!Number.isInteger(port) || !Number.isInteger(workers) || workers < 1 || clientId === undefined || clientSecret === undefined
  || !Number.isInteger(seeds) || seeds < 0 || (seeds > 0 && workers > 1)) {
  throw new Error('usage: oidc-provider-peer.ts PORT WORKERS CLIENT_ID CLIENT_SECRET REFRESH_TOKENS (REFRESH_TOKENS 0 when WORKERS > 1)');
}

export const PEER_AUDIENCE = 'https://api.example.com/orders';
/** The resource whose access tokens are opaque and kept by the in-memory adapter: what introspection looks up. */
export const PEER_OPAQUE_RESOURCE = 'https://api.example.com/opaque';
const SCOPE = 'orders:read orders:write';

if (cluster.isPrimary && workers > 1) {
  // Every worker signs with the same key, as one provider would.
  const jwk = JSON.stringify(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }));
  cluster.setupPrimary({ args: [String(port), '1', clientId, clientSecret, '0', jwk] });
  let listening = 0;
  for (let i = 0; i < workers; i++) {
    cluster.fork().on('message', (message: { listening?: string }) => {
      if (message.listening !== undefined && ++listening === workers) console.log(`listening ${message.listening}`);
    });
  }
  const stop = () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  const storage = new LRU({ maxSize: 1_000_000 });
  const jwk = jwkArg === undefined ? generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }) : JSON.parse(jwkArg);
  const issuer = `http://127.0.0.1:${port}`;
  const client = {
    client_secret: clientSecret,
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'ES256',
    scope: SCOPE,
  };
  const provider = new Provider(issuer, {
    clients: [
      // The refresh grant comes with the code flow in oidc-provider's client metadata.
      {
        ...client, client_id: clientId, grant_types: ['client_credentials', 'authorization_code', 'refresh_token'],
        response_types: ['code'], redirect_uris: ['http://127.0.0.1:9/callback'],
      },
      { ...client, client_id: `${clientId}-rs`, grant_types: [] },
    ],
    adapter: (model: string) => new MemoryAdapter(model, storage),
    jwks: { keys: [{ ...jwk, kid: 'bench', alg: 'ES256', use: 'sig' }] },
    // offline_access enables the refresh grant (it is never asked for: the tokens are made at start).
    scopes: ['orders:read', 'orders:write', 'offline_access'],
    // Every refresh spends its token and returns a new one, as mergekey's refresh grant does.
    rotateRefreshToken: true,
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => PEER_AUDIENCE,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, resource: string) => ({
          scope: SCOPE,
          audience: resource,
          accessTokenTTL: 900,
          ...(resource === PEER_OPAQUE_RESOURCE ? { accessTokenFormat: 'opaque' } : { accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } }),
        }),
      },
    },
  });
  if (seeds > 0) console.log(`refresh-tokens ${JSON.stringify(await refreshTokens(seeds))}`);
  const server = provider.listen(port, '127.0.0.1', () => {
    const address = server.address() as { port: number };
    const url = `http://127.0.0.1:${address.port}`;
    if (cluster.isWorker) process.send?.({ listening: url });
    else console.log(`listening ${url}`);
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));

  /** `count` refresh tokens, each of a grant of its own, saved by the in-memory adapter as the code exchange saves them. */
  async function refreshTokens(count: number): Promise<string[]> {
    const found = await provider.Client.find(clientId!);
    const tokens: string[] = [];
    for (let i = 0; i < count; i++) {
      const grant = new provider.Grant({ accountId: 'bench-user', clientId });
      grant.addResourceScope(PEER_AUDIENCE, SCOPE);
      const grantId = await grant.save();
      const token = new provider.RefreshToken({ client: found, accountId: 'bench-user', grantId, scope: SCOPE, resource: PEER_AUDIENCE, gty: 'authorization_code' });
      tokens.push(await token.save());
    }
    return tokens;
  }
}
