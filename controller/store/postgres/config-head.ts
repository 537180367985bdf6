// The shared head on PostgreSQL (store/config-head.ts says what it is for). The one row of
// `cut_off_generation` holds both the generation counter and the head commit, so the lock that
// orders the counter's writers (SELECT … FOR UPDATE) also orders the head's: two replicas applying
// the same commit at once write its cut-offs once, in whichever transaction locks first, and the
// other finds the head already there. A move of the head is announced with NOTIFY on
// `mergekey_config` (payload: the commit), sent by PostgreSQL when that transaction commits, so no
// replica hears of a head whose cut-offs it cannot read yet.
import type { ConfigHead, Settlement } from '../config-head.ts';
import type { CutOffKind, CutOffTargets } from '../token-state.ts';
import { settledWithin, type SharedDb } from './db.ts';

export const CONFIG_CHANNEL = 'mergekey_config';

/** How many of its own announcements a replica remembers, not to wake itself with them. */
const ANNOUNCED_KEPT = 16;

export function configHead(db: SharedDb): ConfigHead {
  // Every replica listens on the channel, this one too: its own notices are not news to it.
  const announced: string[] = [];

  return {
    settle(request) {
      return db.run((sql) =>
        sql.begin(async (tx): Promise<Settlement> => {
          const [row] = await tx<{ value: string; head_commit: string | null }[]>`
            SELECT value, head_commit FROM cut_off_generation FOR UPDATE`;
          const shared = Number(row!.value);
          const head = row!.head_commit ?? undefined;
          const same = head === request.commit;
          const newer = head === undefined || (!same && (await request.isNewer(head)));
          if (newer && head !== undefined && head !== request.base && request.rewrite !== true) return { behind: head };
          // Never behind a replica's own counter (a store that ran alone before holds cut-offs of
          // its own): a token issued after this commit must carry a generation above them.
          let generation = Math.max(shared, request.knownGeneration);
          if (newer) {
            const targets = distinctTargets(request.targets);
            if (targets.length > 0) generation += 1;
            await tx`UPDATE cut_off_generation SET value = ${generation}, head_commit = ${request.commit}`;
            if (targets.length > 0) {
              const rows = targets.map(({ kind, target }) => ({ kind, target, generation, at_ms: request.at }));
              await tx`
                INSERT INTO cut_offs ${tx(rows, 'kind', 'target', 'generation', 'at_ms')}
                ON CONFLICT (kind, target) DO UPDATE
                  SET generation = excluded.generation, at_ms = GREATEST(cut_offs.at_ms, excluded.at_ms)`;
            }
            await tx`SELECT pg_notify(${CONFIG_CHANNEL}, ${request.commit})`;
            announced.push(request.commit);
            if (announced.length > ANNOUNCED_KEPT) announced.shift();
          } else if (generation > shared) {
            await tx`UPDATE cut_off_generation SET value = ${generation}`;
          }
          // A store whose own counter is ahead of the shared one holds none of the shared cut-offs yet.
          const since = request.knownGeneration <= shared ? request.knownGeneration : 0;
          const cutOffs = await tx<{ kind: CutOffKind; target: string; generation: string; at_ms: string }[]>`
            SELECT kind, target, generation, at_ms FROM cut_offs WHERE generation > ${since}`;
          return {
            settled: {
              ...(newer || same ? { generation } : {}),
              cutOffs: cutOffs.map((cut) => ({ kind: cut.kind, target: cut.target, cutOff: { generation: Number(cut.generation), at: Number(cut.at_ms) } })),
            },
          };
        }),
      );
    },

    async follow({ moved, reconnected }) {
      let listening = false;
      const { unlisten } = await db.sql.listen(
        CONFIG_CHANNEL,
        (commit) => {
          if (!announced.includes(commit)) moved(commit);
        },
        // Called on the first LISTEN and again after every reconnection (the client's own).
        () => {
          if (listening) reconnected();
          listening = true;
        },
      );
      // Bounded: a frozen server would otherwise hold the stop.
      return () => settledWithin(unlisten());
    },
  };
}

/** The targets as rows, each once (one INSERT … ON CONFLICT cannot touch a row twice). */
function distinctTargets(targets: CutOffTargets): { kind: CutOffKind; target: string }[] {
  const rows = new Map<string, { kind: CutOffKind; target: string }>();
  const add = (kind: CutOffKind, names: readonly string[] | undefined) => {
    for (const target of names ?? []) rows.set(`${kind}\0${target}`, { kind, target });
  };
  add('application', targets.applications);
  add('user', targets.users);
  add('audience', targets.audiences);
  add('scope', targets.scopes);
  return [...rows.values()];
}
