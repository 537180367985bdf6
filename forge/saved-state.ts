// Keeping what the forge holds beside git between runs, for the quickstart: pull requests (with
// their reviews), comments, labels and statuses, per repository, in one JSON file rewritten after
// each change (written beside it, then renamed: a crash leaves the old file or the new). Git content
// needs nothing: it is in the bare repositories already. Users, permissions and settings come from
// the options each time.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { CommentRecord, LabelRecord, PullRecord, StandInState, StatusRecord } from './model.ts';

interface SavedRepository {
  labels: LabelRecord[];
  pulls: PullRecord[];
  comments: CommentRecord[];
  statuses: StatusRecord[];
}

interface SavedState {
  version: 1;
  lastId: number;
  /** By lower-cased `owner/name`. */
  repositories: Record<string, SavedRepository>;
}

/** Restores what `file` holds into the repositories `state` already has; nothing when there is no file. */
export function loadState(file: string, state: StandInState): void {
  if (!existsSync(file)) return;
  let saved: SavedState;
  try {
    saved = JSON.parse(readFileSync(file, 'utf8')) as SavedState;
  } catch (error) {
    throw new Error(`the forge's state file ${file} cannot be read (${(error as Error).message}): move it away to start without its requests`, { cause: error });
  }
  if (saved?.version !== 1) throw new Error(`the forge's state file ${file} is not one this forge writes: move it away to start without its requests`);
  for (const [key, repo] of state.repos) {
    const kept = saved.repositories[key];
    if (kept === undefined) continue;
    repo.labels = new Map(kept.labels.map((label) => [label.name.toLowerCase(), label]));
    repo.pulls = kept.pulls;
    repo.comments = kept.comments;
    repo.statuses = kept.statuses;
  }
  state.continueAfter(saved.lastId);
}

export function saveState(file: string, state: StandInState): void {
  const saved: SavedState = { version: 1, lastId: state.lastId(), repositories: {} };
  for (const [key, repo] of state.repos) {
    saved.repositories[key] = { labels: [...repo.labels.values()], pulls: repo.pulls, comments: repo.comments, statuses: repo.statuses };
  }
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(saved), { mode: 0o600 });
  renameSync(temp, file);
}
