// Tells a merged request that it is live. After the controller applies a commit, each pull request
// merged by a commit in the applied range gets, once: a `mergekey/applied` commit status on its
// merge commit, and a short comment ("live: client id …"). Both are idempotent: a status already
// there, or a comment with the marker, is not posted again, so a restart or a replayed event is
// harmless. Failures are logged and never reach the reconciler: confirmation is a courtesy, the
// store is the truth.
import { spawn } from 'node:child_process';
import type { PullRequest, RequestsBackend } from '../github/index.ts';
import { commentMarker } from '../github/client.ts';
import { isoTime, toRequestSummary, type RequestKind } from '../requests/index.ts';
import type { AppliedEvent, AppliedObject } from './event.ts';

export const APPLIED_CONTEXT = 'mergekey/applied';
export const APPLIED_MARKER = 'mergekey:applied';
/** At most this many merge commits are confirmed per applied range (a long outage, a first sync). */
export const MAX_COMMITS_PER_EVENT = 50;

export type ConfirmBackend = Pick<RequestsBackend, 'pullRequestsForCommit' | 'setCommitStatus' | 'listCommitStatuses' | 'listComments' | 'comment'>;

export interface ConfirmLogger {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
}

export interface ConfirmerOptions {
  backend: ConfirmBackend;
  /**
   * The first-parent commits after `previous` up to `commit`, newest first (just `commit` when
   * there is no previous). Merges of pull requests are first-parent commits of the branch.
   */
  commitsBetween(previous: string | undefined, commit: string): Promise<string[]>;
  /** Linked from the commit status, e.g. the server's `/api/v1/status`. */
  statusUrl?: string;
  log?: ConfirmLogger;
  /**
   * Runs `work` while no other replica confirms pull request `pull` (issue 13: the shared
   * database's lock, store/postgres/confirmation-lock.ts). Every replica applies every commit, so
   * each would confirm it: one at a time, each finds what the one before posted, and the status
   * and comment are posted once. Absent with one replica.
   */
  oneAtATime?: <T>(pull: number, work: () => Promise<T>) => Promise<T>;
}

export interface Confirmation {
  number: number;
  commit: string;
  state: 'success' | 'error';
  /** What was posted now; both false when an earlier run had posted them. */
  postedStatus: boolean;
  postedComment: boolean;
}

export interface Confirmer {
  /** Confirms an applied event; resolves with what was done (never rejects). */
  confirm(event: AppliedEvent): Promise<Confirmation[]>;
  /** For the reconciler's hook: queues the event, so events are confirmed one after another. */
  onApplied(event: AppliedEvent): void;
  /** Settles when every queued event is confirmed. */
  idle(): Promise<void>;
  /**
   * For shutdown: events not yet started are dropped (confirmation is a courtesy, not a record),
   * the one under way finishes. Later events are ignored.
   */
  close(): Promise<void>;
}

const silent: ConfirmLogger = { info() {}, warn() {} };

export function createConfirmer(options: ConfirmerOptions): Confirmer {
  const log = options.log ?? silent;
  let queue: Promise<unknown> = Promise.resolve();
  let closed = false;

  async function confirm(event: AppliedEvent): Promise<Confirmation[]> {
    const done: Confirmation[] = [];
    try {
      const commits = (await options.commitsBetween(event.previous, event.commit)).slice(0, MAX_COMMITS_PER_EVENT);
      for (const commit of commits) {
        const pulls = (await options.backend.pullRequestsForCommit(commit)).filter((pull) => pull.merged && pull.mergeCommitSha === commit);
        for (const pull of pulls) done.push(await confirmOne(pull, commit, event));
      }
    } catch (error) {
      log.warn({ err: error, commit: event.commit }, `could not confirm the pull requests of commit ${event.commit.slice(0, 12)} on GitHub`);
    }
    return done;
  }

  async function confirmOne(pull: PullRequest, commit: string, event: AppliedEvent): Promise<Confirmation> {
    const request = toRequestSummary({ ...pull, closedBy: pull.closedBy ?? null });
    const object = request === undefined ? undefined : event.objects.find((candidate) => candidate.path === `apps/${request.app}.yaml`);
    const held = event.objects.filter((candidate) => candidate.outcome === 'kept' || candidate.outcome === 'absent');
    const failed = object !== undefined ? object.outcome === 'kept' || object.outcome === 'absent' : request === undefined && held.length > 0;
    const state = failed ? 'error' : 'success';
    const { description, comment } = failed
      ? notApplied(object, held, event)
      : applied(request === undefined ? undefined : { kind: request.kind, app: request.app }, object, event);

    const post = () => postOnce(pull, commit, state, description, comment);
    const posted = await (options.oneAtATime === undefined ? post() : options.oneAtATime(pull.number, post));
    log.info({ pullRequest: pull.number, commit, state }, `confirmed pull request #${pull.number} (${state})`);
    return { number: pull.number, commit, state, ...posted };
  }

  /** Posts the status and the comment, each unless already there. */
  async function postOnce(pull: PullRequest, commit: string, state: Confirmation['state'], description: string, comment: string) {
    const existing = (await options.backend.listCommitStatuses(commit)).find((status) => status.context === APPLIED_CONTEXT);
    const postStatus = existing === undefined || existing.state !== state;
    if (postStatus) {
      await options.backend.setCommitStatus(commit, {
        state,
        context: APPLIED_CONTEXT,
        description,
        ...(options.statusUrl === undefined ? {} : { targetUrl: options.statusUrl }),
      });
    }
    const marker = commentMarker(APPLIED_MARKER);
    const commented = (await options.backend.listComments(pull.number)).some((candidate) => candidate.body.includes(marker));
    if (!commented) await options.backend.comment(pull.number, `${marker}\n${comment}`);
    return { postedStatus: postStatus, postedComment: !commented };
  }

  return {
    confirm,
    onApplied(event) {
      if (closed) return;
      queue = queue.then(() => (closed ? [] : confirm(event)));
    },
    idle: () => queue.then(() => undefined),
    async close() {
      closed = true;
      await queue;
    },
  };
}

function applied(request: { kind: RequestKind; app: string } | undefined, object: AppliedObject | undefined, event: AppliedEvent): { description: string; comment: string } {
  const at = isoTime(event.at);
  const since = `since ${at} (commit ${event.commit.slice(0, 12)})`;
  if (request === undefined || object === undefined || object.clientId === undefined) {
    return { description: `applied by the controller at ${at}`, comment: `**live**: the token server serves this change ${since}.` };
  }
  const id = `client id \`${object.clientId}\``;
  if (object.state === 'inactive') {
    return {
      description: `applied: ${request.app} is inactive`,
      comment: `**live**: ${id} — \`${request.app}\` is inactive ${since}: the token server issues it no token, and its tokens no longer work.`,
    };
  }
  const what = request.kind === 'create' ? 'is registered and active' : request.kind === 'reactivate' ? 'is active again' : 'is updated';
  return {
    description: `applied: ${request.app} is active`,
    comment: `**live**: ${id} — \`${request.app}\` ${what} on the token server ${since}.`,
  };
}

function notApplied(object: AppliedObject | undefined, held: readonly AppliedObject[], event: AppliedEvent): { description: string; comment: string } {
  const subject = object ?? held[0];
  const why = subject?.message ?? 'the controller found a problem in it';
  const keeps = subject?.outcome === 'kept' ? 'it keeps serving the previous version' : 'nothing is served for it';
  return {
    description: `not applied: ${why}`.slice(0, 140),
    comment: `**not applied**: the controller could not apply \`${subject?.path ?? 'this change'}\` at commit ${event.commit.slice(0, 12)}; ${keeps}.\n\n${why}`,
  };
}

/**
 * `commitsBetween` over a local git repository (the controller's bare cache): the first-parent
 * history from `previous` (exclusive) to `commit`, newest first.
 */
export function gitCommitsBetween(gitDir: string): (previous: string | undefined, commit: string) => Promise<string[]> {
  return async (previous, commit) => {
    // A first sync confirms only the head: older merges were live long before this controller.
    if (previous === undefined) return [commit];
    return new Promise((resolve, reject) => {
      const child = spawn('git', ['rev-list', '--first-parent', `--max-count=${MAX_COMMITS_PER_EVENT}`, `${previous}..${commit}`], { cwd: gitDir });
      let out = '';
      let err = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(out.split('\n').filter((line) => line !== '')) : reject(new Error(`git rev-list: ${err.trim()}`))));
    });
  };
}
