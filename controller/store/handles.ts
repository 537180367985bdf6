// Opens the LMDB environment in the data directory with one named database per concern: the raw
// handles the modules of this folder share to build their interfaces (configuration, token state,
// keyring, sync state, sessions, consents). Internal to controller/store/: the rest of the controller gets
// the façade of `open.ts`, never these handles (test/dependencies.test.ts checks it). Tests and
// benchmarks reach them through `handlesOf` to write fixtures the product would never write.
//
// Opening refuses, with a StoreError that names the directory, a store written by a newer release
// and a data file that is not LMDB. `mergekey serve` checks the whole store before this
// (`check.ts`), in a child process that a damaged page may kill. Opening does not take the
// single-controller lock: `mergekey serve` takes that once (`lock.ts`) and its worker processes
// then open the same store freely, which LMDB supports across processes.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import { StoreError } from './errors.ts';
import { lmdbFileProblem } from './lmdb-file.ts';
import type { AuthorizationCodeRecord } from './authorization-codes.ts';
import type { Keyring } from './keyring.ts';
import type { ApiRecord, ApplicationRecord, PlanRecord, SettingsRecord, UserRecord } from './records.ts';
import type { AccessTokenRecord, CutOff, FamilyRecord, RefreshTokenRecord } from './token-state.ts';

/**
 * The layout of the store as a whole: which databases exist and what their keys mean. Bump it when
 * a release changes that layout (and add the migration from the previous format to `openHandles`);
 * a release refuses a store whose format is newer than this, since it would misread it.
 * Record-level changes bump `RECORD_VERSION` in records.ts instead.
 */
export const STORE_FORMAT = 2;
// Formats: 1, the first. 2, cut-offs under `app/`, `user/`, `aud/` and `scope/` in `revocations`
// are `{ generation, at }` (token-state.ts), which a format-1 release would misread as no cut-off
// and so revive the tokens they end. Migration from 1: none but the format record, since a
// format-1 store's whole-second marks are read as they are.

export interface StoreMeta {
  format: number;
  createdAt: string;
}

export interface StoreHandles {
  /** The environment: open write transactions with `root.transactionSync(() => …)`. */
  root: RootDatabase;
  /** Application records by metadata.name. */
  applications: Database<ApplicationRecord, string>;
  /** Case-folded clientId → application name. */
  clientIds: Database<string, string>;
  apis: Database<ApiRecord, string>;
  plans: Database<PlanRecord, string>;
  users: Database<UserRecord, string>;
  /** The single `mergekey.yaml` record, under the key "settings". */
  settings: Database<SettingsRecord, string>;
  /** Reconciler bookkeeping, values of several kinds by key prefix (sync-state.ts). */
  sync: Database<unknown, string>;
  /** Token server state (token-state.ts): access tokens, refresh tokens and families, revocations, used assertion ids. */
  tokens: Database<AccessTokenRecord, string>;
  refreshTokens: Database<RefreshTokenRecord | FamilyRecord, string>;
  /** Tombstones and cut-offs, in seconds. */
  /**
   * Revoked access tokens' expiries (seconds) and the counter of cut-offs (numbers); cut-offs
   * (`CutOff`, or a whole-second number in a format-1 store).
   */
  revocations: Database<number | CutOff, string>;
  /** Used assertion ids, until their expiry in seconds. */
  jtis: Database<number, string>;
  /** The signing keyring, one record (keyring.ts). */
  signingKeys: Database<Keyring, string>;
  /** Portal sign-in sessions, by the hash of their id (`controller/portal/sessions.ts`). */
  sessions: Database<unknown, string>;
  /** Remembered consents, by `<user>/<app>` (consents.ts). */
  consents: Database<unknown, string>;
  /** Authorization codes by the hash of the code (authorization-codes.ts). */
  authorizationCodes: Database<AuthorizationCodeRecord, string>;
  /** When token state expires: `[exp, db, key]` → 0, so the sweeper reads expired records in order (`sweeper.ts`). */
  expiries: Database<number, ExpiryKey>;
  close(): Promise<void>;
}

/** `[exp seconds, db code, key]`, and the sweeper's own markers at exp 0 (see sweeper.ts). */
export type ExpiryKey = (string | number)[];

export interface OpenOptions {
  /**
   * Check the data file before LMDB maps it (default true). A worker process joins a store that
   * its primary checked and that other processes are writing: the file grows page by page while
   * it is read, and a commit in flight looks exactly like a truncated file. Workers pass false.
   */
  checkDataFile?: boolean;
}

/** Opens (creating if needed) the store in `<dataDir>/store`. Throws StoreError. */
export function openHandles(dataDir: string, options: OpenOptions = {}): StoreHandles {
  const path = join(dataDir, 'store');
  try {
    mkdirSync(path, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new StoreError('store.unreadable', `cannot create the store directory ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (options.checkDataFile !== false) checkDataFile(path);

  let root: RootDatabase;
  try {
    root = open({ path, maxDbs: 32 });
  } catch (err) {
    throw new StoreError('store.unreadable', `cannot open the store at ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    checkFormat(root, path);
  } catch (err) {
    void root.close();
    throw err;
  }

  const db = <V>(name: string) => root.openDB<V, string>({ name });
  return {
    root,
    applications: db('applications'),
    clientIds: db('client-ids'),
    apis: db('apis'),
    plans: db('plans'),
    users: db('users'),
    settings: db('settings'),
    sync: db('sync'),
    tokens: db('tokens'),
    refreshTokens: db('refresh-tokens'),
    revocations: db('revocations'),
    jtis: db('jtis'),
    signingKeys: db('signing-keys'),
    sessions: db('sessions'),
    consents: db('consents'),
    authorizationCodes: db('authorization-codes'),
    expiries: root.openDB<number, ExpiryKey>({ name: 'expiries' }),
    close: () => root.close(),
  };
}

const handlesByFacade = new WeakMap<object, StoreHandles>();

/** Records the handles behind a façade (`open.ts`), for `handlesOf`. */
export function registerHandles(facade: object, handles: StoreHandles): void {
  handlesByFacade.set(facade, handles);
}

/** The raw handles behind a store opened with `openStore`: for this folder's modules, tests and benchmarks only. */
export function handlesOf(facade: object): StoreHandles {
  const handles = handlesByFacade.get(facade);
  if (handles === undefined) throw new Error('not a store opened with openStore');
  return handles;
}

function checkDataFile(path: string): void {
  const file = join(path, 'data.mdb');
  let problem: string | undefined;
  try {
    problem = lmdbFileProblem(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new StoreError('store.unreadable', `cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  if (problem !== undefined) {
    throw new StoreError(
      'store.corrupt',
      `the store at ${path} is corrupt (${file}: ${problem}); restore the data directory from a backup, ` +
        'or start `mergekey serve --rebuild-store` to rebuild configuration from git (tokens issued so far are lost)',
    );
  }
}

function checkFormat(root: RootDatabase, path: string): void {
  const metaDb = root.openDB<StoreMeta, string>({ name: 'meta' });
  let meta: StoreMeta | undefined;
  try {
    meta = metaDb.get('format');
    if (meta === undefined) {
      root.transactionSync(() => {
        // Several worker processes may open a fresh store at once; only the first one writes.
        if (metaDb.get('format') === undefined) {
          metaDb.put('format', { format: STORE_FORMAT, createdAt: new Date().toISOString() });
        }
      });
      meta = metaDb.get('format');
    }
  } catch (err) {
    throw new StoreError('store.corrupt', `the store at ${path} is corrupt: its format record cannot be read (${(err as Error).message})`, { cause: err });
  }
  const format = meta?.format;
  if (typeof format !== 'number' || !Number.isInteger(format) || format < 1) {
    throw new StoreError('store.corrupt', `the store at ${path} is corrupt: its format record is ${JSON.stringify(meta)}`);
  }
  if (format > STORE_FORMAT) {
    throw new StoreError(
      'store.newer-format',
      `store at ${path} was written by Mergekey store format ${format}; this release reads up to ${STORE_FORMAT}`,
    );
  }
  if (format < STORE_FORMAT) {
    // Before this release writes anything of the new format, so an older release refuses the store.
    root.transactionSync(() => {
      const current = metaDb.get('format');
      if (current !== undefined && current.format < STORE_FORMAT) metaDb.put('format', { ...current, format: STORE_FORMAT });
    });
  }
}
