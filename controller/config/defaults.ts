// Every setting of `mergekey serve`, documented in place: its flag, its environment variable, its
// default and what it does. The CLI's option list, the environment fallback and the README's
// configuration table (`configurationTable()`) all come from this one list, so they cannot drift.
//
// Precedence: a command-line flag, then the environment variable, then the default.
//
// Two decisions that are not a single option's:
//
// The issuer. Tokens carry it as `iss`, resource servers compare it, clients discover the
// endpoints from it: it must come from configuration, never from a request's Host header, which a
// client chooses. It is `--issuer` when given; otherwise `spec.issuer` of the repository's
// `mergekey.yaml` as last applied to the store; and on a data directory that has applied no commit
// yet, the server runs its first sync before it listens and refuses to start if that sync does not
// apply a `mergekey.yaml`. It is fixed for the life of the process: a commit that changes
// `spec.issuer` is logged, and takes effect at the next start (tokens already issued then stop
// introspecting as active, which is what moving an issuer means). Production servers should pass
// `--issuer`: the server then listens at once, whatever state git is in.
//
// Workers. With `--workers 1` one process reconciles and serves. With N ≥ 2 the primary process
// takes the data directory's lock, opens the store, reconciles and runs no HTTP server; N worker
// processes (node:cluster) open the same LMDB store without the lock and serve every public route.
// The primary serves the operator listener itself (its `/metrics` aggregated from every process's
// registry, asked over the cluster's IPC channel); a worker's webhook trigger, the portal's sync
// after a merge and its view of the status go over IPC to the primary, which answers with its live
// state; readiness and everything the OAuth server reads come from the store, which LMDB shares
// between processes. A worker that exits is started again (after a growing delay when it
// keeps crashing); SIGTERM or SIGINT to the primary stops the workers gracefully, then the
// reconciler, then the store. Rate limits are counted per process: see the OAuth server's README.
//
// Shared state. With `--state postgres://…` each replica (one `mergekey serve`, with its own data
// directory and workers) still follows git into its own LMDB, while token state, authorization
// codes, consents, the signing keyring and portal sessions live in that PostgreSQL; the primary
// (or the one process) and every worker open a pool of their own. The schema must be the one this
// release knows (`mergekey db migrate`, or `--migrate`), else the start is refused. While the
// database cannot be reached, what needs it answers 503 with Retry-After and /readyz is false;
// service returns by itself (controller/store/README.md, "Failing closed").
//
// Two listeners. The public one (`--host`, `--port`) serves OAuth, the portal, the webhook and the
// well-known documents, over TLS when `--tls-cert-file` and `--tls-key-file` are given (reloaded
// on SIGHUP and when the files change, in every worker). The operator one (`--admin-host`,
// `--admin-port`, loopback by default, plain HTTP) serves /healthz, /readyz, /metrics,
// GET /api/v1/status and POST /api/v1/sync, which the public one answers 404 — as Keycloak's
// management port (9000) and Hydra's admin port keep them apart. With workers, the primary owns
// the operator listener. With an https issuer, a public request that arrived neither over TLS nor
// from a `--trust-proxy` address saying `X-Forwarded-Proto: https` is refused (400
// invalid_request): see the README's "Transport: TLS and trusted proxies".

import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';

export type OptionType = 'string' | 'path' | 'url' | 'duration' | 'port' | 'boolean' | 'level' | 'workers' | 'addresses' | 'commit' | 'state';

export interface ServeOption {
  /** The long flag, without `--`. */
  flag: string;
  env: string;
  type: OptionType;
  /** As the user would write it; absent when the option is required or simply unset. */
  default?: string;
  required?: boolean;
  valueName?: string;
  description: string;
}

export const SERVE_OPTIONS = [
  {
    flag: 'repo',
    env: 'MERGEKEY_REPO',
    type: 'string',
    required: true,
    valueName: 'URL|DIR',
    description:
      'The manifests repository: any git URL (https, ssh, git) or a local path. `ext::` URLs and values starting with `-` are refused.',
  },
  {
    flag: 'branch',
    env: 'MERGEKEY_BRANCH',
    type: 'string',
    default: 'main',
    valueName: 'NAME',
    description: 'The branch to follow. Only merged commits on it are served.',
  },
  {
    flag: 'data',
    env: 'MERGEKEY_DATA',
    type: 'path',
    default: './mergekey-data',
    valueName: 'DIR',
    description:
      'The data directory: `store/` (LMDB: configuration, token state, token signing keys), `keys/` (the sealing key pair and the secret-hash key, mode 0600) and `git/` (the bare cache of the repository). One server per directory; back it up with its keys.',
  },
  {
    flag: 'state',
    env: 'MERGEKEY_STATE',
    type: 'state',
    default: 'lmdb',
    valueName: 'lmdb|URL',
    description:
      'Where runtime state lives. `lmdb`: everything in the data directory, for one machine. `postgres://USER:PASSWORD@HOST:PORT/DATABASE`: token state, authorization codes, consents, the signing keyring and portal sessions in that PostgreSQL, shared by every replica, while each replica keeps following git into its own data directory. Every process (the primary and each worker) opens up to 10 connections to it. Requests that need it answer 503 while it cannot be reached. The password is never printed; set it through MERGEKEY_STATE rather than the flag, to keep it out of process listings.',
  },
  {
    flag: 'migrate',
    env: 'MERGEKEY_MIGRATE',
    type: 'boolean',
    default: 'false',
    description:
      'With `--state postgres://…`: create or upgrade the schema (as `mergekey db migrate`) before serving. Without it, a schema older or newer than this release refuses the start.',
  },
  {
    flag: 'host',
    env: 'MERGEKEY_HOST',
    type: 'string',
    default: '127.0.0.1',
    valueName: 'ADDR',
    description: 'The address to listen on. Use `0.0.0.0` behind a reverse proxy or in a container.',
  },
  {
    flag: 'port',
    env: 'MERGEKEY_PORT',
    type: 'port',
    default: '8080',
    valueName: 'N',
    description: 'The TCP port to listen on (0 picks a free one).',
  },
  {
    flag: 'tls-cert-file',
    env: 'MERGEKEY_TLS_CERT_FILE',
    type: 'path',
    valueName: 'FILE',
    description:
      'A PEM certificate (chain) to serve the public listener over TLS, with `--tls-key-file`. Both files are read again on SIGHUP and when they change; a pair that does not load keeps the previous one (and is logged).',
  },
  {
    flag: 'tls-key-file',
    env: 'MERGEKEY_TLS_KEY_FILE',
    type: 'path',
    valueName: 'FILE',
    description: 'The PEM private key of `--tls-cert-file`. One without the other is refused.',
  },
  {
    flag: 'trust-proxy',
    env: 'MERGEKEY_TRUST_PROXY',
    type: 'addresses',
    valueName: 'CIDR,…',
    description:
      'Addresses or CIDR ranges of the reverse proxies that terminate TLS in front of the server. Only from them are `X-Forwarded-Proto` and `X-Forwarded-For` believed. With an https issuer, a request that arrived neither over TLS nor from one of them with `X-Forwarded-Proto: https` is refused.',
  },
  {
    flag: 'admin-host',
    env: 'MERGEKEY_ADMIN_HOST',
    type: 'string',
    default: '127.0.0.1',
    valueName: 'ADDR',
    description:
      'The address of the operator listener (`/healthz`, `/readyz`, `/metrics`, `/api/v1/status`, `POST /api/v1/sync`; plain HTTP). Keep it on loopback or a private network.',
  },
  {
    flag: 'admin-port',
    env: 'MERGEKEY_ADMIN_PORT',
    type: 'port',
    default: '9000',
    valueName: 'N',
    description:
      'The TCP port of the operator listener. When unset and `--port` is 0, it is 0 too (a free one): several servers on one machine, as in tests.',
  },
  {
    flag: 'poll',
    env: 'MERGEKEY_POLL',
    type: 'duration',
    default: '30s',
    valueName: 'DURATION',
    description:
      'How often to fetch the branch (`500ms`, `30s`, `5m`, `1h`). `0` turns polling off: only webhooks and `mergekey sync` trigger a reconcile.',
  },
  {
    flag: 'webhook-secret-file',
    env: 'MERGEKEY_WEBHOOK_SECRET_FILE',
    type: 'path',
    valueName: 'FILE',
    description:
      'A file holding the GitHub webhook secret. Without it `POST /webhooks/github` answers 404. The secret is read from a file so that it stays out of process listings.',
  },
  {
    flag: 'issuer',
    env: 'MERGEKEY_ISSUER',
    type: 'url',
    valueName: 'URL',
    description:
      "The OAuth issuer URL (`iss` of every token; the endpoints in the discovery document hang off it). Without it, `spec.issuer` of the repository's `mergekey.yaml` as last applied (on a new data directory, after the first sync). Never taken from a request's Host header.",
  },
  {
    flag: 'workers',
    env: 'MERGEKEY_WORKERS',
    type: 'workers',
    default: 'auto',
    valueName: 'N|auto',
    description:
      'HTTP worker processes sharing the store (node:cluster). `auto` is one per core (`os.availableParallelism()`). With 2 or more, the primary process reconciles and the workers serve; with 1, one process does both.',
  },
  {
    flag: 'allow-mass-deactivation',
    env: 'MERGEKEY_ALLOW_MASS_DEACTIVATION',
    type: 'boolean',
    default: 'false',
    description:
      'Apply a commit that deactivates more than half of the active applications at once. Without it such a commit is held back and the status says why.',
  },
  {
    flag: 'rebuild-store',
    env: 'MERGEKEY_REBUILD_STORE',
    type: 'boolean',
    default: 'false',
    description:
      'Start once over a store the start-up check refuses (damaged, or missing or empty where one existed): move it aside to `store.damaged-<time>` and rebuild the configuration from git. Everything only the old store held is lost: every refresh token is invalid (clients sign in again), as are its revocations, used client assertion ids, token signing keys and portal sessions; the log and `GET /api/v1/status` say so. Refused on a sound store, so that a flag left in place cannot throw one away later.',
  },
  {
    flag: 'accept-history-rewrite',
    env: 'MERGEKEY_ACCEPT_HISTORY_REWRITE',
    type: 'commit',
    valueName: 'COMMIT',
    description:
      'Apply this rewritten head of the branch (a commit id, or a prefix of at least 12 hex digits) although it does not contain the applied commit. Without it a non-fast-forward update (a force push) is held and the status says how to accept it; any other rewritten head is still held, and the acceptance is dropped as soon as no rewrite is held (it never waits for a later force push). Accepting may bring back a secret rotated out since.',
  },
  {
    flag: 'github-token-file',
    env: 'MERGEKEY_GITHUB_TOKEN_FILE',
    type: 'path',
    valueName: 'FILE',
    description:
      'A file holding a GitHub token (GITHUB_TOKEN is used when this is unset). With one, each merged request the controller applies gets a `mergekey/applied` commit status and a "live" comment, and the portal (`/portal`) opens and decides requests with it.',
  },
  {
    flag: 'github-repo',
    env: 'MERGEKEY_GITHUB_REPO',
    type: 'string',
    valueName: 'OWNER/REPO',
    description: 'The GitHub repository whose pull requests are the requests (confirmations, the portal), when `--repo` is not a GitHub URL (a mirror, a local path).',
  },
  {
    flag: 'github-api-url',
    env: 'MERGEKEY_GITHUB_API_URL',
    type: 'url',
    valueName: 'URL',
    description: "The GitHub REST API for confirmations and the portal, for GitHub Enterprise (default: from the repository's host).",
  },
  {
    flag: 'log-level',
    env: 'MERGEKEY_LOG_LEVEL',
    type: 'level',
    default: 'info',
    valueName: 'LEVEL',
    description: 'fatal, error, warn, info, debug, trace or silent. Logs are JSON lines on stdout; secrets are redacted.',
  },
] as const satisfies readonly ServeOption[];

export interface ServeConfig {
  repo: string;
  branch: string;
  data: string;
  /** `lmdb`, or the postgres:// URL of the shared PostgreSQL (show it only redacted). */
  state: string;
  /** Migrate the shared PostgreSQL's schema before serving. */
  migrate: boolean;
  host: string;
  port: number;
  tlsCertFile: string | undefined;
  tlsKeyFile: string | undefined;
  /** Addresses and CIDR ranges whose X-Forwarded-* headers are believed; undefined = none. */
  trustProxy: string[] | undefined;
  adminHost: string;
  adminPort: number;
  /** Milliseconds; 0 = no polling. */
  poll: number;
  webhookSecretFile: string | undefined;
  issuer: string | undefined;
  /** HTTP processes; 1 = the primary serves too. */
  workers: number;
  allowMassDeactivation: boolean;
  /** Replace a damaged or missing store instead of refusing to start (controller/store/check.ts). */
  rebuildStore: boolean;
  /** The one rewritten head an operator accepts at startup. */
  acceptHistoryRewrite: string | undefined;
  githubTokenFile: string | undefined;
  githubRepo: string | undefined;
  githubApiUrl: string | undefined;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

/** Limits and timings that are not worth a flag, kept here so that they are found and explained. */
export const LIMITS = {
  /** Largest request body the server reads (the OAuth endpoints take small forms). */
  bodyLimit: 64 * 1024,
  /** Largest webhook body: GitHub push payloads for big pushes reach a few hundred KiB. */
  webhookBodyLimit: 1024 * 1024,
  /** A request that has not completed in this time is answered 408 (slowloris). */
  requestTimeoutMs: 30_000,
  /** A request whose headers have not all arrived in this time is answered 408. */
  headersTimeoutMs: 10_000,
  /** How often Node checks the two timeouts above (its default, 30 s, lets a slow request live up to twice as long). */
  connectionsCheckingIntervalMs: 1_000,
  /** Idle keep-alive sockets are closed after this; below common proxy idle timeouts (60 s). */
  keepAliveTimeoutMs: 5_000,
  /** How many webhook delivery ids are remembered to drop GitHub's redeliveries. */
  webhookDeliveriesRemembered: 1_000,
  /** Retry after a git failure: starts here, doubles each time, capped below, with full jitter. */
  retryBaseMs: 1_000,
  retryMaxMs: 5 * 60_000,
  /**
   * `POST /api/v1/sync?wait=true` answers 202 `running` after this when the reconcile has not
   * finished (a slow fetch): before the request timeout above would cut the reply empty.
   */
  syncAnswerMs: 25_000,
  /**
   * A reconcile queued behind another starts at least this long after the other started; every
   * trigger (sync request, webhook delivery, poll) arriving meanwhile joins it. One fetch per
   * second at most under a flood; a lone trigger starts at once.
   */
  syncMinIntervalMs: 1_000,
  /** A git command that runs longer than this is killed (a hung network fetch). */
  gitTimeoutMs: 120_000,
  /** A manifest larger than this is refused without being read: its size comes from git first. */
  manifestMaxBytes: 256 * 1024,
  /**
   * How long the start-up check may read the store (controller/store/check.ts) before the store is
   * refused as looping. It read a million access token records (a 474 MiB store) in 5-6.5 s on the
   * 2-core machine under a load average of 14 (`bench/store-check.ts`), so this allows a store
   * far bigger than one controller's.
   */
  storeCheckTimeoutMs: 5 * 60_000,
  /** A commit with more manifest paths than this is held whole, unread (10× the largest repository benchmarked). */
  manifestsMaxCount: 100_000,
  /** The longest record of a git listing read (a path is at most 4096 bytes on common file systems). */
  gitRecordMaxBytes: 8 * 1024,
  /** Blobs are read from git in batches of at most this many bytes. */
  gitReadBatchBytes: 16 * 1024 * 1024,
  /** How long a graceful shutdown may take before the process exits anyway. */
  shutdownGraceMs: 30_000,
  /** Most worker processes `--workers` accepts. */
  maxWorkers: 64,
  /** A worker that crashed is started again after this, doubled for each crash within a minute, up to the max. */
  workerRestartBaseMs: 100,
  workerRestartMaxMs: 30_000,
  /** How long a worker waits for the primary to answer (status, metrics) before answering 503. */
  ipcTimeoutMs: 10_000,
  /** The same for `POST /api/v1/sync?wait=true`: a reconcile queued behind another, each bounded by the git timeout. */
  ipcSyncTimeoutMs: 5 * 60_000,
} as const;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export type ServeFlags = Partial<Record<(typeof SERVE_OPTIONS)[number]['flag'], string | boolean | undefined>>;

/** Resolves flags (as given on the command line), the environment and the defaults into a config. */
export function resolveServeConfig(flags: ServeFlags, env: NodeJS.ProcessEnv = process.env): ServeConfig {
  const values: Record<string, unknown> = {};
  const given = new Set<string>();
  for (const option of SERVE_OPTIONS as readonly ServeOption[]) {
    const flagValue = flags[option.flag as keyof ServeFlags];
    let raw: string | undefined;
    let source: string;
    if (flagValue !== undefined && flagValue !== false) {
      raw = flagValue === true ? 'true' : flagValue;
      source = `--${option.flag}`;
      given.add(option.flag);
    } else if (env[option.env] !== undefined && env[option.env] !== '') {
      raw = env[option.env];
      source = option.env;
      given.add(option.flag);
    } else {
      raw = option.default;
      source = `the default of --${option.flag}`;
    }
    if (raw === undefined) {
      if (option.required === true) {
        throw new ConfigError(`--${option.flag} is required (or set ${option.env})`);
      }
      values[camel(option.flag)] = undefined;
      continue;
    }
    values[camel(option.flag)] = parseValue(option, raw, source);
  }
  const config = values as unknown as ServeConfig;
  if (!given.has('admin-port') && config.port === 0) config.adminPort = 0;
  checkListeners(config);
  return config;
}

/** What no single option can say: TLS needs both files, and the two listeners cannot share a port. */
function checkListeners(config: ServeConfig): void {
  if ((config.tlsCertFile === undefined) !== (config.tlsKeyFile === undefined)) {
    const [given, missing] = config.tlsCertFile === undefined ? ['--tls-key-file', '--tls-cert-file'] : ['--tls-cert-file', '--tls-key-file'];
    throw new ConfigError(`${given} needs ${missing}: TLS takes a certificate and its private key`);
  }
  if (config.adminPort !== 0 && config.adminPort === config.port) {
    throw new ConfigError(`--admin-port ${config.adminPort} is also --port: the operator listener needs a port of its own`);
  }
  if (config.migrate && config.state === 'lmdb') {
    throw new ConfigError('--migrate migrates a shared PostgreSQL: give --state postgres://… (the embedded store upgrades itself)');
  }
}

function parseValue(option: ServeOption, raw: string, source: string): unknown {
  const bad = (expected: string) => new ConfigError(`${source}: expected ${expected}, got '${raw}'`);
  switch (option.type) {
    case 'string':
    case 'path':
      if (raw.trim() === '') throw bad('a value');
      return raw;
    case 'url':
      if (!URL.canParse(raw) || !/^https?:$/.test(new URL(raw).protocol)) throw bad('an http(s) URL');
      return raw;
    case 'port': {
      const port = /^\d{1,5}$/.test(raw) ? Number(raw) : NaN;
      if (!(port >= 0 && port <= 65535)) throw bad('a port number from 0 to 65535');
      return port;
    }
    case 'duration': {
      const ms = parseDuration(raw);
      if (ms === undefined) throw bad('a duration such as 500ms, 30s, 5m or 1h (or 0)');
      return ms;
    }
    case 'boolean':
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off)$/i.test(raw)) return false;
      throw bad('true or false');
    case 'workers': {
      if (raw === 'auto') return availableParallelism();
      const count = /^\d{1,3}$/.test(raw) ? Number(raw) : NaN;
      if (!(count >= 1 && count <= LIMITS.maxWorkers)) throw bad(`auto or a number of processes from 1 to ${LIMITS.maxWorkers}`);
      return count;
    }
    case 'addresses': {
      // Addresses and CIDR ranges only: a proxy is trusted by where its connection comes from,
      // never by a name (proxy-addr's "loopback" and the like are spelled out instead).
      const entries = raw.split(',').map((entry) => entry.trim());
      for (const entry of entries) {
        const [address, bits, extra] = entry.split('/');
        const family = isIP(address ?? '');
        const max = family === 4 ? 32 : 128;
        const okBits = bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= max);
        if (family === 0 || !okBits || extra !== undefined) throw bad('a comma-separated list of IP addresses or CIDR ranges such as 10.0.0.0/8,::1');
      }
      return entries;
    }
    case 'commit':
      if (!/^[0-9a-fA-F]{12,64}$/.test(raw)) throw bad('a commit id (12 to 64 hex digits)');
      return raw.toLowerCase();
    case 'state': {
      // Only the shape here: store/postgres/connect.ts parses the URL when the server connects.
      // Never echo the value: it may hold a password.
      if (raw === 'lmdb') return raw;
      const url = URL.canParse(raw) ? new URL(raw) : undefined;
      if (url === undefined || !/^postgres(ql)?:$/.test(url.protocol)) {
        throw new ConfigError(`${source}: expected lmdb or a postgres://USER:PASSWORD@HOST:PORT/DATABASE URL, got ${redactState(raw)}`);
      }
      return raw;
    }
    case 'level':
      if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(raw)) {
        throw bad('one of fatal, error, warn, info, debug, trace, silent');
      }
      return raw;
  }
}

/** A --state value as it may be shown: everything from the user's `:` to the last `@` hidden (a password may hold `@`). */
export function redactState(value: string): string {
  // The password after the user, and as a parameter (libpq's URIs allow ?password=; store/postgres/connect.ts does the same).
  return value.replace(/^([^:/]*:\/\/[^:/@]*):.*@/, '$1:***@').replace(/([?&](?:ssl)?password=)[^&#]*/gi, '$1***');
}

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** `0`, `500ms`, `30s`, `5m`, `1h` → milliseconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  if (text === '0') return 0;
  const match = /^(\d{1,9})(ms|s|m|h)$/.exec(text);
  if (match === null) return undefined;
  return Number(match[1]) * UNITS[match[2]!]!;
}

function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** The README's configuration section: one row per option of `mergekey serve`. */
export function configurationTable(): string {
  const escape = (text: string) => text.replace(/\|/g, '\\|');
  const rows = (SERVE_OPTIONS as readonly ServeOption[]).map((o) => {
    const flag = o.type === 'boolean' ? `--${o.flag}` : `--${o.flag} ${o.valueName ?? 'VALUE'}`;
    const def = o.required === true ? '(required)' : o.default === undefined ? '(unset)' : `\`${o.default}\``;
    return `| \`${escape(flag)}\` | \`${o.env}\` | ${def} | ${escape(o.description)} |`;
  });
  return [
    '| Flag | Environment variable | Default | Description |',
    '|---|---|---|---|',
    ...rows,
  ].join('\n') + '\n';
}
