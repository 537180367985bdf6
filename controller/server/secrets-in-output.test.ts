// A developer who pastes a plaintext secret or password where the sealed value belongs has leaked
// it to the repository; the controller must not copy it further. Its problem is described, never
// quoted, and the plaintext reaches no status document, metric, log line or file of the data
// directory. A real server, a real repository, real HTTP; then everything it left behind is searched.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { userYaml } from '../../test/support/reconcile.ts';
import { startTestServer, type TestServer } from '../../test/support/server.ts';

const running: TestServer[] = [];
afterEach(async () => {
  for (const t of running.splice(0)) await t.stop();
});

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? files(join(dir, entry.name)) : [join(dir, entry.name)]));
}

describe('a plaintext secret pasted into a manifest', () => {
  it('is described in the status, and found in no status, metric, log line or data file', { timeout: 30_000 }, async () => {
    const t = await startTestServer();
    running.push(t);
    const secret = 'Plaintext-Client-Secret-4f7b2c9e';
    const password = '918273645546372819';
    const pasted = (await t.app('leaky')).replace(/sealed: \S+/, `sealed: ${secret}`);
    const commit = await t.commit({ 'apps/leaky.yaml': pasted, 'users/bob.yaml': `${userYaml('bob')}  password:\n    sealed: ${password}\n` });
    const sync = await fetch(`${t.server.adminUrl}/api/v1/sync?wait=true`, { method: 'POST' });
    expect(sync.status).toBe(200);

    const status = await (await fetch(`${t.server.adminUrl}/api/v1/status`)).text();
    const objects = (JSON.parse(status) as { objectStatuses: { path: string; problems: { message: string }[] }[] }).objectStatuses;
    expect(objects.find((o) => o.path === 'apps/leaky.yaml')?.problems.map((p) => p.message)).toEqual([
      'spec.credentials.secrets[0].sealed: the value (32 characters, not repeated here: it may be a secret) is not allowed: expected a compact JWE (five base64url parts joined by dots), as `mergekey seal` prints it',
    ]);
    expect(objects.find((o) => o.path === 'users/bob.yaml')?.problems.map((p) => p.message)).toEqual([
      'spec.password.sealed: must be a string, not a whole number: the value is not repeated here, as it may be a secret',
    ]);
    const metrics = await (await fetch(`${t.server.adminUrl}/metrics`)).text();
    const texts = { status, metrics, logs: t.logs.join('\n') };
    for (const [where, text] of Object.entries(texts)) {
      expect({ where, secret: text.includes(secret), password: text.includes(password) }).toEqual({ where, secret: false, password: false });
    }
    // The data directory: the git cache holds the commit (zlib-compressed objects, as git keeps
    // them); the store, the keys and everything else hold neither plaintext.
    for (const file of files(t.dataDir).filter((f) => !f.includes(`${join(t.dataDir, 'git')}/`))) {
      const bytes = readFileSync(file);
      expect({ file, found: bytes.includes(secret) || bytes.includes(password) }).toEqual({ file, found: false });
    }
    expect(commit).toMatch(/^[0-9a-f]{40}$/);
  });
});
