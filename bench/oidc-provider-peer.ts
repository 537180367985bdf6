// The benchmark's reference point: node-oidc-provider issuing JWT access tokens (RFC 9068, ES256)
// through the client_credentials grant, as bench/token.ts compares it with mergekey.
//
//   tsx bench/oidc-provider-peer.ts PORT WORKERS CLIENT_ID CLIENT_SECRET
//
// Configured as its documentation says for this case: the clientCredentials feature, resource
// indicators with a resource server whose tokens are `accessTokenFormat: 'jwt'` signed ES256,
// the client's `id_token_signed_response_alg: 'ES256'`, devInteractions off. Its default
// in-memory adapter stays: JWT access tokens are not stored, so no adapter is on this path.
// WORKERS = 1 runs one process (oidc-provider's default); more runs that many node:cluster
// workers on one port, the same shape as `mergekey serve --workers N`. Prints `listening URL`.
import cluster from 'node:cluster';
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const [portArg, workersArg, clientId, clientSecret, jwkArg] = process.argv.slice(2);
const port = Number(portArg);
const workers = Number(workersArg);
if (!Number.isInteger(port) || !Number.isInteger(workers) || workers < 1 || clientId === undefined || clientSecret === undefined) {
  throw new Error('usage: oidc-provider-peer.ts PORT WORKERS CLIENT_ID CLIENT_SECRET');
}

export const PEER_AUDIENCE = 'https://api.example.com/orders';

if (cluster.isPrimary && workers > 1) {
  // Every worker signs with the same key, as one provider would.
  const jwk = JSON.stringify(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }));
  cluster.setupPrimary({ args: [String(port), '1', clientId, clientSecret, jwk] });
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
  const jwk = jwkArg === undefined ? generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }) : JSON.parse(jwkArg);
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: 'ES256',
        scope: 'orders:read orders:write',
      },
    ],
    jwks: { keys: [{ ...jwk, kid: 'bench', alg: 'ES256', use: 'sig' }] },
    scopes: ['orders:read', 'orders:write'],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => PEER_AUDIENCE,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: 'orders:read orders:write',
          audience: PEER_AUDIENCE,
          accessTokenTTL: 900,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        }),
      },
    },
  });
  const server = provider.listen(port, '127.0.0.1', () => {
    const address = server.address() as { port: number };
    const url = `http://127.0.0.1:${address.port}`;
    if (cluster.isWorker) process.send?.({ listening: url });
    else console.log(`listening ${url}`);
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}
