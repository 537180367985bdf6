// `mergekey serve` over a damaged, missing or foreign store, and over a data directory whose last
// server was killed: real processes, a real store written by a real server, real damage to its
// file. A store the start-up check refuses makes serve exit 1 with a message naming the file and
// what to do — never a signal death, never a silent fresh start; `--rebuild-store` starts over
// from git and says that refresh tokens were lost.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORE_ID_FILE } from '../store/check.ts';
import { lmdbTreeProblem } from '../store/lmdb-file.ts';
import { authorizationServer, insecure, sealedRepo, serveChild, type SealedRepo, type ServeChild } from '../../test/support/serve-child.ts';

const bin = fileURLToPath(new URL('../../cli/bin/mergekey.js', import.meta.url));

let f: SealedRepo;
/** The refresh token alice got from the server that wrote the store. */
let refreshToken: string;
let copies = 0;
const children: { kill(signal: NodeJS.Signals): unknown }[] = [];

const args = (data: string, ...more: string[]) => ['--repo', f.repo.path, '--data', data, '--port', '0', '--poll', '0', '--workers', '1', ...more];

function mobile(): [oauth.Client, oauth.ClientAuth] {
  return [{ client_id: f.clients.mobile!.clientId }, oauth.ClientSecretBasic(f.clients.mobile!.secret)];
}

async function grant(url: string, grantType: string, parameters: Record<string, string>) {
  const as = await authorizationServer(url, f.issuer);
  const [client, auth] = mobile();
  return oauth.processGenericTokenEndpointResponse(as, client, await oauth.genericTokenEndpointRequest(as, client, auth, grantType, parameters, insecure));
}

function started(child: ServeChild): ServeChild {
  children.push(child.proc);
  return child;
}

beforeAll(async () => {
  f = await sealedRepo();
  // A real store: a server applies the repository, alice signs in (a refresh token family is
  // stored), and the server stops gracefully.
  const first = started(serveChild(args(f.data)));
  const url = await first.url();
  await first.waitFor(/applied commit/);
  refreshToken = (await grant(url, 'password', { username: 'alice', password: f.passwords.alice! })).refresh_token!;
  expect(await first.stop()).toBe(0);
}, 60_000);

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  f.remove();
});

/** A copy of the data directory the fixture's server wrote, for one test to damage. */
function dataCopy(): { data: string; file: string } {
  const data = `${f.data}-copy-${++copies}`;
  cpSync(f.data, data, { recursive: true });
  return { data, file: join(data, 'store', 'data.mdb') };
}

/** Runs serve to its end; it must exit 1 by itself (not by a signal) without ever serving. */
async function refusedStart(data: string, ...more: string[]): Promise<string> {
  const child = started(serveChild(args(data, ...more)));
  const code = await child.exit;
  expect(child.proc.signalCode).toBeNull();
  expect(code).toBe(1);
  expect(child.lines.some((line) => line.includes('mergekey serving on'))).toBe(false);
  return child.lines.filter((line) => line.startsWith('mergekey: ')).join('\n');
}

const restoreHint = (data: string) =>
  `. Restore ${join(data, 'store')} from a backup taken with this data directory's keys, or start once with --rebuild-store to move it aside ` +
  'and rebuild the configuration from git (refresh tokens, access token records, revocations, used client assertion ids, token signing keys ' +
  'and portal sessions were in the old store: every refresh token issued before is invalid and clients must sign in again)';

/** The pages of the store's current trees, by page number, with the page size. */
function treePages(file: string): { pageSize: number; pages: Map<number, string> } {
  const walk = lmdbTreeProblem(file);
  if (typeof walk === 'string') throw new Error(walk);
  return { pageSize: readFileSync(file).readUInt32LE(48), pages: walk.pages };
}

describe('mergekey serve refuses a damaged store with a clear message', () => {
  it('a truncated store file', { timeout: 30_000 }, async () => {
    const { data, file } = dataCopy();
    const size = readFileSync(file).length;
    truncateSync(file, 3 * 4096);
    const message = await refusedStart(data);
    expect(message).toMatch(new RegExp(`^mergekey: cannot start: the store file ${file} is damaged \\(the file is 12288 bytes but its last page ends at byte \\d+ \\(truncated\\)\\)\\. Restore `));
    expect(message).toBe(message.replace(/\. Restore .*$/s, '') + restoreHint(data));
    expect(size).toBeGreaterThan(3 * 4096);
  });

  it('a zero-length store file (never a silent fresh start)', { timeout: 30_000 }, async () => {
    const { data, file } = dataCopy();
    truncateSync(file, 0);
    expect(await refusedStart(data)).toBe(
      `mergekey: cannot start: the store file ${file} is empty (0 bytes), but LMDB never leaves a store it created empty${restoreHint(data)}`,
    );
    expect(readFileSync(file).length).toBe(0);
  });

  it('a store directory that is gone, while the identity files say one existed', { timeout: 30_000 }, async () => {
    const { data, file } = dataCopy();
    rmSync(join(data, 'store'), { recursive: true });
    expect(await refusedStart(data)).toBe(
      `mergekey: cannot start: the store file ${file} is missing, but this data directory had a store ` +
        `(${join(data, STORE_ID_FILE)}, ${join(data, 'keys', STORE_ID_FILE)})${restoreHint(data)}`,
    );
    expect(existsSync(file)).toBe(false);
  });

  it('a store with only keys/ left of the data directory (the identity in keys/ remembers it)', { timeout: 30_000 }, async () => {
    const { data, file } = dataCopy();
    for (const entry of readdirSync(data)) if (entry !== 'keys') rmSync(join(data, entry), { recursive: true });
    expect(await refusedStart(data)).toBe(
      `mergekey: cannot start: the store file ${file} is missing, but this data directory had a store (${join(data, 'keys', STORE_ID_FILE)})${restoreHint(data)}`,
    );
  });

  it('flipped bytes in the first meta page', { timeout: 30_000 }, async () => {
    const { data, file } = dataCopy();
    const bytes = readFileSync(file);
    for (let i = 24; i < 32; i++) bytes[i] = bytes[i]! ^ 0xff;
    writeFileSync(file, bytes);
    expect(await refusedStart(data)).toBe(`mergekey: cannot start: the store file ${file} is damaged (meta page 0: no LMDB magic number)${restoreHint(data)}`);
  });

  it('flipped bytes in the second meta page\'s page size', { timeout: 30_000 }, async () => {
    const { data, file } = dataCopy();
    const bytes = readFileSync(file);
    const pageSize = bytes.readUInt32LE(48);
    bytes.writeUInt32LE(pageSize ^ 0x0101, pageSize + 48);
    writeFileSync(file, bytes);
    expect(await refusedStart(data)).toBe(
      `mergekey: cannot start: the store file ${file} is damaged (meta page 1: implausible page size ${pageSize ^ 0x0101})${restoreHint(data)}`,
    );
  });

  // One page of each kind (store/check.test.ts flips every page of a store): whatever lmdb-js
  // would do with it (an error, SIGSEGV, SIGBUS, an assertion's abort), serve refuses with the
  // message, never dies by the signal itself.
  it('flipped bytes in a data page: the free list, the main database, a branch page, a leaf page', { timeout: 60_000 }, async () => {
    const { pageSize, pages } = treePages(dataCopy().file);
    const pick = (name: string, index = 0) => [...pages].filter(([, tree]) => tree === name)[index]![0];
    // `sync` is the only database big enough for a branch page: its root, then its first leaf.
    const chosen: [number, string][] = [
      [pick('(free list)'), 'the free list'],
      [pick('(main)'), 'the main database'],
      [pick('sync'), 'database sync'],
      [pick('sync', 1), 'database sync'],
      [pick('refresh-tokens'), 'database refresh-tokens'],
    ];
    for (const [page, tree] of chosen) {
      const { data, file } = dataCopy();
      const bytes = readFileSync(file);
      // The page's header after its number, and its first node offsets.
      for (let i = page * pageSize + 8; i < page * pageSize + 32; i++) bytes[i] = bytes[i]! ^ 0xa5;
      writeFileSync(file, bytes);
      const message = await refusedStart(data);
      expect(message).toMatch(new RegExp(`^mergekey: cannot start: the store file ${file} is damaged \\(page ${page} \\(${tree}\\): `));
      expect(message.endsWith(restoreHint(data))).toBe(true);
    }
  });

  it('a sound store from another controller (restored from the wrong backup)', { timeout: 30_000 }, async () => {
    const { data } = dataCopy();
    writeFileSync(join(data, 'keys', STORE_ID_FILE), JSON.stringify({ id: 'another-store', createdAt: '2026-01-01T00:00:00.000Z' }) + '\n');
    const message = await refusedStart(data);
    expect(message).toMatch(
      new RegExp(
        `^mergekey: cannot start: the store at ${join(data, 'store')} \\(id [0-9a-f-]{36}\\) is not the one this data directory created ` +
          `\\(${join(data, 'keys', STORE_ID_FILE)} says another-store\\): restored from another controller's backup\\?\\. Restore `,
      ),
    );
  });
});

describe('mergekey serve --rebuild-store', () => {
  it('moves a damaged store aside, rebuilds from git, and says refresh tokens were invalidated (log and status)', { timeout: 60_000 }, async () => {
    const { data, file } = dataCopy();
    truncateSync(file, 0);
    const server = started(serveChild(args(data, '--rebuild-store')));
    const url = await server.url();
    await server.waitFor(/applied commit/);

    const warning = JSON.parse(await server.waitFor(/the store was rebuilt from git/)) as Record<string, unknown>;
    const movedTo = warning.movedTo as string;
    expect(warning).toMatchObject({
      level: 40,
      component: 'store',
      refreshTokensInvalidated: true,
      reason: `the store file ${file} is empty (0 bytes), but LMDB never leaves a store it created empty`,
      msg:
        'the store was rebuilt from git: refresh tokens, access token records, revocations, used client assertion ids, token signing keys ' +
        'and portal sessions were in the old store: every refresh token issued before is invalid and clients must sign in again',
    });
    expect(movedTo).toMatch(new RegExp(`^${join(data, 'store')}\\.damaged-\\d{4}-\\d\\d-\\d\\dT`));
    expect(readFileSync(join(movedTo, 'data.mdb')).length).toBe(0);

    const status = (await (await fetch(`${await server.adminUrl()}/api/v1/status`)).json()) as { storeRebuild: unknown };
    expect(status.storeRebuild).toEqual({ at: expect.any(String), reason: warning.reason, movedTo, message: warning.msg });

    // The refresh token was in the lost store; the configuration came back from git.
    const refused = await grant(url, 'refresh_token', { refresh_token: refreshToken }).then(() => undefined, (e: unknown) => e);
    expect(refused).toBeInstanceOf(oauth.ResponseBodyError);
    expect([(refused as oauth.ResponseBodyError).status, (refused as oauth.ResponseBodyError).error]).toEqual([400, 'invalid_grant']);
    expect((await grant(url, 'password', { username: 'alice', password: f.passwords.alice! })).refresh_token).toBeDefined();
    expect(await server.stop()).toBe(0);

    // The flag is one-shot: over the rebuilt (sound) store it is refused, and without it the
    // store starts and still reports its rebuild.
    expect(await refusedStart(data, '--rebuild-store')).toBe(
      `mergekey: cannot start: --rebuild-store was given but the store at ${join(data, 'store')} is sound; start without it ` +
        '(it only replaces a missing or damaged store, so that a flag left in place cannot throw a sound store away)',
    );
    const again = started(serveChild(args(data)));
    expect(((await (await fetch(`${await again.adminUrl()}/api/v1/status`)).json()) as { storeRebuild: unknown }).storeRebuild).toEqual(status.storeRebuild);
    expect(await again.stop()).toBe(0);
  });
});

describe('mergekey serve --rebuild-store without the keys', () => {
  it('refuses to make new keys for a rebuilt store: the values sealed in git belong to the lost ones', { timeout: 30_000 }, async () => {
    const { data, file } = dataCopy();
    truncateSync(file, 0);
    rmSync(join(data, 'keys', 'sealing-key.json'));
    rmSync(join(data, 'keys', 'secret-hash.key'));
    expect(await refusedStart(data, '--rebuild-store')).toBe(`mergekey: cannot start: the controller's keys are missing from ${join(data, 'keys')}`);
    expect(existsSync(join(data, 'keys', 'sealing-key.json'))).toBe(false);
  });
});

/**
 * `mergekey serve` started by a parent that never reaps its children (a shell that became
 * `sleep`): killed, it stays a zombie.
 */
function unreapedServe(data: string): { parent: ChildProcessWithoutNullStreams; pid: Promise<number>; serving: Promise<void> } {
  const parent = spawn('sh', ['-c', '"$0" "$@" & echo "serve pid $!"; exec sleep 600', process.execPath, bin, 'serve', ...args(data)]);
  children.push(parent);
  let text = '';
  const seen = (pattern: RegExp) =>
    new Promise<RegExpExecArray>((resolve) => {
      const check = () => {
        const match = pattern.exec(text);
        if (match !== null) resolve(match);
      };
      parent.stdout.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        check();
      });
      check();
    });
  return { parent, pid: seen(/serve pid (\d+)/).then((m) => Number(m[1])), serving: seen(/mergekey serving on/).then(() => undefined) };
}

describe("mergekey serve and the data directory's lock", () => {
  it('starts at once after the previous server was SIGKILLed, even while that one is an unreaped zombie', { timeout: 60_000 }, async () => {
    const { data } = dataCopy();
    const first = unreapedServe(data);
    await first.serving;
    const pid = await first.pid;
    process.kill(pid, 'SIGKILL');
    // No wait for the first one to die: the restart is started at once.
    const second = started(serveChild(args(data)));
    await second.url();
    expect(/\) (\w)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))![1]).toBe('Z');
    expect(readFileSync(join(data, 'controller.lock'), 'utf8')).toBe(`${second.proc.pid}\n`);
    expect(await second.stop()).toBe(0);
  });

  it('refuses a second live server on the same directory, naming the first one\'s PID', { timeout: 60_000 }, async () => {
    const { data } = dataCopy();
    const first = started(serveChild(args(data)));
    await first.url();
    expect(await refusedStart(data)).toBe(
      `mergekey: cannot start: the data directory ${data} is in use by another mergekey controller (PID ${first.proc.pid}); stop it first`,
    );
    expect(await first.stop()).toBe(0);
  });
});
