// mergekey.yaml's `spec.sealingKey`: the public half of the controller's X25519 key that the CLI
// seals secrets to. The schema shares the JWK shape with client keys, so it would take an RSA or
// EC key, or an X25519 key under another key's kid; `mergekey seal` would then refuse to seal
// anything (controller/sealing/seal.ts, sealingPublicKey). This refuses the same keys at review.
import { createHash, createPublicKey } from 'node:crypto';
import type { Pointer } from './model.ts';
import { SEALED_ALG } from './sealed.ts';

export interface SealingKeyProblem {
  /** Relative to the settings' spec. */
  pointer: Pointer;
  code: 'rules.sealing-key-unusable';
  message: string;
}

/** The problem of `spec.sealingKey`, read defensively (the schema may have failed), or undefined. */
export function checkSealingKey(spec: unknown): SealingKeyProblem | undefined {
  const key = (spec as { sealingKey?: unknown } | undefined)?.sealingKey;
  if (key === null || typeof key !== 'object' || Array.isArray(key)) return undefined;
  const { kty, crv, x, use, alg, kid } = key as Record<string, unknown>;
  const problem = (member: string | undefined, message: string): SealingKeyProblem => ({
    pointer: member === undefined ? ['sealingKey'] : ['sealingKey', member],
    code: 'rules.sealing-key-unusable',
    message: `${message}: put the key \`mergekey keys public\` prints on the controller here`,
  });
  if (kty !== 'OKP') return typeof kty === 'string' ? problem('kty', `the sealing key is an X25519 key (kty OKP), not ${kty}`) : undefined;
  if (crv !== 'X25519') return typeof crv === 'string' ? problem('crv', `the sealing key is on X25519, not ${crv}`) : undefined;
  if (typeof x !== 'string') return undefined;
  if (use !== undefined && use !== 'enc') return problem('use', `the sealing key encrypts: its use is enc, not ${JSON.stringify(use)}`);
  if (alg !== undefined && alg !== SEALED_ALG) return problem('alg', `the sealing key's alg is ${SEALED_ALG}, not ${JSON.stringify(alg)}`);
  try {
    createPublicKey({ key: { kty, crv, x }, format: 'jwk' });
  } catch {
    return problem('x', 'x is not an X25519 public key');
  }
  // RFC 7638 section 3.2: the thumbprint hashes the required members in lexicographic order.
  const thumbprint = createHash('sha256').update(JSON.stringify({ crv, kty, x })).digest('base64url');
  if (kid !== undefined && kid !== thumbprint) {
    return problem('kid', `kid ${JSON.stringify(kid)} is not this key's RFC 7638 thumbprint ${thumbprint}, so sealed values would name another key`);
  }
  return undefined;
}
