// The configuration half of the store, behind two narrow interfaces: the OAuth server and the
// portal read through ConfigReader, the reconciler's apply writes through ConfigWriter. Neither
// caller sees a database handle, a key layout or an index. Reads are synchronous on every backend:
// each replica keeps configuration in its own LMDB, following git (issue 13).
import type { Database } from 'lmdb';
import { StoreError } from './errors.ts';
import type { StoreHandles } from './handles.ts';
import { writeCutOffs, type CutOffTargets } from './token-state.ts';
import type { ApiRecord, ApplicationRecord, PlanRecord, SettingsRecord, UserRecord } from './records.ts';
import { foldClientId } from '../manifests/vocabulary.ts';

/** The kinds whose records are deleted when their manifest is removed (applications never are). */
export type DeletableKind = 'Api' | 'Plan' | 'User';

const SETTINGS_KEY = 'settings';

export interface ConfigReader {
  /**
   * The application whose client id is exactly `clientId` (client ids are case-sensitive on the
   * wire, RFC 6749 section 2.2), active or not: check `spec.state`. Undefined when none.
   */
  applicationByClientId(clientId: string): ApplicationRecord | undefined;
  /** The application named `name`, active or not. */
  application(name: string): ApplicationRecord | undefined;
  /** Every application, inactive ones included, in name order. */
  applications(): ApplicationRecord[];
  /** The API named `name`. */
  api(name: string): ApiRecord | undefined;
  /** Every API, in name order. */
  apis(): ApiRecord[];
  /**
   * The API that publishes `scope`; undefined for `open` and for scopes no API publishes. Should
   * two APIs publish it (the repository's rules refuse that), the first by name wins.
   */
  scopeOwner(scope: string): ApiRecord | undefined;
  /** The plan named `name`. */
  plan(name: string): PlanRecord | undefined;
  /** Every plan, in name order. */
  plans(): PlanRecord[];
  /** The user named `name` (a removed user has no record, so cannot sign in). */
  user(name: string): UserRecord | undefined;
  /** The repository settings (`mergekey.yaml`); undefined before the first sync. */
  settings(): SettingsRecord | undefined;
}

export interface ConfigWriter {
  /** Writes the repository settings record. */
  putSettings(record: SettingsRecord): void;
  /**
   * Writes an application and indexes its client id. Throws `store.client-id-taken` when another
   * application holds that id, compared case-insensitively. Index entries are never dropped, so a
   * client id is never reused, not even by a new application after its owner was removed.
   */
  putApplication(record: ApplicationRecord): void;
  /**
   * Writes an API; a changed audience ends every access token for the old one, and a dropped
   * scope every token carrying it, for good.
   */
  putApi(record: ApiRecord): void;
  /** Writes a plan. */
  putPlan(record: PlanRecord): void;
  /** Writes a user; a new user, or a changed password, ends every token and portal session of the name. */
  putUser(record: UserRecord): void;
  /**
   * Sets an application inactive as of `commit` (its manifest was removed): every token it holds
   * stops working, and the record stays so its client id stays taken. False when there is none.
   */
  deactivateApplication(name: string, commit: string): boolean;
  /**
   * Deletes the record of a removed API, plan or user (its scopes, its lifetimes, its sign-in stop
   * being served). False when there was none. A user's tokens and portal sessions end with it,
   * for good: a User of the same name written later does not revive them. So do an API's tokens
   * (those for its audience or carrying its scopes) when an API of that audience or those scopes
   * is written later.
   */
  delete(kind: DeletableKind, name: string): boolean;
}

/** Reads configuration records; safe from any process that opened the store. */
export function configReader(store: StoreHandles): ConfigReader {
  const all = <V>(db: Database<V, string>) => Array.from(db.getRange(), (entry) => entry.value);
  const application = applicationReader(store);
  // An index entry, once written, never changes (see putApplication), so a name found here stays
  // right; ids not found are not kept, since a later commit may add them.
  const names = new Map<string, string>();
  return {
    applicationByClientId(clientId) {
      const key = foldClientId(clientId);
      let name = names.get(key);
      if (name === undefined) {
        name = store.clientIds.get(key);
        if (name === undefined) return undefined;
        if (names.size >= MAX_CACHED_APPLICATIONS) names.clear();
        names.set(key, name);
      }
      const record = application(name);
      return record?.spec.clientId === clientId ? record : undefined;
    },
    application,
    applications: () => all(store.applications),
    api: (name) => store.apis.get(name),
    apis: () => all(store.apis),
    // A repository has tens of APIs, not thousands: a scan costs less than keeping an index
    // consistent through every apply.
    scopeOwner: (scope) => all(store.apis).find((api) => api.spec.scopes.some((s) => s.name === scope)),
    plan: (name) => store.plans.get(name),
    plans: () => all(store.plans),
    user: (name) => store.users.get(name),
    settings: () => store.settings.get(SETTINGS_KEY),
  };
}

// Bounds the per-process caches below; a repository has far fewer applications.
const MAX_CACHED_APPLICATIONS = 10_000;

/**
 * The application named `name`, read from LMDB on every call, so a deactivation or a revoked
 * secret counts for the very next request whichever process committed it; but decoded only when
 * the stored bytes differ from those last decoded. Every token request authenticates its client,
 * and in a profile of `npm run bench:token` decoding the record was 2.4% of a worker's CPU. The
 * record returned may be returned again: callers must not mutate it.
 */
function applicationReader(store: StoreHandles): (name: string) => ApplicationRecord | undefined {
  const decoded = new Map<string, { bytes: Buffer; record: ApplicationRecord }>();
  return (name) => {
    const bytes = store.applications.getBinary(name);
    if (bytes === undefined) {
      decoded.delete(name);
      return undefined;
    }
    const seen = decoded.get(name);
    if (seen !== undefined && seen.bytes.equals(bytes)) return seen.record;
    // The same snapshot as `bytes`: lmdb-js renews its read transaction only between event loop
    // turns, and inside a write transaction both reads see that transaction.
    const record = store.applications.get(name)!;
    if (decoded.size >= MAX_CACHED_APPLICATIONS) decoded.clear();
    decoded.set(name, { bytes, record });
    return record;
  };
}

export interface ConfigWriterOptions {
  /**
   * Where the cut-offs of the writes come from. `local` (the default, `--state lmdb`): the writer
   * writes each at the next value of this store's own generation counter. `shared` (`--state
   * postgres://…`): it writes none, since the transaction writes the cut-offs the shared database
   * settled for the commit, under the one counter of every replica (`SyncState.applyCommit`).
   */
  cutOffs?: 'local' | 'shared';
}

/**
 * Writes configuration records. Every method must run inside a write transaction, so that one
 * commit lands whole or not at all: the reconciler gets this writer only inside that transaction,
 * from `SyncState.applyCommit` (sync-state.ts). A method called outside a transaction throws
 * `store.no-transaction` instead of committing on its own.
 */
export function configWriter(store: StoreHandles, now: () => number = Date.now, options: ConfigWriterOptions = {}): ConfigWriter {
  const cutOff = (targets: CutOffTargets | undefined) => {
    if (targets !== undefined && options.cutOffs !== 'shared') writeCutOffs(store, targets, now());
  };
  // Each write ends, in its transaction, the tokens the rules below say (applicationCutOffs,
  // userCutOffs, apiCutOffs): a deactivation, a removed or re-passworded user, a withdrawn audience or scope.
  const noteDeactivation = (before: ApplicationRecord | undefined, after: ApplicationRecord) => cutOff(applicationCutOffs(before, after));
  const endUserSessions = (before: UserRecord | undefined, after: UserRecord | undefined) => cutOff(userCutOffs(before, after));
  const endApiGrants = (before: ApiRecord | undefined, after: ApiRecord | undefined) => cutOff(apiCutOffs(before, after));
  const inTransaction = () => {
    try {
      store.root.getWriteTxnId();
    } catch {
      throw new StoreError('store.no-transaction', 'configuration writes must run inside SyncState.applyCommit()');
    }
  };

  return {
    putSettings(record) {
      inTransaction();
      store.settings.put(SETTINGS_KEY, record);
    },

    putApplication(record) {
      inTransaction();
      noteDeactivation(store.applications.get(record.name), record);
      const key = foldClientId(record.spec.clientId);
      const holder = store.clientIds.get(key);
      if (holder !== undefined && holder !== record.name) {
        throw new StoreError(
          'store.client-id-taken',
          `application ${record.name} (${record.path}) cannot use client id ${record.spec.clientId}: application ${holder} holds it`,
        );
      }
      if (holder === undefined) store.clientIds.put(key, record.name);
      store.applications.put(record.name, record);
    },

    putApi(record) {
      inTransaction();
      endApiGrants(store.apis.get(record.name) as ApiRecord | undefined, record);
      store.apis.put(record.name, record);
    },

    putPlan(record) {
      inTransaction();
      store.plans.put(record.name, record);
    },

    putUser(record) {
      inTransaction();
      endUserSessions(store.users.get(record.name) as UserRecord | undefined, record);
      store.users.put(record.name, record);
    },

    deactivateApplication(name, commit) {
      inTransaction();
      const record = store.applications.get(name);
      if (record === undefined) return false;
      const inactive: ApplicationRecord = { ...record, commit, spec: { ...record.spec, state: 'inactive' } };
      noteDeactivation(record, inactive);
      store.applications.put(name, inactive);
      return true;
    },

    delete(kind, name) {
      inTransaction();
      const db = { Api: store.apis, Plan: store.plans, User: store.users }[kind] as Database<unknown, string>;
      const before = db.get(name);
      if (before === undefined) return false;
      db.remove(name);
      if (kind === 'User') endUserSessions(before as UserRecord, undefined);
      if (kind === 'Api') endApiGrants(before as ApiRecord, undefined);
      return true;
    },
  };
}

/**
 * The cut-offs of one configuration write, from the record before it and after it (undefined: none,
 * or removed). Pure: ConfigWriter writes what they return in its transaction, and with a shared
 * database (issue 13) the reconciler asks them before the transaction (reconcile/apply.ts), since
 * the shared generation must be taken before LMDB commits.
 */
export function applicationCutOffs(before: ApplicationRecord | undefined, after: ApplicationRecord): CutOffTargets | undefined {
  return before?.spec.state === 'active' && after.spec.state === 'inactive' ? { applications: [after.name] } : undefined;
}

/**
 * Removing a User, or changing its password, ends every token and portal session it holds, in
 * the same transaction. Keycloak removes a deleted user's sessions; on a password update its
 * account console offers to sign out the other sessions (keycloak/keycloak discussion #8988),
 * and Hydra users ask for exactly this, "a user and a timestamp ... synchronize[d] with the time
 * of the latest password change" (ory/hydra discussion #3284). Here a password changes by a
 * reviewed commit, most often because the old one leaked or its holder left: not optional, the
 * safer choice. A rename is a removal of the old name. The cut-off outlives the user, so a User
 * restored by a revert, or a new person given the name, gets none of the old tokens back.
 *
 * A new User has no tokens yet: any token of its name is a former holder's, perhaps removed
 * before cut-offs existed (an older store), so creating one writes a cut-off too.
 */
export function userCutOffs(before: UserRecord | undefined, after: UserRecord | undefined): CutOffTargets | undefined {
  const subject = after ?? before;
  if (subject === undefined || (after !== undefined && before !== undefined && passwordOf(before) === passwordOf(after))) return undefined;
  return { users: [subject.name] };
}

// Records written before `passwordSealed` existed compare by their hash, which never equals a
// fingerprint: the first write of each ends its sessions once, which errs on the safe side.
const passwordOf = (record: UserRecord) => record.passwordSealed ?? record.passwordHash;

/**
 * Removing an Api, giving it another audience or dropping one of its scopes ends every token for
 * what it no longer publishes, in the same transaction, as a removed User's tokens end. Before,
 * such tokens answered active to their client while the Api was gone, and a revert of the removal
 * brought them back for its resource servers and the refresh grant. The cut-offs outlive the Api, so
 * a restored Api (or another given its audience or scope names) starts with no old token; a
 * rename is a removal, which ends them too: the safer side. A new Api writes no cut-off (only a
 * store from before cut-offs existed could hold older tokens of its audience or scopes).
 */
export function apiCutOffs(before: ApiRecord | undefined, after: ApiRecord | undefined): CutOffTargets | undefined {
  if (before === undefined) return undefined;
  const kept = new Set(after?.spec.scopes.map((scope) => scope.name) ?? []);
  const audiences = after?.spec.audience === before.spec.audience ? [] : [before.spec.audience];
  const scopes = before.spec.scopes.map((scope) => scope.name).filter((name) => !kept.has(name));
  return audiences.length > 0 || scopes.length > 0 ? { audiences, scopes } : undefined;
}
