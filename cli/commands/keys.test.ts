import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { command, keysPublic } from './keys.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mergekey-keys-cli-'));
  dirs.push(dir);
  return join(dir, 'data');
}

describe('keys public', () => {
  it("creates the controller's keys on a fresh data directory, then prints the same public JWK", async () => {
    const data = dataDir();
    const first = await keysPublic({ data });
    expect(first.created).toBe(true);
    expect(statSync(join(data, 'keys', 'sealing-key.json')).mode & 0o777).toBe(0o600);
    const again = await keysPublic({ data });
    expect(again).toEqual({ ...first, created: false });
    const printed = JSON.parse(command.render(again, {})) as Record<string, unknown>;
    expect(printed).toEqual(first.jwk);
    expect(Object.keys(printed).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x']);
  });

  it('finds the data directory as serve does: the flag, else MERGEKEY_DATA', async () => {
    const data = dataDir();
    const result = await keysPublic({ env: { MERGEKEY_DATA: data } });
    expect(result.keysDir).toBe(join(data, 'keys'));
  });

  it('fails with the reason when the key files are too open', async () => {
    const data = dataDir();
    await keysPublic({ data });
    chmodSync(join(data, 'keys', 'secret-hash.key'), 0o604);
    await expect(keysPublic({ data })).rejects.toMatchObject({ code: 'FAILED', message: expect.stringMatching(/permissions 0604 .* are too open/) });
  });
});
