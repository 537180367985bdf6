// The store check `mergekey serve` runs before it opens the store, and the rebuild it does instead
// when the operator asks for one (`--rebuild-store`).
//
// LMDB keeps no checksums, and lmdb-js does not report a damaged page as an error: depending on the
// bytes, reading it returns an error, or kills the process by SIGSEGV, SIGBUS or an assertion's
// abort. So the check first reads the file's pages as plain bytes and checks the structure of
// every tree, the free-page list included (`lmdb-file.ts`), then reads the whole store through
// lmdb-js in a short-lived child process (`check-child.js`): it
// opens the store read-only and reads every entry of every database, decoding each value as the
// server would. A child that dies by a signal, that finds a problem, or that does not finish in
// time becomes a StoreError naming the file and what to do; the server itself never maps a page the
// check has not read first. Damage that leaves every page readable and every value decodable (a
// flipped byte inside a string, say) is beyond any check without checksums.
//
// A store that is missing or empty where one existed is refused too, never silently replaced by
// a new one: that would forget every refresh token, revocation and used client assertion id. A
// store existed when one of these says so:
//   - `<data>/store.id` or `<data>/keys/store.id` (the store's identity, written at its first
//     start by a release with this check): the copy in keys/ survives the loss of everything but
//     the keys, which every backup must hold anyway;
//   - `<data>/store/lock.mdb`, which LMDB creates beside data.mdb when it opens an environment;
//   - `data.mdb` itself, present but of zero bytes: LMDB writes two meta pages when it creates it.
// The identity also tells a store from another controller (restored from the wrong backup) apart:
// its client secret hashes and sealed values belong to other keys, so it is refused as well.
//
// `--rebuild-store` moves a damaged or missing store aside (to `store.damaged-<time>`, kept for
// inspection) and starts a new one, which the reconciler fills from git. What was only in the old
// store is gone: refresh tokens (invalid from then on: clients sign in again), access token records
// and revocations, used client assertion ids, the token signing keys and portal sessions. The new
// store records the rebuild, which the status reports. On a sound store the flag is refused, so a
// flag left in a service definition cannot throw a store away at some later start.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StoreError } from './errors.ts';
import { lmdbFileProblem, lmdbTreeProblem } from './lmdb-file.ts';
import type { StoreHandles } from './handles.ts';

/** The identity file, beside the store and in `keys/`. */
export const STORE_ID_FILE = 'store.id';

/** Who a store is: written into its `meta` database and into the identity files at its first start. */
export interface StoreIdentity {
  id: string;
  createdAt: string;
}

/** A rebuild's record, kept in the new store's `meta` database and shown in the status. */
export interface StoreRebuild {
  at: string;
  /** What was wrong with the old store. */
  reason: string;
  /** Where the old store was moved, if there was a directory to move. */
  movedTo?: string;
  /** What the rebuild lost, in words for the operator. */
  message: string;
}

export interface PrepareOptions {
  /** `--rebuild-store`: move a missing or damaged store aside instead of refusing to start. */
  rebuild: boolean;
  /** Past this the check child is killed and the store refused. */
  timeoutMs: number;
  now?: () => Date;
}

export interface PreparedStore {
  /** Set when this start rebuilt the store: record it with `recordStoreIdentity`. */
  rebuilt?: StoreRebuild;
  /** Entries read per database, when there was a store to check. */
  databases?: Record<string, number>;
}

const CHILD = fileURLToPath(new URL('./check-child.js', import.meta.url));
const LOST =
  'refresh tokens, access token records, revocations, used client assertion ids, token signing keys and portal sessions ' +
  'were in the old store: every refresh token issued before is invalid and clients must sign in again';

/**
 * Checks the store of `dataDir` before the server opens it. Throws StoreError: `store.missing`,
 * `store.corrupt` or `store.foreign` with what to do; `store.rebuild-not-needed` when `rebuild` is
 * asked on a sound store. With `rebuild`, a store that would be refused is moved aside instead.
 */
export async function prepareStore(dataDir: string, options: PrepareOptions): Promise<PreparedStore> {
  const storeDir = join(dataDir, 'store');
  const found = await findProblem(dataDir, storeDir, options.timeoutMs);
  if ('code' in found) {
    if (!options.rebuild) {
      throw new StoreError(
        found.code,
        `${found.problem}. Restore ${storeDir} from a backup taken with this data directory's keys, or start once with ` +
          `--rebuild-store to move it aside and rebuild the configuration from git (${LOST})`,
      );
    }
    const at = (options.now?.() ?? new Date()).toISOString();
    let movedTo: string | undefined;
    if (existsSync(storeDir)) {
      movedTo = `${storeDir}.damaged-${at.replace(/[:.]/g, '-')}`;
      try {
        renameSync(storeDir, movedTo);
      } catch (err) {
        throw new StoreError('store.unreadable', `cannot move the damaged store ${storeDir} aside to ${movedTo}: ${(err as Error).message}`, { cause: err });
      }
    }
    return { rebuilt: { at, reason: found.problem, ...(movedTo === undefined ? {} : { movedTo }), message: `the store was rebuilt from git: ${LOST}` } };
  }
  if (options.rebuild) {
    throw new StoreError(
      'store.rebuild-not-needed',
      `--rebuild-store was given but the store at ${storeDir} is ${found.databases === undefined ? 'new' : 'sound'}; start without it ` +
        '(it only replaces a missing or damaged store, so that a flag left in place cannot throw a sound store away)',
    );
  }
  return found.databases === undefined ? {} : { databases: found.databases };
}

type Finding = { code: 'store.missing' | 'store.corrupt' | 'store.foreign'; problem: string } | { databases?: Record<string, number> };

async function findProblem(dataDir: string, storeDir: string, timeoutMs: number): Promise<Finding> {
  const file = join(storeDir, 'data.mdb');
  const markers = readIdentityFiles(dataDir);
  let size: number;
  try {
    size = statSync(file).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new StoreError('store.unreadable', `cannot read ${file}: ${(err as Error).message}`, { cause: err });
    }
    const evidence = [...markers.map((m) => m.file), ...[join(storeDir, 'lock.mdb')].filter((f) => existsSync(f))];
    if (evidence.length === 0) return {}; // a first start
    return { code: 'store.missing', problem: `the store file ${file} is missing, but this data directory had a store (${evidence.join(', ')})` };
  }
  if (size === 0) return { code: 'store.missing', problem: `the store file ${file} is empty (0 bytes), but LMDB never leaves a store it created empty` };

  // The page structure, read as plain bytes (nothing here can crash this process), and every value
  // through lmdb-js in the child, side by side: on a large store each takes seconds. A structural
  // problem is reported first, as it names the page.
  const child = readStoreInChild(storeDir, timeoutMs);
  let problem: string | undefined;
  try {
    problem = lmdbFileProblem(file);
    if (problem === undefined) {
      const tree = lmdbTreeProblem(file);
      if (typeof tree === 'string') problem = tree;
    }
  } catch (err) {
    child.cancel();
    throw new StoreError('store.unreadable', `cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  if (problem !== undefined) {
    child.cancel();
    return { code: 'store.corrupt', problem: `the store file ${file} is damaged (${problem})` };
  }

  const walked = await child.result;
  if (!walked.ok) return { code: 'store.corrupt', problem: `the store file ${file} is damaged (${walked.problem})` };
  const id = identityOf(walked.identity)?.id;
  const other = markers.find((m) => m.identity !== undefined && id !== undefined && m.identity.id !== id);
  if (other !== undefined) {
    return {
      code: 'store.foreign',
      problem: `the store at ${storeDir} (id ${id}) is not the one this data directory created (${other.file} says ${other.identity!.id}): restored from another controller's backup?`,
    };
  }
  return { databases: walked.databases };
}

export type Walk = { ok: true; databases: Record<string, number>; identity?: unknown } | { ok: false; problem: string };

/**
 * Runs check-child.js over `storeDir`; whatever happens to the child (a signal, a hang) becomes a
 * Walk. `cancel` kills it when its answer is no longer needed.
 */
export function readStoreInChild(storeDir: string, timeoutMs: number): { result: Promise<Walk>; cancel(): void } {
  const child = spawn(process.execPath, [CHILD, storeDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  const result = new Promise<Walk>((resolve) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ ok: false, problem: `the check process could not run: ${err.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) return resolve({ ok: false, problem: `reading it took longer than ${timeoutMs} ms (a loop in a damaged page?)` });
      const said = lastLine(stderr).slice(0, 200);
      if (signal !== null) return resolve({ ok: false, problem: `reading it killed the check process with ${signal}${said === '' ? '' : `: ${said}`}` });
      try {
        const walk = JSON.parse(stdout.trim().split('\n').pop() ?? '') as Walk;
        if (code === 0 && typeof walk === 'object' && walk !== null && typeof walk.ok === 'boolean') return resolve(walk);
      } catch {
        // Not the child's answer: reported below.
      }
      resolve({ ok: false, problem: `the check process exited with status ${code}${said === '' ? '' : `: ${said}`}` });
    });
  });
  return { result, cancel: () => void child.kill('SIGKILL') };
}

function lastLine(text: string): string {
  return text.trim().split('\n').pop()?.trim() ?? '';
}

interface IdentityFile {
  file: string;
  /** Undefined when the file exists but does not hold an identity: it still says a store existed. */
  identity: StoreIdentity | undefined;
}

function readIdentityFiles(dataDir: string): IdentityFile[] {
  const found: IdentityFile[] = [];
  for (const file of identityFiles(dataDir)) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new StoreError('store.unreadable', `cannot read ${file}: ${(err as Error).message}`, { cause: err });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    found.push({ file, identity: identityOf(parsed) });
  }
  return found;
}

function identityFiles(dataDir: string): string[] {
  return [join(dataDir, STORE_ID_FILE), join(dataDir, 'keys', STORE_ID_FILE)];
}

function identityOf(value: unknown): StoreIdentity | undefined {
  const v = value as Partial<StoreIdentity> | undefined;
  return typeof v === 'object' && v !== null && typeof v.id === 'string' && typeof v.createdAt === 'string' ? { id: v.id, createdAt: v.createdAt } : undefined;
}

/**
 * Gives the open store an identity if it has none (a new store, or one from an earlier release),
 * records a rebuild in it, and writes the identity files (`keys/` only when it exists: the keys
 * module creates that directory whole). Run by the primary once the store and keys are open.
 */
export function recordStoreIdentity(dataDir: string, store: StoreHandles, rebuilt: StoreRebuild | undefined, now: () => Date = () => new Date()): StoreIdentity {
  const meta = store.root.openDB<unknown, string>({ name: 'meta' });
  const identity = store.root.transactionSync(() => {
    if (rebuilt !== undefined) meta.put('rebuild', rebuilt);
    const existing = identityOf(meta.get('identity'));
    if (existing !== undefined) return existing;
    const created: StoreIdentity = { id: randomUUID(), createdAt: now().toISOString() };
    meta.put('identity', created);
    return created;
  });
  const text = JSON.stringify(identity) + '\n';
  for (const file of identityFiles(dataDir)) {
    if (!existsSync(join(file, '..'))) continue;
    try {
      if (readFileSync(file, 'utf8') === text) continue;
    } catch {
      // Absent or unreadable: written below.
    }
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, text, { mode: 0o600 });
    renameSync(temp, file);
  }
  return identity;
}

/** The rebuild the store records, if it was ever rebuilt. */
export function readStoreRebuild(store: StoreHandles): StoreRebuild | undefined {
  const value = store.root.openDB<unknown, string>({ name: 'meta' }).get('rebuild') as StoreRebuild | undefined;
  return typeof value === 'object' && value !== null && typeof value.at === 'string' ? value : undefined;
}
