// The store as the rest of the controller sees it: one typed interface per kind of state, built
// over the LMDB environment of `handles.ts`, which stays inside this folder. The composition root
// (server/start.ts, server/worker.ts) opens it and hands each component the members it needs:
// the OAuth server the configuration reader, token state, keyring and health; the reconciler its
// sync state (whose `applyCommit` carries the configuration writer); the portal what it reads.
//
// Shaped for a second implementation on a shared database (issue 13): what would cost a network
// round trip there (token state's writes and lookups, refresh rotation, assertion ids, revocation,
// the keyring) returns Promises, while configuration and sync state stay synchronous, since every
// replica keeps them in its own LMDB. So do token state's cut-offs and `unwritable`, which a
// shared-database implementation keeps in memory (token-state.ts says how).
//
// With `shared` (`--state postgres://…`), the state replicas share comes from the PostgreSQL
// implementations of the same interfaces (postgres/), over that one pool, while configuration and
// sync state stay in this replica's LMDB. `health` then also reports the shared database: readiness
// turns false while it cannot be reached, and whoever watches health (a worker telling its primary)
// hears when it can again. Closing the store closes the pool.
//
// Opening refuses, with a StoreError that names the directory, a store written by a newer release
// and a data file that is not LMDB (see handles.ts).
import { authorizationCodes, type AuthorizationCodes } from './authorization-codes.ts';
import { recordStoreIdentity, type StoreIdentity, type StoreRebuild } from './check.ts';
import { consentStore, type Consents } from './consents.ts';
import { configReader, type ConfigReader } from './config.ts';
import { openHandles, registerHandles, type OpenOptions } from './handles.ts';
import { storeHealth, type StoreHealth } from './health.ts';
import type { SharedDb } from './postgres/db.ts';
import { postgresAuthorizationCodes } from './postgres/authorization-codes.ts';
import { postgresConsents } from './postgres/consents.ts';
import { postgresKeyring } from './postgres/keyring.ts';
import { postgresSessions } from './postgres/sessions.ts';
import { postgresSweeper } from './postgres/sweeper.ts';
import { postgresTokenState } from './postgres/token-state.ts';
import { keyringStore, type KeyringStore } from './keyring.ts';
import { Sweeper, type SweepStats, type SweeperOptions } from './sweeper.ts';
import { sessionStore, type SessionStore } from './sessions.ts';
import { syncState, type SyncState } from './sync-state.ts';
import { tokenState, type TokenState } from './token-state.ts';

export interface Store {
  /** Configuration as the reconciler last applied it (applications, APIs, plans, users, settings). */
  readonly config: ConfigReader;
  /** Issued tokens, refresh families, used assertion ids, revocations. */
  readonly tokens: TokenState;
  /** The signing keyring. */
  readonly keyring: KeyringStore;
  /** The reconciler's bookkeeping, and the one transaction that applies a commit. */
  readonly sync: SyncState;
  /** Whether the store can write now (a full disk), for readiness and 503s. */
  readonly health: StoreHealth;
  /** Portal sign-in sessions. */
  readonly sessions: SessionStore;
  /** Remembered consents of people to applications that signed them in (/oauth2/authorize). */
  readonly consents: Consents;
  /** Authorization codes, until redeemed and while what they issued may live. */
  readonly codes: AuthorizationCodes;
  /**
   * A sweeper of expired token state (not started), for the one process that sweeps: the lock
   * holder. With a shared PostgreSQL, it sweeps that (where all such state is), one replica at a time.
   */
  sweeper(options?: SweeperOptions): StoreSweeper;
  /** Gives the store its identity (and records a rebuild), and writes the identity files: the primary, once at start. */
  recordIdentity(dataDir: string, rebuilt: StoreRebuild | undefined): StoreIdentity;
  close(): Promise<void>;
}

/** What the composition root does with a sweeper: start it, stop it, and scrape its backlog. */
export interface StoreSweeper extends SweepStats {
  start(): void;
  stop(): Promise<void>;
}

export interface StoreOptions extends OpenOptions {
  /** Reports a background write that failed (queued access token records); by default, it is thrown. */
  onBackgroundError?: (err: unknown) => void;
  /** The shared PostgreSQL (`--state postgres://…`); without it, everything is in LMDB. */
  shared?: SharedDb;
}

/** Opens (creating if needed) the store in `<dataDir>/store`. Throws StoreError. */
export function openStore(dataDir: string, options: StoreOptions = {}): Store {
  const handles = openHandles(dataDir, options);
  const { shared } = options;
  const onError = options.onBackgroundError === undefined ? {} : { onError: options.onBackgroundError };
  // Cut-offs stay the replica's own, in its LMDB, where the reconciler writes them.
  const localTokens = tokenState(handles, onError);
  const store: Store = {
    config: configReader(handles),
    tokens: shared === undefined ? localTokens : postgresTokenState(shared, { cutOffs: localTokens.cutOffs, ...onError }),
    keyring: shared === undefined ? keyringStore(handles) : postgresKeyring(shared),
    sync: syncState(handles),
    health: shared === undefined ? storeHealth(handles) : withSharedDb(storeHealth(handles), shared),
    sessions: shared === undefined ? sessionStore(handles) : postgresSessions(shared),
    consents: shared === undefined ? consentStore(handles) : postgresConsents(shared),
    codes: shared === undefined ? authorizationCodes(handles) : postgresAuthorizationCodes(shared),
    sweeper: (sweeperOptions) => (shared === undefined ? new Sweeper(handles, sweeperOptions) : postgresSweeper(shared, sweeperOptions)),
    recordIdentity: (dir, rebuilt) => recordStoreIdentity(dir, handles, rebuilt),
    async close() {
      try {
        await handles.close();
      } finally {
        await shared?.close();
      }
    },
  };
  registerHandles(store, handles);
  return store;
}

/**
 * The store's health with the shared database's reachability: a problem of either is the store's
 * problem (the local one first), and watchers hear both.
 */
function withSharedDb(local: StoreHealth, shared: SharedDb): StoreHealth {
  const problem = () => local.problem() ?? shared.unavailable();
  return {
    problem,
    guard: (write) => local.guard(write),
    failed: (error) => local.failed(error),
    watch(listener) {
      let last = problem();
      const changed = () => {
        const now = problem();
        if (now === last) return;
        last = now;
        listener(now);
      };
      const stops = [local.watch(changed), shared.watch(changed)];
      return () => stops.forEach((stop) => stop());
    },
  };
}
