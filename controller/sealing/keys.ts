// The controller's own keys, in `<data>/keys/`: the X25519 sealing key pair (`sealing-key.json`,
// a private JWK) and the 32-byte key client secrets are HMAC'd with (`secret-hash.key`, raw).
//
// They are created together on first start and never again. Regenerating either one on an
// established controller would be silent data loss (no sealed value in git would open, no stored
// secret hash would match), so finding one without the other is an error, not a reason to create
// the missing one. To make a crash during the first start unable to leave that state, both files
// are written into a fresh directory that is then renamed to `keys/` in one step.
import { createPrivateKey, createPublicKey, randomBytes, generateKeyPairSync, type JsonWebKey } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { importJWK, type CryptoKey } from 'jose';
import { SealingError } from './errors.ts';
import { createPrivateFile, permissionProblem, PRIVATE_DIR_MODE } from './private-files.ts';
import { SEALING_ALG, sealingPublicKey, unseal, type SealingPrivateKey, type SealingPublicJwk, type SealTarget } from './seal.ts';

export const KEYS_DIR = 'keys';
export const SEALING_KEY_FILE = 'sealing-key.json';
export const SECRET_HASH_KEY_FILE = 'secret-hash.key';
const SECRET_HASH_KEY_BYTES = 32;

export interface ControllerKeys {
  /** The public sealing key: published at /.well-known/mergekey-sealing-key, put in mergekey.yaml. */
  sealingPublicJwk: SealingPublicJwk;
  /** Opens values sealed to this controller; the private key stays inside. */
  opener: { unseal(sealed: string, target: SealTarget): Promise<string> };
  /** The key client secrets are HMAC'd with (`hashClientSecret`). */
  secretHashKey: Uint8Array;
  /** True when this call created the keys (first start). */
  created: boolean;
}

export interface LoadKeysOptions {
  /**
   * Create the keys when `keys/` holds neither file (default true). Pass false where keys must
   * already exist, e.g. a worker process, or a store that already holds applications.
   */
  create?: boolean;
}

/**
 * Loads the controller's keys from `<dataDir>/keys/`, creating them on first start. Throws
 * SealingError: `sealing.key-permissions` for a group- or world-accessible key file (like ssh),
 * `sealing.key-file` for an unreadable or invalid one, `sealing.missing-keys` when one of the two
 * exists without the other, or none exists and `create` is false.
 */
export async function loadOrCreateKeys(dataDir: string, options: LoadKeysOptions = {}): Promise<ControllerKeys> {
  const dir = join(dataDir, KEYS_DIR);
  const sealingFile = join(dir, SEALING_KEY_FILE);
  const hashFile = join(dir, SECRET_HASH_KEY_FILE);
  let created = false;
  const present = [sealingFile, hashFile].filter(exists);
  if (present.length === 0) {
    if (options.create === false) {
      throw new SealingError('sealing.missing-keys', `the controller's keys are missing from ${dir}`);
    }
    created = createKeys(dataDir, dir);
  } else if (present.length === 1) {
    const missing = present[0] === sealingFile ? hashFile : sealingFile;
    throw new SealingError(
      'sealing.missing-keys',
      `${missing} is missing but ${present[0]} exists; restore it from a backup (creating a new one would ` +
        'make every sealed value or every stored secret hash useless)',
    );
  }

  const privateJwk = readSealingKey(sealingFile);
  const secretHashKey = readSecretHashKey(hashFile);
  const sealingPublicJwk = await sealingPublicKey({ kty: privateJwk.kty, crv: privateJwk.crv, x: privateJwk.x });
  const key: SealingPrivateKey = {
    kid: sealingPublicJwk.kid,
    privateKey: (await importJWK({ kty: 'OKP', crv: 'X25519', x: privateJwk.x!, d: privateJwk.d! }, SEALING_ALG)) as CryptoKey,
  };
  return {
    sealingPublicJwk,
    opener: { unseal: (sealed, target) => unseal(key, sealed, target) },
    secretHashKey,
    created,
  };
}

/** Returns whether this call created the keys; false if another process did it first. */
function createKeys(dataDir: string, dir: string): boolean {
  const { privateKey } = generateKeyPairSync('x25519');
  const jwk = privateKey.export({ format: 'jwk' });
  const sealing = JSON.stringify({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, d: jwk.d, use: 'enc', alg: SEALING_ALG }, null, 2) + '\n';
  const hash = randomBytes(SECRET_HASH_KEY_BYTES);

  mkdirSync(dataDir, { recursive: true, mode: PRIVATE_DIR_MODE });
  if (!exists(dir)) {
    const staging = join(dataDir, `.${KEYS_DIR}.new-${process.pid}-${randomBytes(6).toString('hex')}`);
    mkdirSync(staging, { mode: PRIVATE_DIR_MODE });
    try {
      createPrivateFile(join(staging, SEALING_KEY_FILE), sealing);
      createPrivateFile(join(staging, SECRET_HASH_KEY_FILE), hash);
      renameSync(staging, dir);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // Another process renamed its keys into place first: use those.
      if (code === 'ENOTEMPTY' || code === 'EEXIST') return false;
      throw new SealingError('sealing.key-file', `cannot create the controller's keys in ${dir}: ${(err as Error).message}`, { cause: err });
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  }
  // `keys/` exists but is empty of ours (an operator prepared it, or it is a mounted volume).
  try {
    createPrivateFile(join(dir, SEALING_KEY_FILE), sealing);
    createPrivateFile(join(dir, SECRET_HASH_KEY_FILE), hash);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new SealingError('sealing.key-file', `cannot create the controller's keys in ${dir}: ${(err as Error).message}`, { cause: err });
  }
}

function readSealingKey(file: string): JsonWebKey {
  const text = readPrivate(file).toString('utf8');
  let jwk: JsonWebKey;
  try {
    jwk = JSON.parse(text) as JsonWebKey;
  } catch {
    throw new SealingError('sealing.key-file', `${file} is not JSON; it should hold the controller's private X25519 JWK`);
  }
  if (jwk.kty !== 'OKP' || jwk.crv !== 'X25519' || typeof jwk.d !== 'string' || typeof jwk.x !== 'string') {
    throw new SealingError('sealing.key-file', `${file} does not hold a private X25519 JWK (kty OKP, crv X25519, x, d)`);
  }
  // The public half is derived from the private one, so a damaged `x` would seal to a key nobody has.
  let derived: string | undefined;
  try {
    derived = createPublicKey(createPrivateKey({ key: jwk, format: 'jwk' })).export({ format: 'jwk' }).x;
  } catch {
    throw new SealingError('sealing.key-file', `${file} holds a private key node cannot load`);
  }
  if (derived !== jwk.x) throw new SealingError('sealing.key-file', `${file} is damaged: its public part does not match its private part`);
  return jwk;
}

function readSecretHashKey(file: string): Uint8Array {
  const key = readPrivate(file);
  if (key.length !== SECRET_HASH_KEY_BYTES) {
    throw new SealingError('sealing.key-file', `${file} holds ${key.length} bytes; the secret-hash key is ${SECRET_HASH_KEY_BYTES}`);
  }
  return new Uint8Array(key);
}

function readPrivate(file: string): Buffer {
  let problem: string | undefined;
  let bytes: Buffer;
  try {
    problem = permissionProblem(file);
    bytes = readFileSync(file);
  } catch (err) {
    throw new SealingError('sealing.key-file', `cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  if (problem !== undefined) throw new SealingError('sealing.key-permissions', problem);
  return bytes;
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new SealingError('sealing.key-file', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}
