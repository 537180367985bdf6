// npm run bench:pg-client: the two PostgreSQL clients issue 13 allows, `postgres` (porsager) and
// `pg` (node-postgres), measured on Mergekey's token-state workload against a throwaway cluster
// (test/support/postgres.ts, fsync on), in the same run, side by side. Both pooled (POOL
// connections), both with prepared statements (porsager's tagged templates prepare by default;
// pg's are named), the same SQL for both:
//   (a) batched inserts of access-token records: batches of BATCH rows, sent as one jsonb
//       parameter (one statement shape whatever the batch size), WRITERS concurrent writers;
//   (b) a refresh rotation in one round trip: UPDATE … SET used_at = now() WHERE … AND used_at IS
//       NULL RETURNING, with the next token inserted in the same statement, 32 concurrent callers;
//   (c) a primary-key lookup of an access-token record, 32 concurrent callers.
// Prints operations per second and p99 latency for each. The benchmark drives the drivers
// themselves, so it is the one file outside controller/store/ that imports them
// (test/dependencies.test.ts names it).
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import pg from 'pg';
import postgres from 'postgres';
import { startPostgres } from '../test/support/postgres.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const POOL = 10;
const BATCH = 64;
const WRITERS = 16;
const CALLERS = 32;
const REFRESH_ROWS = 300_000;

const SCHEMA = `
  CREATE TABLE access_tokens (
    app text NOT NULL, jti text NOT NULL, client_id text NOT NULL, sub text NOT NULL, scope text NOT NULL,
    aud text[] NOT NULL, iat bigint NOT NULL, exp bigint NOT NULL, family text, issued_under jsonb,
    PRIMARY KEY (app, jti));
  CREATE INDEX access_tokens_exp ON access_tokens (exp);
  CREATE TABLE refresh_tokens (
    app text NOT NULL, id text NOT NULL, client_id text NOT NULL, sub text NOT NULL, scope text NOT NULL,
    iat bigint NOT NULL, exp bigint NOT NULL, family text NOT NULL, used_at timestamptz, issued_under jsonb,
    PRIMARY KEY (app, id));`;

const INSERT_BATCH = `INSERT INTO access_tokens (app, jti, client_id, sub, scope, aud, iat, exp, family, issued_under)
  SELECT r.app, r.jti, r.client_id, r.sub, r.scope, r.aud, r.iat, r.exp, r.family, r.issued_under
  FROM jsonb_to_recordset($1::jsonb) AS r(app text, jti text, client_id text, sub text, scope text, aud text[], iat bigint, exp bigint, family text, issued_under jsonb)`;

const ROTATE = `WITH used AS (
    UPDATE refresh_tokens SET used_at = now() WHERE app = $1 AND id = $2 AND used_at IS NULL
    RETURNING app, client_id, sub, scope, family, exp)
  INSERT INTO refresh_tokens (app, id, client_id, sub, scope, iat, exp, family)
  SELECT app, $3, client_id, sub, scope, $4, exp, family FROM used
  RETURNING family`;

const LOOKUP = 'SELECT * FROM access_tokens WHERE app = $1 AND jti = $2';

interface Client {
  name: string;
  insertBatch(rows: object[]): Promise<void>;
  rotate(app: string, id: string, next: string, now: number): Promise<boolean>;
  lookup(app: string, jti: string): Promise<boolean>;
  close(): Promise<void>;
}

function porsager(url: string): Client {
  const sql = postgres(url, { max: POOL, prepare: true, onnotice: () => undefined });
  return {
    name: 'postgres (porsager)',
    insertBatch: async (rows) => void (await sql.unsafe(INSERT_BATCH, [sql.json(rows as postgres.JSONValue)] as never[], { prepare: true })),
    rotate: async (app, id, next, now) => (await sql.unsafe(ROTATE, [app, id, next, now], { prepare: true })).length === 1,
    lookup: async (app, jti) => (await sql.unsafe(LOOKUP, [app, jti], { prepare: true })).length === 1,
    close: () => sql.end(),
  };
}

function nodePostgres(url: string): Client {
  const pool = new pg.Pool({ connectionString: url, max: POOL });
  return {
    name: 'pg (node-postgres)',
    insertBatch: async (rows) => void (await pool.query({ name: 'insert-batch', text: INSERT_BATCH, values: [JSON.stringify(rows)] })),
    rotate: async (app, id, next, now) => (await pool.query({ name: 'rotate', text: ROTATE, values: [app, id, next, now] })).rowCount === 1,
    lookup: async (app, jti) => (await pool.query({ name: 'lookup', text: LOOKUP, values: [app, jti] })).rowCount === 1,
    close: () => pool.end(),
  };
}

interface Sample {
  latencies: number[];
  seconds: number;
  weight: number;
}

/** Runs `callers` loops of `op` for SECONDS; each call counts `weight` operations. */
async function measure(callers: number, weight: number, op: (caller: number, n: number) => Promise<unknown>): Promise<Sample> {
  const latencies: number[] = [];
  const start = performance.now();
  const end = start + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: callers }, async (_, caller) => {
      for (let n = 0; performance.now() < end; n++) {
        const t = performance.now();
        await op(caller, n);
        latencies.push(performance.now() - t);
      }
    }),
  );
  return { latencies, seconds: (performance.now() - start) / 1000, weight };
}

/** Operations per second and p99 (ms) over all of a client's rounds of one workload. */
function summary(samples: Sample[]): { ops: number; p99: number } {
  const latencies = samples.flatMap((sample) => sample.latencies).sort((a, b) => a - b);
  const seconds = samples.reduce((sum, sample) => sum + sample.seconds, 0);
  return { ops: (latencies.length * samples[0]!.weight) / seconds, p99: latencies[Math.floor(latencies.length * 0.99)] ?? 0 };
}

function record(i: number) {
  const iat = Math.floor(Date.now() / 1000);
  return {
    app: `app-${i % 50}`,
    jti: randomBytes(16).toString('base64url'),
    client_id: `client-${i % 50}`,
    sub: `client-${i % 50}`,
    scope: 'open read:orders write:orders',
    aud: ['https://api.example.com/orders'],
    iat,
    exp: iat + 3600,
    family: null,
    issued_under: { application: 12, grants: 12 },
  };
}

const cluster = await startPostgres({ settings: { max_connections: '100' } });
try {
  const url = await cluster.createDatabase('bench');
  await cluster.psql(SCHEMA, 'bench');
  await cluster.psql(
    `INSERT INTO refresh_tokens (app, id, client_id, sub, scope, iat, exp, family)
     SELECT 'app-' || (g % 50), 'r' || g, 'client', 'alice', 'open', 0, 2000000000, 'f' || g FROM generate_series(1, ${REFRESH_ROWS}) g;
     ANALYZE`,
    'bench',
  );
  const clients = [porsager(url), nodePostgres(url)];
  let row = 0;
  let next = 0;
  let known: string[][] = [];
  const workloads: { name: string; callers: number; weight: number; before?: () => Promise<void>; op: (client: Client, n: number) => Promise<unknown> }[] = [
    {
      name: `insert batches of ${BATCH} (records/s)`,
      callers: WRITERS,
      weight: BATCH,
      op: (client) => client.insertBatch(Array.from({ length: BATCH }, () => record(row++))),
    },
    {
      name: 'refresh rotation (rotations/s)',
      callers: CALLERS,
      weight: 1,
      op: async (client) => {
        const i = (next++ % REFRESH_ROWS) + 1;
        if (!(await client.rotate(`app-${i % 50}`, `r${i}`, randomBytes(16).toString('base64url'), Math.floor(Date.now() / 1000)))) {
          throw new Error(`${client.name}: refresh token r${i} was not rotated`);
        }
      },
    },
    {
      name: 'primary-key lookup (lookups/s)',
      callers: CALLERS,
      weight: 1,
      before: async () => {
        known = (await cluster.psql('SELECT app, jti FROM access_tokens LIMIT 5000', 'bench')).trim().split('\n').map((line) => line.split('|'));
      },
      op: async (client, n) => {
        const [app, jti] = known[n % known.length]!;
        if (!(await client.lookup(app!, jti!))) throw new Error('lookup missed');
      },
    },
  ];
  // Two rounds per workload, in the order A B then B A, each after a CHECKPOINT, so neither client
  // always runs first, or always meets the checkpoint the other's writes caused.
  const results = new Map<string, Map<string, Sample[]>>();
  for (const workload of workloads) {
    await workload.before?.();
    const samples = new Map<string, Sample[]>(clients.map((client) => [client.name, []]));
    for (const order of [clients, [...clients].reverse()]) {
      for (const client of order) {
        await cluster.psql('CHECKPOINT', 'bench');
        samples.get(client.name)!.push(await measure(workload.callers, workload.weight, (_, n) => workload.op(client, n)));
      }
    }
    results.set(workload.name, samples);
  }
  await Promise.all(clients.map((client) => client.close()));
  const width = 34;
  console.log(`PostgreSQL ${cluster.version}, fsync on, ${availableParallelism()} cores, pool ${POOL}, 2 rounds of ${SECONDS} s per client and workload; writers ${WRITERS}, callers ${CALLERS}`);
  console.log(['workload'.padEnd(width), ...clients.map((client) => client.name.padStart(width))].join(''));
  for (const [workload, samples] of results) {
    const cells = clients.map((client) => {
      const { ops, p99 } = summary(samples.get(client.name)!);
      return `${Math.round(ops).toLocaleString('en')}/s p99 ${p99.toFixed(1)} ms`.padStart(width);
    });
    console.log([workload.padEnd(width), ...cells].join(''));
  }
} finally {
  await cluster.stop();
}
