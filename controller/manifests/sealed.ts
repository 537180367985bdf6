// Checks that a sealed value is a compact JWE in the one format the controller opens (BRIEF:
// "Sealed value format"), without opening it: anyone can run these checks, only the controller
// holds the private key. The protected header is the AEAD's additional data, so its `bind`
// cannot be altered without decryption failing; comparing it with the object the value sits in
// catches a value copied from another manifest before the controller ever tries it.
import type { Pointer } from './model.ts';

export const SEALED_ALG = 'ECDH-ES+A256KW';
export const SEALED_ENC = 'A256GCM';

/** Byte lengths fixed by the algorithms: a wrapped 256-bit key, a GCM nonce and tag. */
const ENCRYPTED_KEY_BYTES = 40;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface SealedProblem {
  code: 'rules.sealed-malformed' | 'rules.sealed-algorithm' | 'rules.sealed-zip' | 'rules.sealed-binding';
  message: string;
}

export interface SealedValue {
  pointer: Pointer;
  value: string;
  /** The mapping that holds the `sealed` key. */
  holder: object;
}

/** Every sealed value in a manifest: each string held under a key named `sealed`. */
export function findSealed(manifest: unknown): SealedValue[] {
  const found: SealedValue[] = [];
  collectSealed(manifest, [], found);
  return found;
}

// Recursion is bounded: the manifest's depth was limited when it was parsed.
function collectSealed(node: unknown, path: (string | number)[], found: SealedValue[]): void {
  if (Array.isArray(node)) {
    for (let index = 0; index < node.length; index += 1) {
      path.push(index);
      collectSealed(node[index], path, found);
      path.pop();
    }
  } else if (node !== null && typeof node === 'object') {
    for (const key of Object.keys(node)) {
      const value = (node as Record<string, unknown>)[key];
      path.push(key);
      if (key === 'sealed' && typeof value === 'string') found.push({ pointer: [...path], value, holder: node });
      else if (value !== null && typeof value === 'object') collectSealed(value, path, found);
      path.pop();
    }
  }
}

/**
 * Decoded headers, kept per holding mapping for as long as the manifest lives: the file rules
 * and the repository rules both read each header, and there may be ten thousand of them.
 */
const headers = new WeakMap<object, { value: string; header: Record<string, unknown> | undefined }>();

/** The protected header of a sealed value found by findSealed, decoded once. */
export function sealedHeader(sealed: SealedValue): Record<string, unknown> | undefined {
  const cached = headers.get(sealed.holder);
  if (cached !== undefined && cached.value === sealed.value) return cached.header;
  const header = protectedHeader(sealed.value);
  headers.set(sealed.holder, { value: sealed.value, header });
  return header;
}

/** The protected header of a compact JWE, or undefined if it is not base64url JSON of an object. */
export function protectedHeader(value: string): Record<string, unknown> | undefined {
  const encoded = value.slice(0, Math.max(0, value.indexOf('.')));
  if (!isBase64url(encoded)) return undefined;
  try {
    const header: unknown = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
    return header !== null && typeof header === 'object' && !Array.isArray(header) ? (header as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Checks one sealed value; `binding` is `<Kind>/<metadata.name>` of the object it sits in.
 * Returns the first thing wrong with it, or undefined.
 */
export function checkSealed(sealed: SealedValue, binding: string): SealedProblem | undefined {
  const parts = sealed.value.split('.');
  if (parts.length !== 5) return malformed('a compact JWE has five parts joined by dots');
  const header = sealedHeader(sealed);
  if (header === undefined) return malformed('its protected header is not base64url-encoded JSON');
  if ('zip' in header) {
    return { code: 'rules.sealed-zip', message: 'compressed sealed values (zip) are refused: seal the secret again with `mergekey seal`' };
  }
  if (header.alg !== SEALED_ALG || header.enc !== SEALED_ENC) {
    return {
      code: 'rules.sealed-algorithm',
      message: `sealed with alg ${String(header.alg)} and enc ${String(header.enc)}; only ${SEALED_ALG} with ${SEALED_ENC} is accepted: seal it again with \`mergekey seal\``,
    };
  }
  if (typeof header.kid !== 'string' || header.kid === '') return malformed('its header names no key (kid)');
  if (typeof header.bind !== 'string') return malformed('its header does not say which object it belongs to (bind)');
  const epk = header.epk as Record<string, unknown> | undefined;
  if (epk === null || typeof epk !== 'object' || epk.kty !== 'OKP' || epk.crv !== 'X25519' || typeof epk.x !== 'string') {
    return malformed('its header carries no X25519 ephemeral key (epk)');
  }
  const [, encryptedKey = '', iv = '', ciphertext = '', tag = ''] = parts;
  if (byteLength(encryptedKey) !== ENCRYPTED_KEY_BYTES) return malformed(`its encrypted key is not ${ENCRYPTED_KEY_BYTES} bytes`);
  if (byteLength(iv) !== IV_BYTES) return malformed(`its initialization vector is not ${IV_BYTES} bytes`);
  if (byteLength(ciphertext) === 0) return malformed('its ciphertext is empty');
  if (byteLength(tag) !== TAG_BYTES) return malformed(`its authentication tag is not ${TAG_BYTES} bytes`);
  if (header.bind !== binding) {
    const noun = binding.startsWith('User/') ? 'user' : binding.startsWith('Application/') ? 'app' : 'object';
    return { code: 'rules.sealed-binding', message: `sealed for ${header.bind}, not ${binding}: seal it again for this ${noun}` };
  }
  return undefined;
}

function malformed(why: string): SealedProblem {
  return {
    code: 'rules.sealed-malformed',
    message: `not a sealed value Mergekey can open: ${why}; seal the secret again with \`mergekey seal\``,
  };
}

function isBase64url(text: string): boolean {
  return text.length > 0 && text.length % 4 !== 1 && /^[A-Za-z0-9_-]+$/.test(text);
}

/** Decoded length of an unpadded base64url string, or -1 if it is not one. */
function byteLength(text: string): number {
  if (text === '') return 0;
  if (!isBase64url(text)) return -1;
  return Math.floor((text.length * 3) / 4);
}
