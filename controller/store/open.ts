// Opens the LMDB environment in the data directory with one named database per concern. This
// folder is the only code that touches LMDB; everything else sees the narrow interfaces built on
// these handles.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import type { ApiRecord, ApplicationRecord, PlanRecord, SettingsRecord, UserRecord } from './records.ts';

export interface Store {
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
  /** Reconciler bookkeeping: last applied commit, conditions, … */
  sync: Database<unknown, string>;
  /** Token server state: access tokens, refresh tokens, revocations, used assertion ids, signing keys. */
  tokens: Database<unknown, string>;
  refreshTokens: Database<unknown, string>;
  revocations: Database<unknown, string>;
  jtis: Database<unknown, string>;
  signingKeys: Database<unknown, string>;
  close(): Promise<void>;
}

export function openStore(dataDir: string): Store {
  const path = join(dataDir, 'store');
  mkdirSync(path, { recursive: true, mode: 0o700 });
  const root = open({ path, maxDbs: 32 });
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
    close: () => root.close(),
  };
}
