import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { simpleGit } from 'simple-git';
import { parse } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isManifestPath } from '../../controller/manifests/index.ts';
import { CliError } from '../errors.ts';
import { DEFAULT_ISSUER, init } from './init.ts';
import { validate } from './validate.ts';

const schemasDir = fileURLToPath(new URL('../../schemas/', import.meta.url));

async function x25519(): Promise<{ publicJwk: JWK; privateJwk: JWK }> {
  const pair = await generateKeyPair('ECDH-ES+A256KW', { crv: 'X25519', extractable: true });
  return { publicJwk: await exportJWK(pair.publicKey), privateJwk: await exportJWK(pair.privateKey) };
}

describe('init', () => {
  let tmp: string;
  beforeEach(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'mergekey-init-'));
  });
  afterEach(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  async function keyFile(jwk: unknown): Promise<string> {
    const file = join(tmp, 'key.json');
    await writeFile(file, JSON.stringify(jwk));
    return file;
  }

  it('creates the layout of SPEC.md, and the result validates', async () => {
    const dir = join(tmp, 'manifests');
    const result = await init({ dir });
    expect(result.files).toEqual([
      '.github/CODEOWNERS',
      '.github/workflows/mergekey-check.yml',
      '.mergekey/schemas/api.schema.json',
      '.mergekey/schemas/application.schema.json',
      '.mergekey/schemas/common.schema.json',
      '.mergekey/schemas/plan.schema.json',
      '.mergekey/schemas/settings.schema.json',
      '.mergekey/schemas/user.schema.json',
      'README.md',
      'apis/.gitkeep',
      'apps/.gitkeep',
      'mergekey.yaml',
      'plans/standard.yaml',
      'users/.gitkeep',
    ]);
    expect(await validate({ dir })).toEqual({
      valid: true,
      objects: { Settings: 1, Api: 0, Plan: 1, User: 0, Application: 0 },
      problems: [],
    });
    expect(parse(await readFile(join(dir, 'mergekey.yaml'), 'utf8'))).toEqual({
      apiVersion: 'mergekey/v1',
      kind: 'Settings',
      metadata: { name: 'mergekey' },
      spec: { issuer: DEFAULT_ISSUER, defaultPlan: 'standard' },
    });
    expect((await stat(dir)).mode & 0o777).toBe(0o755);
    // Nothing is left beside DIR: the staging folder was renamed into place.
    expect(await readdir(tmp)).toEqual(['manifests']);
  });

  it('gives every manifest a schema modeline that resolves to a copied schema', async () => {
    const dir = join(tmp, 'manifests');
    const { files } = await init({ dir });
    const manifests = files.filter(isManifestPath);
    expect(manifests).toEqual(['mergekey.yaml', 'plans/standard.yaml']);
    for (const path of manifests) {
      const firstLine = (await readFile(join(dir, path), 'utf8')).split('\n')[0]!;
      const schema = /^# yaml-language-server: \$schema=(\S+)$/.exec(firstLine)?.[1];
      expect(schema, path).toBeDefined();
      const copy = await readFile(join(dir, dirname(path), schema!), 'utf8');
      expect(copy).toBe(await readFile(join(schemasDir, schema!.split('/').at(-1)!), 'utf8'));
    }
  });

  it('makes the publishers team own publishers\' files and review applications', async () => {
    const dir = join(tmp, 'manifests');
    await init({ dir, publishersTeam: '@acme/api-publishers' });
    const rules = (await readFile(join(dir, '.github/CODEOWNERS'), 'utf8'))
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('#'))
      .map((line) => line.split(/\s+/));
    for (const path of ['/mergekey.yaml', '/apis/', '/plans/', '/users/', '/apps/', '/.github/']) {
      expect(rules).toContainEqual([path, '@acme/api-publishers']);
    }
  });

  it('records a public X25519 sealing key with its RFC 7638 thumbprint as kid', async () => {
    const { publicJwk } = await x25519();
    const dir = join(tmp, 'manifests');
    const kid = await calculateJwkThumbprint(publicJwk);
    expect(await init({ dir, sealingKey: await keyFile(publicJwk), issuer: 'https://auth.example.com' })).toMatchObject({
      sealingKeyId: kid,
    });
    const settings = parse(await readFile(join(dir, 'mergekey.yaml'), 'utf8')) as { spec: Record<string, unknown> };
    expect(settings.spec).toEqual({
      issuer: 'https://auth.example.com',
      defaultPlan: 'standard',
      sealingKey: { kty: 'OKP', crv: 'X25519', x: publicJwk.x, kid, use: 'enc', alg: 'ECDH-ES+A256KW' },
    });
    expect((await validate({ dir })).valid).toBe(true);
  });

  it('accepts a JWKS holding exactly one public key', async () => {
    const { publicJwk } = await x25519();
    const dir = join(tmp, 'manifests');
    await expect(init({ dir, sealingKey: await keyFile({ keys: [publicJwk] }) })).resolves.toMatchObject({
      sealingKeyId: await calculateJwkThumbprint(publicJwk),
    });
  });

  it('refuses a private key without echoing it, and writes nothing', async () => {
    const { privateJwk } = await x25519();
    const dir = join(tmp, 'manifests');
    const error = (await init({ dir, sealingKey: await keyFile(privateJwk) }).catch((e: unknown) => e)) as CliError;
    expect(error).toBeInstanceOf(CliError);
    expect(error.code).toBe('FAILED');
    expect(error.message).toContain("holds a private key (it has a 'd' member)");
    expect(error.message).not.toContain(privateJwk.d);
    expect(await readdir(tmp)).toEqual(['key.json']);
  });

  it.each([
    ['an Ed25519 key', async () => exportJWK((await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })).publicKey), 'is not an X25519 key'],
    ['a P-256 key', async () => exportJWK((await generateKeyPair('ES256', { extractable: true })).publicKey), 'is not an X25519 key'],
    ['a kid that is not the thumbprint', async () => ({ ...(await x25519()).publicJwk, kid: 'someone-else' }), "member 'kid' is not the key's RFC 7638 thumbprint"],
    ['a signing key', async () => ({ ...(await x25519()).publicJwk, use: 'sig' }), "member 'use' must be 'enc'"],
    ['a short x', async () => ({ kty: 'OKP', crv: 'X25519', x: 'AAAA' }), "member 'x' must be a 32-byte X25519 public key"],
    ['two keys', async () => ({ keys: [(await x25519()).publicJwk, (await x25519()).publicJwk] }), 'does not hold a JWK'],
    ['not JSON', async () => 'not json', 'is not JSON'],
  ])('refuses %s as a sealing key', async (_, make, message) => {
    const made = await make();
    const file = typeof made === 'string' ? join(tmp, 'key.json') : await keyFile(made);
    if (typeof made === 'string') await writeFile(file, made);
    await expect(init({ dir: join(tmp, 'manifests'), sealingKey: file })).rejects.toThrow(message);
    expect(await readdir(tmp)).toEqual(['key.json']);
  });

  it('leaves nothing behind, not even the parent folders it made, when a late step fails', async () => {
    // Without git on PATH, the first commit (the last step before the rename) fails.
    const path = process.env.PATH;
    process.env.PATH = join(tmp, 'no-git-here');
    try {
      await expect(init({ dir: join(tmp, 'a', 'b', 'manifests'), git: true })).rejects.toThrow(
        'git could not make the first commit',
      );
    } finally {
      process.env.PATH = path;
    }
    expect(await readdir(tmp)).toEqual([]);
  });

  it('creates missing parent folders', async () => {
    const dir = join(tmp, 'a', 'b', 'manifests');
    await init({ dir });
    expect((await validate({ dir })).valid).toBe(true);
  });

  it('refuses a DIR that is not empty and leaves it untouched', async () => {
    const dir = join(tmp, 'manifests');
    await mkdir(dir);
    await writeFile(join(dir, 'keep.txt'), 'mine');
    await expect(init({ dir })).rejects.toThrow(new CliError('FAILED', `'${dir}' is not empty; init only creates a new repository`));
    expect(await readdir(dir)).toEqual(['keep.txt']);
    expect(await readdir(tmp)).toEqual(['manifests']);
  });

  it('fills an existing empty DIR', async () => {
    const dir = join(tmp, 'manifests');
    await mkdir(dir);
    await init({ dir });
    expect((await validate({ dir })).valid).toBe(true);
  });

  it.each([
    [{ issuer: 'ftp://example.com' }, "option '--issuer' must be an http(s) URL"],
    [{ issuer: 'https://example.com/?tenant=1' }, "option '--issuer' must be an http(s) URL"],
    [{ publishersTeam: 'publishers' }, "option '--publishers-team' must be a GitHub team"],
    [{ sealingKey: '/nonexistent/key.json' }, "sealing key file '/nonexistent/key.json' does not exist"],
  ])('refuses %j as a usage error', async (options, message) => {
    const error = await init({ dir: join(tmp, 'manifests'), ...options }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'USAGE' });
    expect((error as Error).message).toContain(message);
    expect(await readdir(tmp)).toEqual([]);
  });

  it('with --git, makes the first commit on main holding every file', async () => {
    const dir = join(tmp, 'manifests');
    const { commit, files } = await init({ dir, git: true });
    const git = simpleGit(dir);
    expect(await git.revparse(['HEAD'])).toBe(await git.revparse([commit!]));
    expect((await git.branchLocal()).current).toBe('main');
    expect((await git.status()).isClean()).toBe(true);
    expect((await git.raw(['ls-files'])).trim().split('\n').sort()).toEqual(files);
  });
});
