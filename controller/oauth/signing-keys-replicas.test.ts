// Signing keys kept on a real PostgreSQL (test/support/postgres.ts) by two replicas, each with its
// own pool and its own SigningKeys, as two `mergekey serve` processes have (issue 13): starting
// together they make one keyring, a rotation due on both happens once and both end up signing with
// the same key, and a dump of the database holds no usable private key.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { compactVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { postgresBinaries } from '../../test/support/postgres.ts';
import { sharedDatabases, type FreshDatabase } from '../../test/support/shared-db.ts';
import { postgresKeyring } from '../store/postgres/keyring.ts';
import { openPrivateJwk, SigningKeys } from './signing-keys.ts';

const HOUR = 3_600_000;
const WRAP_KEY = new Uint8Array(32).fill(7);
let clock: number;
const pg = sharedDatabases();

/** One replica's signing keys: its own pool on the shared database, the shared keys/ (wrap key). */
function replica(database: FreshDatabase): SigningKeys {
  return new SigningKeys(postgresKeyring(database.connect()), {
    alg: 'ES256', rotationInterval: 24 * HOUR, retention: () => 2 * HOUR, now: () => clock, onError: (err) => { throw err; }, wrapKey: WRAP_KEY,
  });
}

const kids = (keys: SigningKeys) => (keys.jwks().keys as { kid: string }[]).map((key) => key.kid).sort();

describe('signing keys shared by two replicas on PostgreSQL', () => {
  it('are created once and rotated once when both replicas rotate at once, and both sign with the winner', async () => {
    clock = Date.UTC(2030, 0, 1);
    const database = await pg.freshDatabase();
    const [a, b] = [replica(database), replica(database)];
    await Promise.all([a.start(), b.start()]);
    const keyring = postgresKeyring(database.connect());
    expect((await keyring.keyring())?.version).toBe(1);
    expect(a.signer().kid).toBe(b.signer().kid);
    const before = a.signer().kid;

    clock += 24 * HOUR;
    await Promise.all([a.maintain(), b.maintain()]);
    const ring = (await keyring.keyring())!;
    // One rotation: version 2, the old key retired, the key published ahead now current, one new next.
    expect(ring.version).toBe(2);
    expect(ring.keys.map((key) => key.state).sort()).toEqual(['current', 'next', 'retired']);
    expect(ring.keys.find((key) => key.state === 'retired')?.kid).toBe(before);
    const current = ring.keys.find((key) => key.state === 'current')!.kid;
    expect([a.signer().kid, b.signer().kid]).toEqual([current, current]);
    expect(kids(a)).toEqual(kids(b));

    // What one replica signs, the other verifies.
    const token = await a.signer().sign({ sub: 'x' });
    const key = await b.verificationKey(current);
    expect((await compactVerify(token, key!.key)).protectedHeader).toMatchObject({ kid: current });
  });

  it('leave no usable private key in a dump of the database', async () => {
    clock = Date.UTC(2030, 0, 1);
    const database = await pg.freshDatabase();
    const { url } = database;
    const keys = replica(database);
    await keys.start();
    const ring = (await postgresKeyring(database.connect()).keyring())!;
    const { bin } = postgresBinaries()!;
    const { stdout: dump } = await promisify(execFile)(join(bin, 'pg_dump'), ['--data-only', '--table=signing_keyring', url], { encoding: 'utf8' });

    expect(dump).toContain('sealedPrivateJwk');
    for (const record of ring.keys) {
      // The private scalar exists (the wrap key opens it) and appears nowhere in the dump.
      const { d } = openPrivateJwk(record, WRAP_KEY) as { d: string };
      expect(d).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(dump).not.toContain(d);
      expect(dump).toContain(record.sealedPrivateJwk);
      expect(() => openPrivateJwk(record, new Uint8Array(32).fill(8))).toThrow(/cannot be decrypted with this data directory's keys/);
    }
    expect(dump).not.toMatch(/privateJwk"|"d":/);
  });
});
