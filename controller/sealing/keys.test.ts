import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { calculateJwkThumbprint } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { SealingError, type SealingErrorCode } from './errors.ts';
import { KEYS_DIR, loadOrCreateKeys, SEALING_KEY_FILE, SECRET_HASH_KEY_FILE } from './keys.ts';
import { seal } from './seal.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mergekey-keys-'));
  dirs.push(dir);
  return dir;
}

const mode = (path: string) => statSync(path).mode & 0o777;

async function refusal(promise: Promise<unknown>, code: SealingErrorCode): Promise<SealingError> {
  const err = await promise.then(
    () => {
      throw new Error(`expected ${code}`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SealingError);
  expect((err as SealingError).code).toBe(code);
  return err as SealingError;
}

describe('loadOrCreateKeys', () => {
  it('creates the keys on first start, owner-only, and loads the same ones afterwards', async () => {
    const data = join(dataDir(), 'data');
    const first = await loadOrCreateKeys(data);
    const keys = join(data, KEYS_DIR);
    expect(first.created).toBe(true);
    expect(mode(keys)).toBe(0o700);
    expect(mode(join(keys, SEALING_KEY_FILE))).toBe(0o600);
    expect(mode(join(keys, SECRET_HASH_KEY_FILE))).toBe(0o600);
    expect(first.secretHashKey).toHaveLength(32);
    // Nothing half-written is left beside them.
    expect(readdirSync(data)).toEqual([KEYS_DIR]);
    expect(readdirSync(keys).sort()).toEqual([SEALING_KEY_FILE, SECRET_HASH_KEY_FILE]);

    const again = await loadOrCreateKeys(data);
    expect(again.created).toBe(false);
    expect(again.sealingPublicJwk).toEqual(first.sealingPublicJwk);
    expect(Buffer.from(again.secretHashKey).equals(Buffer.from(first.secretHashKey))).toBe(true);
    // A value sealed before a restart opens after it.
    const sealed = await seal(first.sealingPublicJwk, { kind: 'Application', name: 'billing' }, 'secret');
    expect(await again.opener.unseal(sealed, { kind: 'Application', name: 'billing' })).toBe('secret');
  });

  it('publishes a public JWK with its RFC 7638 thumbprint as kid, and nothing private', async () => {
    const { sealingPublicJwk } = await loadOrCreateKeys(dataDir());
    const { kty, crv, x } = sealingPublicJwk;
    expect(sealingPublicJwk).toEqual({ kty: 'OKP', crv: 'X25519', x, kid: await calculateJwkThumbprint({ kty, crv, x }), use: 'enc', alg: 'ECDH-ES+A256KW' });
  });

  it('creates the keys in an existing empty keys directory (a mounted volume)', async () => {
    const data = dataDir();
    mkdirSync(join(data, KEYS_DIR), { mode: 0o700 });
    expect((await loadOrCreateKeys(data)).created).toBe(true);
    expect(mode(join(data, KEYS_DIR, SEALING_KEY_FILE))).toBe(0o600);
  });

  it('refuses a group- or world-readable key file, as ssh does', async () => {
    const data = dataDir();
    await loadOrCreateKeys(data);
    const file = join(data, KEYS_DIR, SEALING_KEY_FILE);
    chmodSync(file, 0o644);
    const err = await refusal(loadOrCreateKeys(data), 'sealing.key-permissions');
    expect(err.message).toBe(`permissions 0644 on ${file} are too open: it must be readable by its owner only (chmod 600 ${file})`);
    chmodSync(file, 0o600);
    chmodSync(join(data, KEYS_DIR, SECRET_HASH_KEY_FILE), 0o640);
    await refusal(loadOrCreateKeys(data), 'sealing.key-permissions');
  });

  it('refuses to replace one lost key file, which would make every sealed value or hash useless', async () => {
    const data = dataDir();
    await loadOrCreateKeys(data);
    rmSync(join(data, KEYS_DIR, SECRET_HASH_KEY_FILE));
    const err = await refusal(loadOrCreateKeys(data), 'sealing.missing-keys');
    expect(err.message).toMatch(/secret-hash\.key is missing but .*sealing-key\.json exists; restore it from a backup/);
  });

  it('does not create keys when told they must exist', async () => {
    await refusal(loadOrCreateKeys(dataDir(), { create: false }), 'sealing.missing-keys');
  });

  it('refuses damaged key files', async () => {
    const data = dataDir();
    await loadOrCreateKeys(data);
    const sealingFile = join(data, KEYS_DIR, SEALING_KEY_FILE);
    const jwk = JSON.parse(readFileSync(sealingFile, 'utf8')) as { x: string; d: string };
    const good = readFileSync(sealingFile);
    const other = (await loadOrCreateKeys(dataDir())).sealingPublicJwk.x;
    writeFileSync(sealingFile, JSON.stringify({ ...jwk, x: other }));
    expect((await refusal(loadOrCreateKeys(data), 'sealing.key-file')).message).toMatch(/its public part does not match its private part/);
    writeFileSync(sealingFile, '{ not json');
    expect((await refusal(loadOrCreateKeys(data), 'sealing.key-file')).message).not.toContain(jwk.d);
    writeFileSync(sealingFile, good);
    writeFileSync(join(data, KEYS_DIR, SECRET_HASH_KEY_FILE), Buffer.alloc(16));
    expect((await refusal(loadOrCreateKeys(data), 'sealing.key-file')).message).toMatch(/holds 16 bytes; the secret-hash key is 32/);
  });

  it('gives processes that start at once the same keys', async () => {
    const data = dataDir();
    const script = `
      import { loadOrCreateKeys } from './controller/sealing/keys.ts';
      const keys = await loadOrCreateKeys(process.argv[1]);
      process.stdout.write(keys.sealingPublicJwk.kid + ' ' + Buffer.from(keys.secretHashKey).toString('hex'));
    `;
    const run = () => promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, data]);
    const results = await Promise.all([run(), run(), run()]);
    expect(new Set(results.map((r) => r.stdout)).size).toBe(1);
    expect(readdirSync(data)).toEqual([KEYS_DIR]);
  });
});
