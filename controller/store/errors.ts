// Errors the store raises, each with a stable code so callers (the serve command, the reconciler)
// can `switch (err.code)` instead of matching messages. Messages name the data directory or the
// object concerned and never carry secret material.

export type StoreErrorCode =
  /** The store was written by a newer Mergekey whose format this release cannot read. */
  | 'store.newer-format'
  /** The LMDB files are not an LMDB environment, or are truncated. */
  | 'store.corrupt'
  /** The store file is missing or empty where a store existed (controller/store/check.ts). */
  | 'store.missing'
  /** The store is sound but belongs to another controller: its identity is not this data directory's. */
  | 'store.foreign'
  /** `--rebuild-store` was given over a store that needs no rebuild. */
  | 'store.rebuild-not-needed'
  /** The files exist but cannot be opened (permissions, not a directory, I/O error). */
  | 'store.unreadable'
  /** Another live controller holds the data directory's lock. */
  | 'store.locked'
  /** A write would give a client id to a second application. */
  | 'store.client-id-taken'
  /** A ConfigWriter method ran outside a write transaction, where it would commit piecemeal. */
  | 'store.no-transaction'
  /** A write failed to commit: the disk is full, the LMDB map is at its limit, or an I/O error (health.ts). */
  | 'store.unwritable'
  /** `--state` is neither `lmdb` nor a postgres:// URL Mergekey can use (postgres/connect.ts). */
  | 'store.url-invalid'
  /** The PostgreSQL server cannot be reached: refused, unknown host, timed out. */
  | 'store.unreachable'
  /** The PostgreSQL server refused the user or its password. */
  | 'store.auth-refused'
  /** The database the URL names does not exist on the server. */
  | 'store.database-missing'
  /** The PostgreSQL schema was made by a newer Mergekey than this one (postgres/migrate.ts). */
  | 'store.schema-newer'
  /** The PostgreSQL schema is older than this Mergekey needs, or absent: `mergekey db migrate`. */
  | 'store.schema-older'
  /** A migration failed and was rolled back; the schema stays at the version before it. */
  | 'store.migration-failed'
  /** PostgreSQL answered with another error. */
  | 'store.postgres-failed';

export class StoreError extends Error {
  override readonly name = 'StoreError';
  readonly code: StoreErrorCode;

  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** The codes `isTemporarilyUnavailable` answers yes to. */
const TEMPORARY = new Set<StoreErrorCode>(['store.unwritable', 'store.unreachable', 'store.auth-refused', 'store.database-missing']);

/**
 * Whether `error` is the store's temporary trouble, which a request answers with 503 and
 * `Retry-After` (store/health.ts's RETRY_AFTER_SECONDS): a write that could not commit (a full
 * disk), or a shared PostgreSQL that cannot be reached or no longer lets this replica in (the
 * operator's to fix, the client's to retry). Never a token whose state was not committed.
 */
export function isTemporarilyUnavailable(error: unknown): error is StoreError {
  return error instanceof StoreError && TEMPORARY.has(error.code);
}
