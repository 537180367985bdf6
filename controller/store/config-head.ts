// The shared head of several replicas (issue 13, `--state postgres://…`): the newest commit any
// replica has applied, the cut-offs up to it under the one generation counter of every replica,
// and the notices of its moves. Each replica follows git into its own LMDB; this is what they
// agree on so that a token's `issuedUnder` means the same on every replica, and so that a commit
// applied by one is fetched at once by the others. The PostgreSQL side is postgres/config-head.ts;
// with `--state lmdb` there is none, and each store counts its own cut-offs (config.ts).
import type { CutOffTargets, SettledCutOffs } from './token-state.ts';

export interface SettleRequest {
  /** The commit this replica is about to apply. */
  commit: string;
  /** The commit this replica applied before (undefined: none): `targets` are measured from its records. */
  base: string | undefined;
  /** The cut-offs its changes produce, from this replica's records before them (config.ts's rules). */
  targets: CutOffTargets;
  /** This replica's own cut-off generation now (its LMDB). */
  knownGeneration: number;
  /** When (ms): the cut-offs' `at`. */
  at: number;
  /**
   * Whether `commit` is newer than `head`, the shared head: `head` is an ancestor of it in this
   * replica's git. A head this replica has not fetched yet, or one it is behind, is not.
   */
  isNewer(head: string): Promise<boolean>;
  /**
   * Set when `commit` replaces a rewritten history, as an operator accepted: its targets are
   * measured from the history it replaces, whatever the shared head.
   */
  rewrite?: boolean;
}

/**
 * What the shared head says of a commit: the cut-offs to apply it with, or that this replica must
 * first apply `behind`, the shared head, since the commit is newer than that head but the
 * replica's records are older (a new replica, one that was down, or one that lost a race): the
 * changes measured from them could miss a cut-off the head's own changes require (an application
 * reactivated at the head and deactivated again by the commit).
 */
export type Settlement = { settled: SettledCutOffs } | { behind: string };

export interface ConfigHead {
  /**
   * Before the replica commits `commit`'s configuration into its LMDB, in one transaction of the
   * shared database: locks the head; when the commit is newer than it (or there is none yet),
   * writes the request's cut-offs at the next generation, moves the head to the commit and tells
   * the other replicas (unless the replica is behind the head: see Settlement); otherwise (another replica applied it, or went past it) writes none.
   * Either way returns what the replica's LMDB takes in the transaction that applies the commit
   * (`SyncState.applyCommit`). Rejects with StoreError when the database cannot do it: the commit
   * is then not applied (a reconcile fails, and is retried, as when git cannot be reached).
   */
  settle(request: SettleRequest): Promise<Settlement>;
  /**
   * Calls `moved` with each commit another replica moves the head to, and `reconnected` each time
   * the listening connection comes back after a loss (a move may have been missed meanwhile).
   * Resolves once listening, with the way to stop.
   */
  follow(handlers: { moved(commit: string): void; reconnected(): void }): Promise<() => Promise<void>>;
}
