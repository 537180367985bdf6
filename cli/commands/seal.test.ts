import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateKeys, type ControllerKeys } from '../../controller/sealing/keys.ts';
import { CliError } from '../errors.ts';
import { init } from './init.ts';
import { NO_SEALING_KEY } from '../../controller/requests/secrets.ts';
import { sealSecret, type SealOptions } from './seal.ts';

let tmp: string;
let keys: ControllerKeys;
let keyFile: string;
let repo: string;
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'mergekey-seal-cli-'));
  keys = await loadOrCreateKeys(join(tmp, 'controller'));
  keyFile = join(tmp, 'key.jwk');
  writeFileSync(keyFile, JSON.stringify(keys.sealingPublicJwk));
  repo = join(tmp, 'manifests');
  await init({ dir: repo, sealingKey: keyFile });
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

const stdin = (...chunks: string[]) => Readable.from(chunks.map((chunk) => Buffer.from(chunk)));
const alice = { kind: 'User', name: 'alice' } as const;

async function failureOf(options: SealOptions): Promise<CliError> {
  const err = await sealSecret(options).then(
    () => {
      throw new Error('expected a CliError');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CliError);
  return err as CliError;
}

describe('seal', () => {
  it('seals what stdin holds (without its trailing newline) to a key file, for the controller to open', async () => {
    const result = await sealSecret({ key: keyFile, ...alice, stdin: stdin('correct horse', ' battery\n') });
    expect(result).toMatchObject({ bind: 'User/alice', kid: keys.sealingPublicJwk.kid });
    expect(result.generatedSecret).toBeUndefined();
    expect(await keys.opener.unseal(result.sealed, alice)).toBe('correct horse battery');
  });

  it("takes the key from a repository's mergekey.yaml", async () => {
    const result = await sealSecret({ repo, kind: 'Application', name: 'billing', stdin: stdin('s3cret\r\n') });
    expect(await keys.opener.unseal(result.sealed, { kind: 'Application', name: 'billing' })).toBe('s3cret');
  });

  it('generates a 256-bit secret with --generate and returns it once', async () => {
    const result = await sealSecret({ repo, kind: 'Application', name: 'billing', generate: true, stdin: stdin('ignored') });
    expect(result.generatedSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await keys.opener.unseal(result.sealed, { kind: 'Application', name: 'billing' })).toBe(result.generatedSecret);
  });

  it('says where the sealing key goes when mergekey.yaml has none', async () => {
    const bare = join(tmp, 'bare');
    await init({ dir: bare });
    const err = await failureOf({ repo: bare, ...alice, stdin: stdin('x') });
    expect(err.message).toBe(NO_SEALING_KEY);
    expect(err.code).toBe('FAILED');
  });

  it('refuses a terminal, an empty stdin, and an oversized one', async () => {
    const tty = Object.assign(stdin('typed'), { isTTY: true });
    expect((await failureOf({ key: keyFile, ...alice, stdin: tty })).message).toBe('the secret is read from stdin, which is a terminal');
    expect((await failureOf({ key: keyFile, ...alice, stdin: stdin('\n') })).message).toBe('no secret on stdin');
    expect((await failureOf({ key: keyFile, ...alice, stdin: stdin('x'.repeat(9000)) })).message).toBe('the secret on stdin is over 8192 bytes');
  });

  it('needs exactly one key source and a valid name', async () => {
    expect((await failureOf({ ...alice, stdin: stdin('x') })).code).toBe('USAGE');
    expect((await failureOf({ key: keyFile, repo, ...alice, stdin: stdin('x') })).code).toBe('USAGE');
    expect((await failureOf({ key: keyFile, kind: 'User', name: 'Alice', stdin: stdin('x') })).code).toBe('USAGE');
  });

  it('refuses a private key file without repeating it', async () => {
    const { privateKey } = generateKeyPairSync('x25519');
    const jwk = privateKey.export({ format: 'jwk' });
    const file = join(tmp, 'private.jwk');
    writeFileSync(file, JSON.stringify(jwk));
    const err = await failureOf({ key: file, ...alice, stdin: stdin('x') });
    expect(err.message).toMatch(/holds a private key/);
    expect(err.message).not.toContain(String(jwk.d));
  });
});
