import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import { AUTH_METHODS, GRANT_TYPES, validateRepository, type ManifestObject } from '../controller/manifests/index.ts';
import { validate } from '../cli/commands/validate.ts';
import { readRepositoryFiles } from '../cli/read-repository.ts';
import { examplesDir } from './generate-sealed.ts';

async function exampleObjects(): Promise<ManifestObject[]> {
  return validateRepository(readRepositoryFiles(examplesDir).files).objects;
}

describe('examples/manifests', () => {
  it('is a valid repository with every kind the README describes', async () => {
    expect(await validate({ dir: examplesDir })).toEqual({
      valid: true,
      objects: { Settings: 1, Api: 3, Plan: 2, User: 3, Application: 9 },
      problems: [],
    });
  });

  it('covers every grant type, every client authentication method and both states', async () => {
    const apps = (await exampleObjects()).filter((o) => o.kind === 'Application').map((o) => o.manifest.spec);
    expect(new Set(apps.flatMap((app) => app.grantTypes))).toEqual(new Set(GRANT_TYPES));
    expect(new Set(apps.map((app) => app.tokenEndpointAuthMethod))).toEqual(new Set(AUTH_METHODS));
    expect(new Set(apps.map((app) => app.state))).toEqual(new Set(['active', 'inactive']));
    expect(apps.some((app) => (app.credentials?.secrets?.length ?? 0) === 2)).toBe(true);
  });

  it('seals every secret to the sealing key in mergekey.yaml, bound to its own object', async () => {
    const objects = await exampleObjects();
    const settings = objects.find((o) => o.kind === 'Settings')!.manifest;
    const sealed: { bind: string; value: string }[] = [];
    for (const object of objects) {
      if (object.kind === 'Application') {
        for (const secret of object.manifest.spec.credentials?.secrets ?? []) {
          sealed.push({ bind: `Application/${object.name}`, value: secret.sealed });
        }
      }
      const password = object.kind === 'User' ? object.manifest.spec.password : undefined;
      if (password !== undefined) sealed.push({ bind: `User/${object.name}`, value: password.sealed });
    }
    expect(sealed).toHaveLength(11);
    for (const { bind, value } of sealed) {
      expect(decodeProtectedHeader(value)).toMatchObject({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', kid: settings.spec.sealingKey!.kid, bind });
      expect(decodeProtectedHeader(value)).not.toHaveProperty('zip');
    }
  });

  it('holds no private key in any file under examples/', async () => {
    const examplesRoot = fileURLToPath(new URL('.', import.meta.url));
    const entries = await readdir(examplesRoot, { recursive: true });
    const files = [];
    for (const entry of entries) if ((await stat(join(examplesRoot, entry))).isFile()) files.push(join(examplesRoot, entry));
    expect(files.length).toBeGreaterThan(14);
    for (const path of files) {
      if (path === fileURLToPath(import.meta.url)) continue;
      const text = await readFile(path, 'utf8');
      expect(text, path).not.toMatch(/PRIVATE KEY-----/);
      // A JWK's private members, as JSON ("d": …) or as YAML (d: …).
      expect(text, path).not.toMatch(/"(d|p|q|dp|dq|qi|k)"\s*:|^\s*-?\s*(d|p|q|dp|dq|qi|k):/m);
    }
  });
});
