import { exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import type { SigningAlg } from './defaults.ts';
import { jwsSigner } from './jws-signer.ts';

async function signerFor(alg: SigningAlg) {
  const pair = await generateKeyPair(alg, { extractable: true });
  const signer = jwsSigner(alg, 'k1', (await exportJWK(pair.privateKey)) as Record<string, unknown>, 'at+jwt');
  return { signer, publicKey: pair.publicKey };
}

describe('the access token signer', () => {
  it.each(['ES256', 'EdDSA', 'RS256'] as SigningAlg[])('gives each of many concurrent %s signatures its own payload', async (alg) => {
    const { signer, publicKey } = await signerFor(alg);
    // Signed together in one turn: every answer must carry its own claims under a valid signature.
    const tokens = await Promise.all(Array.from({ length: 40 }, (_, n) => signer.sign({ sub: `client:${n}`, n })));
    expect(new Set(tokens).size).toBe(40);
    for (const [n, token] of tokens.entries()) {
      const { payload, protectedHeader } = await jwtVerify(token, publicKey, { typ: 'at+jwt' });
      expect(payload).toEqual({ sub: `client:${n}`, n });
      expect(protectedHeader).toEqual({ alg, kid: 'k1', typ: 'at+jwt' });
    }
  });

  it('signs a payload asked for while a turn\'s signatures are being made', async () => {
    const { signer, publicKey } = await signerFor('ES256');
    const first = signer.sign({ turn: 1 });
    const second = first.then(() => signer.sign({ turn: 2 }));
    const { payload } = await jwtVerify(await second, publicKey);
    expect(payload).toEqual({ turn: 2 });
  });
});
