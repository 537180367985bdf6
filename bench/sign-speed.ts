// Measures the CPU one access token signature costs, per algorithm, through jose (WebCrypto) and
// through jws-signer.ts (node:crypto), so the default algorithm and the signing path are chosen
// from figures taken on this machine. CPU time includes the thread pool WebCrypto uses.
// Run: npx tsx bench/sign-speed.ts [signatures]
import { CompactSign, exportJWK, generateKeyPair, importJWK, jwtVerify } from 'jose';
import { ACCESS_TOKEN_TYP, type SigningAlg } from '../controller/oauth/defaults.ts';
import { jwsSigner } from '../controller/oauth/jws-signer.ts';

const count = Number(process.argv[2] ?? 6000);
const claims = {
  iss: 'https://auth.example.com', sub: 'client:demo-client-0001', aud: 'https://api.example.com',
  client_id: 'demo-client-0001', scope: 'open orders:read', iat: 1_700_000_000, exp: 1_700_000_900,
  jti: '6f1c0f56-6c6e-4b8e-9a44-3c1b0f0d6a51',
};
const encoder = new TextEncoder();

async function cpuPerCall(run: () => Promise<unknown> | unknown): Promise<string> {
  for (let i = 0; i < 300; i++) await run();
  const start = process.cpuUsage();
  // 32 at a time, like the benchmark's connections.
  for (let i = 0; i < count; i += 32) await Promise.all(Array.from({ length: 32 }, run));
  const used = process.cpuUsage(start);
  return `${((used.user + used.system) / count).toFixed(1)} µs`;
}

for (const alg of ['ES256', 'EdDSA', 'RS256'] as SigningAlg[]) {
  const pair = await generateKeyPair(alg, { extractable: true });
  const privateJwk = await exportJWK(pair.privateKey);
  const joseKey = await importJWK(privateJwk, alg);
  const header = { alg, kid: 'k1', typ: ACCESS_TOKEN_TYP };
  const viaJose = () => new CompactSign(encoder.encode(JSON.stringify(claims))).setProtectedHeader(header).sign(joseKey);
  const signer = jwsSigner(alg, 'k1', privateJwk as Record<string, unknown>, ACCESS_TOKEN_TYP);
  // What jws-signer.ts makes must verify with jose.
  await jwtVerify(await signer.sign(claims), pair.publicKey, { typ: ACCESS_TOKEN_TYP, currentDate: new Date(1_700_000_100_000) });
  console.log(`${alg.padEnd(6)} CPU per signature: jose ${await cpuPerCall(viaJose)}, node:crypto ${await cpuPerCall(() => signer.sign(claims))}`);
}
