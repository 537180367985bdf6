// Signing access tokens (RFC 7515 compact serialization) with node:crypto's one-shot `sign`.
//
// jose makes and publishes the keys and verifies every token (introspection, the tests); only the
// signature on the hot path is made here. jose 6 signs through WebCrypto, which hands each
// signature to the libuv thread pool and back: measured on this machine (see bench/sign-speed.ts), an
// ES256 token costs 54.5 µs of CPU that way and 30.9 µs through `crypto.sign`, on the endpoint
// the benchmark drives at tens of thousands of tokens per second. The output is byte-for-byte the
// JWS jose would produce for the same header and payload, except for the randomness of ECDSA.
//
// Signatures are made together, once per event-loop turn. OpenSSL's P-256 code reads a 150 KB
// table of precomputed points for every signature; between two requests the HTTP parsing and the
// rest of the handler push it out of the CPU caches, and one signature then costs about twice what
// it costs in a loop (60 µs against 27 µs here). The requests that arrive in one turn get their
// signatures one after the other, so all but the first find the table cached: with 32 connections
// this cut bench:token's CPU per token by about a quarter. A signature waits for nothing but the
// other signatures of its turn.
import { createPrivateKey, sign, type KeyObject, type SignKeyObjectInput } from 'node:crypto';
import type { SigningAlg } from './defaults.ts';

export interface JwsSigner {
  kid: string;
  alg: SigningAlg;
  /** `payload` as a compact JWS with the signer's fixed protected header. */
  sign(payload: object): Promise<string>;
}

interface Pending {
  signingInput: string;
  resolve(jws: string): void;
  reject(err: unknown): void;
}

export function jwsSigner(alg: SigningAlg, kid: string, privateJwk: Record<string, unknown>, typ: string): JwsSigner {
  const key = createPrivateKey({ key: privateJwk as never, format: 'jwk' });
  const header = Buffer.from(JSON.stringify({ alg, kid, typ }), 'utf8').toString('base64url');
  const [digest, input] = signatureParameters(alg, key);
  let pending: Pending[] = [];

  const signAll = () => {
    const batch = pending;
    pending = [];
    for (const { signingInput, resolve, reject } of batch) {
      try {
        resolve(`${signingInput}.${sign(digest, Buffer.from(signingInput, 'latin1'), input).toString('base64url')}`);
      } catch (err) {
        reject(err);
      }
    }
  };

  return {
    kid,
    alg,
    sign(payload) {
      const signingInput = `${header}.${Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url')}`;
      // setImmediate runs after the turn's I/O callbacks: every request read in this turn is in.
      if (pending.length === 0) setImmediate(signAll);
      return new Promise((resolve, reject) => pending.push({ signingInput, resolve, reject }));
    },
  };
}

function signatureParameters(alg: SigningAlg, key: KeyObject): [string | null, KeyObject | SignKeyObjectInput] {
  switch (alg) {
    // RFC 7518 section 3.4: the ECDSA signature is R || S, not DER.
    case 'ES256': return ['sha256', { key, dsaEncoding: 'ieee-p1363' }];
    // RFC 8037 section 3.1: Ed25519 signs the message itself; no digest is chosen.
    case 'EdDSA': return [null, key];
    // RFC 7518 section 3.3: RSASSA-PKCS1-v1_5 with SHA-256.
    case 'RS256': return ['sha256', key];
  }
}
