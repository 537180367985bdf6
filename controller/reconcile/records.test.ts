// A User's password as every replica keeps it (issue 13): replicas sharing the data directory's
// keys hash the same sealed password to the same record, since a portal session opened on one
// carries a fingerprint of the hash that the others check; a new sealing or other keys give
// another hash, and the hash still verifies the password.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadManifest, type ManifestObject } from '../manifests/index.ts';
import { loadOrCreateKeys } from '../sealing/keys.ts';
import { passwordMatches } from '../sealing/hashes.ts';
import { seal } from '../sealing/seal.ts';
import { tempDir } from '../../test/support/reconcile.ts';
import { toRecord, type RecordContext } from './records.ts';

const dir = tempDir('mergekey-records-');
afterAll(() => dir.remove());

function userObject(sealed: string, displayName = 'Alice'): ManifestObject {
  const content = `apiVersion: mergekey/v1\nkind: User\nmetadata:\n  name: alice\nspec:\n  displayName: ${displayName}\n  roles: [developer]\n  password:\n    sealed: ${sealed}\n`;
  const loaded = loadManifest({ path: 'users/alice.yaml', content: new TextEncoder().encode(content) });
  if (loaded.object === undefined) throw new Error(JSON.stringify(loaded.problems));
  return loaded.object;
}

async function passwordHash(object: ManifestObject, context: RecordContext): Promise<string> {
  const result = await toRecord(object, context);
  if (!result.ok || result.value.kind !== 'User') throw new Error(JSON.stringify(result));
  return result.value.record.passwordHash!;
}

describe('a User\'s password hash', () => {
  it('is the same on every replica with the same keys, changes with a new sealing or other keys, and verifies the password', async () => {
    const keys = await loadOrCreateKeys(join(dir.path, 'data'), { create: true });
    const context = (secretHashKey = keys.secretHashKey): RecordContext => ({ opener: keys.opener, secretHashKey, commit: 'c'.repeat(40) });
    const password = 'correct horse battery staple';
    const sealed = await seal(keys.sealingPublicJwk, { kind: 'User', name: 'alice' }, password);

    const onA = await passwordHash(userObject(sealed), context());
    const onB = await passwordHash(userObject(sealed), context());
    expect(onB).toBe(onA);
    // Another field edited: the same sealed password, the same hash (a session lives on).
    expect(await passwordHash(userObject(sealed, 'Alice Liddell'), context())).toBe(onA);
    expect(await passwordMatches(password, onA)).toBe(true);
    expect(await passwordMatches('not her password', onA)).toBe(false);

    const sealedAgain = await seal(keys.sealingPublicJwk, { kind: 'User', name: 'alice' }, password);
    expect(await passwordHash(userObject(sealedAgain), context())).not.toBe(onA);
    expect(await passwordHash(userObject(sealed), context(randomBytes(32)))).not.toBe(onA);
  });
});
