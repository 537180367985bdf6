// Measures how fast jose signs an RFC 9068 access token with each algorithm we offer, so the
// default signing algorithm is chosen from figures taken on this machine, not from folklore.
// Run: npx tsx controller/oauth/sign-speed.ts [iterations]
import { performance } from 'node:perf_hooks';
import { CompactSign, generateKeyPair, jwtVerify, exportJWK, importJWK } from 'jose';

const iterations = Number(process.argv[2] ?? 5000);
const encoder = new TextEncoder();
const claims = {
  iss: 'https://auth.example.com', sub: 'client:demo-client-0001', aud: 'https://api.example.com',
  client_id: 'demo-client-0001', scope: 'open orders:read', iat: 1_700_000_000, exp: 1_700_000_900,
  jti: '6f1c0f56-6c6e-4b8e-9a44-3c1b0f0d6a51',
};

for (const alg of ['EdDSA', 'ES256', 'RS256'] as const) {
  const pair = await generateKeyPair(alg, { extractable: true });
  // Round-trip through JWK as the server does (keys live in the store as JWKs, imported once).
  const privateKey = await importJWK(await exportJWK(pair.privateKey), alg);
  const header = { alg, typ: 'at+jwt', kid: 'k1' };
  const sign = () => new CompactSign(encoder.encode(JSON.stringify(claims))).setProtectedHeader(header).sign(privateKey);
  for (let i = 0; i < 200; i++) await sign();
  let start = performance.now();
  for (let i = 0; i < iterations; i++) await sign();
  const sequential = performance.now() - start;
  // 32 in flight, like the benchmark's connections: WebCrypto may spread work over libuv threads.
  start = performance.now();
  for (let i = 0; i < iterations; i += 32) await Promise.all(Array.from({ length: 32 }, sign));
  const concurrent = performance.now() - start;
  const token = await sign();
  start = performance.now();
  for (let i = 0; i < iterations; i++) await jwtVerify(token, pair.publicKey, { currentDate: new Date(1_700_000_100_000) });
  const verify = performance.now() - start;
  const per = (ms: number) => `${((ms * 1000) / iterations).toFixed(1)} µs`;
  console.log(`${alg.padEnd(6)} sign ${per(sequential)} sequential, ${per(concurrent)} with 32 in flight; verify ${per(verify)}`);
}
