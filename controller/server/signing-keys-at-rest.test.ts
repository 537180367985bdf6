// The keys that sign access tokens are kept in the store, and the store travels: backups,
// `mdb_copy`, a store moved aside by --rebuild-store, a PostgreSQL dump. Only `keys/` stays with
// the controller. So a private signing key is written to the store encrypted under a key derived
// from `keys/secret-hash.key` (as ORY Hydra encrypts its JSON Web Keys with the system secret),
// and appears in the clear nowhere in the data directory. A real server issues a token; then every
// file it left behind is searched for the private key.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { compactVerify, importJWK, type JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { openPrivateJwk, signingKeyWrapKey } from '../oauth/signing-keys.ts';
import { openStore } from '../store/open.ts';
import { startTestServer } from '../../test/support/server.ts';

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? files(join(dir, entry.name)) : [join(dir, entry.name)]));
}

describe('signing keys at rest', () => {
  it('are encrypted in the store: no file of the data directory holds a private signing key in the clear', { timeout: 30_000 }, async () => {
    const t = await startTestServer();
    const basic = Buffer.from(`billing-client-0001:${t.plaintexts[0]!}`).toString('base64');
    const response = await fetch(`${t.server.url}/oauth2/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    expect(response.status).toBe(200);
    const { access_token: token } = (await response.json()) as { access_token: string };
    await t.server.close();
    try {
      const store = openStore(t.dataDir);
      const ring = (await store.keyring.keyring())!;
      await store.close();
      const wrapKey = signingKeyWrapKey(readFileSync(join(t.dataDir, 'keys', 'secret-hash.key')));
      const everything = files(t.dataDir).map((file) => readFileSync(file));
      expect(ring.keys.length).toBeGreaterThanOrEqual(2);
      for (const key of ring.keys) {
        expect(key).not.toHaveProperty('privateJwk');
        const privateJwk = openPrivateJwk(key, wrapKey);
        // The sealed value holds this very key: its public half is the published one.
        expect({ x: privateJwk.x, y: privateJwk.y }).toEqual({ x: key.publicJwk.x, y: key.publicJwk.y });
        const d = String(privateJwk.d);
        for (const bytes of everything) {
          expect(bytes.includes(d)).toBe(false);
          expect(bytes.includes(Buffer.from(d, 'base64url'))).toBe(false);
        }
      }
      // And the key that signed the token is one of them, opened from the store.
      const kid = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()).kid as string;
      const signer = ring.keys.find((key) => key.kid === kid)!;
      const publicKey = await importJWK(signer.publicJwk as JWK, signer.alg);
      expect((await compactVerify(token, publicKey)).protectedHeader.kid).toBe(kid);
    } finally {
      rmSync(dirname(t.dataDir), { recursive: true, force: true });
    }
  });
});
