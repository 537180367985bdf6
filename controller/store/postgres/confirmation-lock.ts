// One replica at a time confirms a merged pull request (issue 13, guarantee 7): every replica
// applies every commit, and the confirmer (controller/confirm/) of each would post the
// `mergekey/applied` status and the "live" comment. A transaction-level advisory lock per pull
// request orders them: the holder checks GitHub and posts; the next, once it has the lock, finds
// both and posts nothing. The lock goes with the holder's transaction, committed or not, and with
// its connection when its process dies: a replica that fails before posting (GitHub down, killed)
// leaves the confirmation to the next one waiting, which posts it.
//
// Not through `SharedDb.run`: the lock is held while GitHub answers (seconds, up to its own
// timeouts), beyond the bound `run` sets for a request's work, and a slow GitHub must not mark the
// database unreachable. When the lock cannot be had (the database is down, or the wait runs past
// `LOCK_WAIT_MS`), the confirmation is posted without it, as one replica does: each still checks
// what is there first, so at worst a status or comment is posted twice, and never lost.
import type { SharedDb } from './db.ts';

/** The advisory lock space of confirmations, `mkcf`; the second key is the pull request's number. */
export const CONFIRMATION_LOCK = 0x6d6b6366;

/** How long a replica waits for another's confirmation of the same pull request. */
export const LOCK_WAIT_MS = 60_000;

export interface ConfirmationLockLogger {
  warn(details: object, message: string): void;
}

/** `ConfirmerOptions.oneAtATime` over the shared database. */
export function confirmationLock(db: SharedDb, log: ConfirmationLockLogger): <T>(pull: number, work: () => Promise<T>) => Promise<T> {
  return async <T>(pull: number, work: () => Promise<T>): Promise<T> => {
    let locked = false;
    let done: { value: T } | undefined;
    try {
      await db.sql.begin(async (tx) => {
        await tx`SELECT set_config('statement_timeout', ${String(LOCK_WAIT_MS)}, true)`;
        await tx`SELECT pg_advisory_xact_lock(${CONFIRMATION_LOCK}, ${pull})`;
        locked = true;
        done = { value: await work() };
      });
    } catch (error) {
      // Posted, and the commit that ends the lock failed with its connection: the lock is gone too.
      if (done !== undefined) return done.value;
      // The work's own failure: the confirmer logs it.
      if (locked) throw error;
      log.warn({ err: error, pullRequest: pull }, `confirming pull request #${pull} without the replicas' lock: it could not be taken`);
      return work();
    }
    return done!.value;
  };
}
