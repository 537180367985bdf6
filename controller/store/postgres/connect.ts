// Connecting to the shared PostgreSQL (issue 13) with the `postgres` (porsager) client: the only
// module that makes a pool, so every user of the database gets the same settings, and its
// failures become StoreErrors whose messages name the server without the password.
//
// Why this client: bench/pg-client.ts measures it against `pg` on this workload (see
// controller/store/README.md). It pipelines queries on each pooled connection and prepares every
// statement by default.
import postgres from 'postgres';
import { StoreError } from '../errors.ts';

export type Sql = postgres.Sql;

export interface PoolOptions {
  /** Connections in the pool (default 10). */
  max?: number;
  /** Seconds to wait for a connection to the server (default 10). */
  connectTimeout?: number;
  /** Milliseconds the server lets one statement run before it cancels it (default: the server's, none). */
  statementTimeoutMs?: number;
}

/** Parses `--state postgres://…` (or postgresql://); throws StoreError('store.url-invalid') without echoing a password. */
export function parseStateUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new StoreError('store.url-invalid', `the state URL is malformed: ${redactRaw(value)}`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new StoreError('store.url-invalid', `the state URL must start with postgres:// or postgresql://, got ${redactUrl(url)}`);
  }
  if (url.hostname === '' && url.searchParams.get('host') === null) {
    throw new StoreError('store.url-invalid', `the state URL names no host: ${redactUrl(url)}`);
  }
  return url;
}

/** The URL as it may be shown: the password replaced, the rest kept. */
export function redactUrl(url: URL): string {
  if (url.password === '') return redactParameters(url.href);
  const shown = new URL(url.href);
  shown.password = '***';
  return redactParameters(shown.href);
}

/** A string that is not a URL, with everything from the user's `:` to the last `@` hidden (a password may hold `@`). */
function redactRaw(value: string): string {
  return redactParameters(value.replace(/^([^:/]*:\/\/[^:/@]*):.*@/, '$1:***@'));
}

/** Hides the values of `password` and `sslpassword` parameters, which libpq's URIs allow (config/defaults.ts does the same). */
function redactParameters(text: string): string {
  return text.replace(/([?&](?:ssl)?password=)[^&#]*/gi, '$1***');
}

/** Opens a pool on `url` (already parsed). Connections are made on first use. */
export function openPool(url: URL, options: PoolOptions = {}): Sql {
  return postgres(url.href, {
    max: options.max ?? 10,
    connect_timeout: options.connectTimeout ?? 10,
    prepare: true,
    // A statement blocked on a lock, or a server too busy to finish it, ends with an error rather
    // than holding a request (and a connection) without bound.
    ...(options.statementTimeoutMs === undefined ? {} : { connection: { statement_timeout: options.statementTimeoutMs } }),
    // Notices (CREATE … IF NOT EXISTS skipping) are not the operator's business.
    onnotice: () => undefined,
  });
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ECONNRESET', 'CONNECT_TIMEOUT', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED']);

/**
 * SQLSTATEs of a server that cannot do the work now, whatever the work: connection exceptions
 * (08…), insufficient resources (53…: too many connections, disk full) and operator intervention
 * (57…: shutting down, starting up, a statement cancelled by statement_timeout), and a server that
 * takes no writes (25006: a standby the URL reaches after a failover, or a provider fencing a full
 * disk with default_transaction_read_only). The request may succeed later; it is not the
 * request's fault.
 */
const UNAVAILABLE_SQLSTATE = /^(08|53|57)[0-9A-Z]{3}$|^25006$/;

/**
 * Turns what the client threw into a StoreError naming the server (never the password); a
 * StoreError passes through.
 */
export function postgresError(error: unknown, url: URL): StoreError {
  if (error instanceof StoreError) return error;
  const where = `PostgreSQL at ${url.host === '' ? redactUrl(url) : url.host}`;
  const code = (error as { code?: unknown }).code;
  const raw = error instanceof Error ? error.message : String(error);
  const message = url.password === '' ? raw : raw.replaceAll(url.password, '***').replaceAll(decodeURIComponent(url.password), '***');
  if (typeof code === 'string' && (UNREACHABLE.has(code) || UNAVAILABLE_SQLSTATE.test(code))) {
    return new StoreError('store.unreachable', `cannot reach ${where}: ${message}`, { cause: error });
  }
  if (code === '28P01' || code === '28000') {
    return new StoreError('store.auth-refused', `${where} refused the credentials: ${message}`, { cause: error });
  }
  if (code === '3D000') {
    return new StoreError('store.database-missing', `${where}: ${message}`, { cause: error });
  }
  return new StoreError('store.postgres-failed', `${where} failed: ${message}`, { cause: error });
}
