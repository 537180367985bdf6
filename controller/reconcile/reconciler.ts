// One reconcile: fetch → read what changed → validate → open secrets of changed objects → plan
// (pure) → apply (one transaction) → status (always, from a `finally`).
//
// Between runs it keeps the loaded manifests of the applied commit in memory, so a new commit
// costs what changed in it: `git diff-tree` names the paths, only those are read and parsed, and
// the cross-object rules run over the in-memory set. A first sync, a restart or a rewritten
// history (the applied commit is not an ancestor of the new head) reads the whole tree.
//
// A rewritten history is held, not applied: a force push back to an earlier commit would bring
// back a client secret rotated out since (SPEC: "holds a rewritten history … until an operator
// accepts it"). The hold is derived on every run from the applied commit in the store and the
// fetched head, so a restart does not forget it; an acceptance names the one head it accepts.
import { appliedEvent, type AppliedEvent } from '../confirm/event.ts';
import { checkRules, loadManifest, type Kind, type ManifestObject } from '../manifests/index.ts';
import type { Condition, ObjectKey, ObjectStatus, ReconcileProblem, RunError, RunStatus } from '../store/sync-records.ts';
import type { GitSource, TreeEntry } from '../git/source.ts';
import type { ConfigHead, Settlement } from '../store/config-head.ts';
import type { ConfigReader } from '../store/config.ts';
import type { AppliedCommit, PersistedSyncState, SyncState } from '../store/sync-state.ts';
import { applyPlan, commitCutOffs } from './apply.ts';
import { objectConditions, stamp, type ConditionInput } from './conditions.ts';
import { identityOf, objectKey, plan, type DesiredEntry, type ReconcilePlan } from './plan.ts';
import { fingerprint, objectFromRecord, toRecord, type SecretOpener, type StoreRecord } from './records.ts';
import { classify, ReconcileError, type ReconcileStatus } from './failures.ts';

export interface ReconcileLogger {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

export interface ReconcilerOptions {
  /** What the store serves: the last good version of an object the new commit breaks. */
  config: ConfigReader;
  /** What earlier runs applied, and the transaction that applies the next commit. */
  sync: SyncState;
  source: GitSource;
  opener: SecretOpener;
  secretHashKey: Uint8Array;
  allowMassDeactivation?: boolean;
  /** A rewritten head the operator accepts at startup (`--accept-history-rewrite`): a commit id or a prefix of at least 12 digits. */
  acceptHistoryRewrite?: string;
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number;
  log?: ReconcileLogger;
  /** Called after every run, for metrics. */
  onRun?: (run: RunStatus) => void;
  /** Called once a new commit is applied (not for unchanged runs), e.g. to confirm pull requests. */
  onApplied?: (event: AppliedEvent) => void;
  /**
   * The head replicas share (`--state postgres://…`): before each commit is applied, its cut-offs
   * are settled there, under the one generation counter of every replica. Absent with `--state lmdb`.
   */
  configHead?: ConfigHead;
}

/** One manifest path as read from a commit (file-level problems only; rules come later). */
interface LoadedFile {
  path: string;
  oid: string;
  object?: ManifestObject;
  fingerprint?: string;
  problems: ReconcileProblem[];
}

interface LoadedCommit {
  commit: string;
  files: Map<string, LoadedFile>;
  /** The paths the commit changed since the applied one; undefined after a full read. */
  changed?: Set<string>;
}

/** An accepted rewrite names its head: a full commit id (SHA-1 or SHA-256) or a prefix long enough to be unmistakable. */
const ACCEPTED_COMMIT = /^[0-9a-fA-F]{12,64}$/;
const silent: ReconcileLogger = { info() {}, warn() {}, error() {} };
/** scrypt is memory-hard (32 MiB each): open and hash a few objects at a time. */
const PREPARE_CONCURRENCY = 4;

export class Reconciler {
  private readonly config: ConfigReader;
  private readonly syncState: SyncState;
  private readonly source: GitSource;
  private readonly opener: SecretOpener;
  private readonly secretHashKey: Uint8Array;
  private readonly allowMassDeactivation: boolean;
  private readonly now: () => number;
  private readonly log: ReconcileLogger;
  private readonly onRun: ((run: RunStatus) => void) | undefined;
  private readonly onApplied: ((event: AppliedEvent) => void) | undefined;
  private readonly configHead: ConfigHead | undefined;

  private state: PersistedSyncState;
  /** The applied commit's manifests, once read by this process. */
  private loaded: LoadedCommit | undefined;
  /** The version of each object the store serves, as a manifest object, for the rules. */
  private readonly lastGood = new Map<ObjectKey, ManifestObject>();
  private lastFetch: { at: number; commit: string } | undefined;
  private fetchError: RunError | undefined;
  /** A head that cannot be applied as it is (held back): not retried until the branch moves. */
  private stalledOn: string | undefined;
  private repoConditions: Condition[] | undefined;
  /** The rewritten head being held, and the applied commit it does not contain. */
  private heldRewrite: { applied: string; head: string } | undefined;
  /** An operator's acceptance of one rewritten head (a commit id or a prefix of one); kept until that head is applied. */
  private acceptedRewrite: string | undefined;
  /** Paths whose status has problems: re-evaluated on every commit, since a fix elsewhere can clear them. */
  private readonly problemPaths = new Set<string>();
  nextAttemptAt: number | undefined;

  constructor(options: ReconcilerOptions) {
    this.config = options.config;
    this.syncState = options.sync;
    this.source = options.source;
    this.opener = options.opener;
    this.secretHashKey = options.secretHashKey;
    this.allowMassDeactivation = options.allowMassDeactivation ?? false;
    if (options.acceptHistoryRewrite !== undefined) this.acceptHistoryRewrite(options.acceptHistoryRewrite);
    this.now = options.now ?? Date.now;
    this.log = options.log ?? silent;
    this.onRun = options.onRun;
    this.onApplied = options.onApplied;
    this.configHead = options.configHead;
    this.state = options.sync.load();
    for (const [path, status] of this.state.objects) if (status.problems.length > 0) this.problemPaths.add(path);
  }

  /** True once the store holds an applied commit, from this process or an earlier one. */
  isReady(): boolean {
    return this.state.applied !== undefined;
  }

  /**
   * Accepts the rewritten head `commit` names (a full id, or a prefix of at least 12 hex digits):
   * the next run that fetches exactly that head applies it over the applied commit. Any other
   * head — a later, different rewrite — is still held.
   */
  acceptHistoryRewrite(commit: string): void {
    if (!ACCEPTED_COMMIT.test(commit)) throw new ReconcileError('stalled', 'Refused', `'${commit}' is not a commit id (12 to 64 hex digits)`);
    this.acceptedRewrite = commit.toLowerCase();
    // The held head is evaluated again, so that the status answers this acceptance.
    this.stalledOn = undefined;
  }

  /** The rewritten head that is held, if any (for metrics). */
  historyRewriteHeld(): { applied: string; head: string } | undefined {
    return this.heldRewrite;
  }

  async reconcile(trigger = 'manual'): Promise<RunStatus> {
    const started = this.now();
    let commit: string | undefined;
    let result: RunStatus['result'] = 'failed';
    let error: RunError | undefined;
    let fetchMs: number | undefined;
    try {
      commit = await this.fetch();
      fetchMs = this.now() - started;
      result = await this.sync(commit);
    } catch (thrown) {
      const classified = classify(thrown);
      error = { failure: classified.failure, reason: classified.reason, message: classified.message };
      if (classified.failure === 'stalled' && commit !== undefined) this.stalledOn = commit;
      // A held rewrite is an error: it may be an attack on rotated credentials, and only a person can end it.
      const level = classified.failure === 'transient' || classified.reason === 'HistoryRewritten' ? 'error' : 'warn';
      this.log[level]({ commit, reason: classified.reason, failure: classified.failure, err: classified.cause }, classified.message);
    } finally {
      const finished = this.now();
      const run: RunStatus = {
        ...(commit === undefined ? {} : { commit }),
        startedAt: iso(started),
        finishedAt: iso(finished),
        durationMs: finished - started,
        ...(fetchMs === undefined ? {} : { fetchMs }),
        result,
        ...(error === undefined ? {} : { error }),
        trigger,
      };
      this.state.run = run;
      try {
        this.syncState.writeRun(run);
      } catch (writeError) {
        this.log.error({ err: writeError }, 'cannot record the reconcile status in the store');
      }
      this.onRun?.(run);
    }
    return this.state.run;
  }

  private async fetch(): Promise<string> {
    try {
      const head = await this.source.fetch();
      this.lastFetch = { at: this.now(), commit: head };
      this.fetchError = undefined;
      return head;
    } catch (error) {
      const classified = classify(error);
      this.fetchError = { failure: classified.failure, reason: classified.reason, message: classified.message };
      throw classified;
    }
  }

  private async sync(head: string): Promise<RunStatus['result']> {
    const accepting = this.acceptedRewrite !== undefined && head.startsWith(this.acceptedRewrite);
    if (this.stalledOn === head && !accepting) throw this.stalledError(head);
    this.stalledOn = undefined;
    const applied = this.state.applied?.commit;
    if (applied === head && this.loaded?.commit === head) {
      this.forgetAcceptance();
      return 'unchanged';
    }
    const rewrittenFrom = await this.checkHistory(applied, head, accepting);

    const loaded = await this.load(head, applied);
    const { desired, scope } = this.desired(loaded);
    const records = await this.prepare(desired, head);
    const result = plan(desired, this.state.inventory, {
      allowMassDeactivation: this.allowMassDeactivation,
      ...(scope === undefined ? {} : { scope }),
    });
    if (result.heldBack !== undefined) throw new ReconcileError('stalled', 'HeldBack', result.heldBack.message);

    const at = iso(this.now());
    const statuses = this.statuses(result, head, at, scope);
    if (applied !== head) {
      this.log.info(
        { commit: head, upserts: result.upserts.length, deactivations: result.deactivations.length, deletions: result.deletions.length },
        `applying commit ${head.slice(0, 12)}`,
      );
    }
    const appliedCommit: AppliedCommit = { commit: head, at, ...(rewrittenFrom === undefined ? {} : { rewrittenFrom }) };
    const settlement = await this.settleCutOffs(head, applied, { plan: result, records, inventory: this.state.inventory }, rewrittenFrom !== undefined);
    if (settlement !== undefined && 'behind' in settlement) {
      // Another replica applied a commit between ours and this one: apply it first, so that this
      // commit's cut-offs are measured from it; then this one again, from there.
      this.log.info({ commit: head, shared: settlement.behind }, `another replica applied ${settlement.behind.slice(0, 12)}: applying it first`);
      await this.sync(settlement.behind);
      return this.sync(head);
    }
    const settled = settlement?.settled;
    const inventory = applyPlan(this.syncState, {
      applied: appliedCommit, plan: result, records, inventory: this.state.inventory, statuses, ...(settled === undefined ? {} : { settled }),
    });

    // The transaction committed: only now does memory move to the new commit.
    this.state.inventory = inventory;
    this.state.applied = appliedCommit;
    if (rewrittenFrom !== undefined) {
      this.acceptedRewrite = undefined;
      this.log.error(
        { commit: head, rewrittenFrom },
        `history rewrite accepted by an operator: applied ${head.slice(0, 12)} over ${rewrittenFrom.slice(0, 12)}; ` +
          'whatever the rewrite brought back (a rotated-out client secret, a removed owner) is in force again',
      );
    }
    for (const status of statuses.put) {
      this.state.objects.set(status.path, status);
      if (status.problems.length > 0) this.problemPaths.add(status.path);
      else this.problemPaths.delete(status.path);
    }
    for (const path of statuses.remove) {
      this.state.objects.delete(path);
      this.problemPaths.delete(path);
    }
    // What the store now serves, per the plan (not per the entry: the plan adds store conflicts).
    const objects = new Map(desired.map((entry) => [entry.path, entry.object]));
    for (const outcome of result.outcomes) {
      const object = outcome.outcome.kind === 'applied' ? objects.get(outcome.path) : undefined;
      if (object !== undefined) this.lastGood.set(outcome.key, object);
    }
    for (const deletion of result.deletions) this.lastGood.delete(deletion.key);
    this.loaded = loaded;
    if (applied !== head) {
      this.log.info({ commit: head }, `applied commit ${head.slice(0, 12)}`);
      this.notifyApplied(appliedEvent(head, applied, at, result.outcomes, (outcome) =>
        outcome.outcome.kind === 'applied' ? objects.get(outcome.path) : this.lastGood.get(outcome.key as ObjectKey),
      ));
    }
    return applied === head ? 'unchanged' : 'applied';
  }

  /**
   * With a shared head, its cut-offs for `head` (store/config-head.ts). Newer than the shared head
   * means the shared head is an ancestor of it; an accepted rewrite is newer unless the shared head
   * already contains it, since its changes are measured from the history it replaces: more
   * cut-offs, the safer side.
   */
  private async settleCutOffs(head: string, applied: string | undefined, changes: Parameters<typeof commitCutOffs>[1], rewrite: boolean): Promise<Settlement | undefined> {
    if (this.configHead === undefined) return undefined;
    return this.configHead.settle({
      commit: head,
      base: applied,
      targets: commitCutOffs(this.config, changes),
      knownGeneration: this.syncState.cutOffGeneration(),
      at: this.now(),
      isNewer: async (shared) => (await this.source.isAncestor(shared, head)) || (rewrite && !(await this.source.isAncestor(head, shared))),
      rewrite,
    });
  }

  /** The hook runs after the transaction; whatever it does cannot undo or fail the apply. */
  private notifyApplied(event: AppliedEvent): void {
    try {
      this.onApplied?.(event);
    } catch (error) {
      this.log.warn({ err: error, commit: event.commit }, 'the onApplied hook failed');
    }
  }

  /**
   * Holds a head that does not contain the applied commit (a force push, a branch reset, a rebase:
   * whatever it adds on top), unless an operator accepted that very head. Returns the applied
   * commit it rewrites when accepted. An applied commit git cannot find (pruned by the rewrite)
   * counts as rewritten: the safe answer when history cannot be proven linear.
   */
  private async checkHistory(applied: string | undefined, head: string, accepting: boolean): Promise<string | undefined> {
    if (applied === undefined || applied === head || (await this.source.isAncestor(applied, head))) {
      this.heldRewrite = undefined;
      this.forgetAcceptance();
      return undefined;
    }
    if (accepting) {
      this.heldRewrite = undefined;
      return applied;
    }
    this.heldRewrite = { applied, head };
    const other = this.acceptedRewrite === undefined ? '' : ` (the accepted rewrite is ${this.acceptedRewrite}, not this head)`;
    throw new ReconcileError(
      'stalled',
      'HistoryRewritten',
      `the history of ${this.source.branch} was rewritten: its head ${head} does not contain the applied commit ${applied.slice(0, 12)}${other}. ` +
        `A rollback can bring back a rotated-out secret, so ${applied.slice(0, 12)} is still served. ` +
        `To apply the new head: mergekey sync --accept-history-rewrite ${head} (or restart with --accept-history-rewrite ${head})`,
    );
  }

  /**
   * An acceptance answers one hold. Once the branch is not rewritten (fixed by a push, or already
   * applied), it is dropped: otherwise a later force push to that same commit — or a flag left in
   * the environment across restarts — would be applied with nobody deciding it.
   */
  private forgetAcceptance(): void {
    if (this.acceptedRewrite === undefined) return;
    this.log.info({ accepted: this.acceptedRewrite }, `no rewritten history is held: the acceptance of ${this.acceptedRewrite} is dropped`);
    this.acceptedRewrite = undefined;
  }

  private stalledError(head: string): ReconcileError {
    const previous = this.state.run?.error;
    return new ReconcileError('stalled', previous?.reason ?? 'HeldBack', previous?.message ?? `commit ${head.slice(0, 12)} cannot be applied`);
  }

  /** Reads the head's manifests: only the changed paths when the applied commit is an ancestor. */
  private async load(head: string, applied: string | undefined): Promise<LoadedCommit> {
    const previous = this.loaded;
    if (previous !== undefined && applied !== undefined && previous.commit === applied) {
      if (await this.source.isAncestor(applied, head)) {
        const diff = await this.source.changes(applied, head);
        const files = new Map(previous.files);
        for (const change of diff.changes) if (change.status === 'deleted') files.delete(change.path);
        const read = await this.source.readFiles(diff.entries);
        for (const problem of [...diff.problems, ...read.problems]) files.set(problem.path, { path: problem.path, oid: '', problems: [problem] });
        for (const file of read.files) files.set(file.path, loadFile(file.path, file.oid, file.content));
        return { commit: head, files, changed: new Set(diff.changes.map((c) => c.path)) };
      }
      this.log.info({ applied, head }, `accepted history rewrite: ${applied.slice(0, 12)} is not an ancestor of ${head.slice(0, 12)}; full resync`);
    }
    const listing = await this.source.listManifests(head);
    const files = new Map<string, LoadedFile>();
    for (const problem of listing.problems) files.set(problem.path, { path: problem.path, oid: '', problems: [problem] });
    // After a force push most blobs are usually the same: reuse what was parsed already.
    const toRead: TreeEntry[] = [];
    for (const entry of listing.entries) {
      const known = previous?.files.get(entry.path);
      if (known !== undefined && known.oid === entry.oid) files.set(entry.path, known);
      else toRead.push(entry);
    }
    const read = await this.source.readFiles(toRead);
    for (const problem of read.problems) files.set(problem.path, { path: problem.path, oid: '', problems: [problem] });
    for (const file of read.files) files.set(file.path, loadFile(file.path, file.oid, file.content));
    return { commit: head, files };
  }

  /**
   * Every path with its problems. The cross-object rules see, for each path, the new object when
   * it is valid on its own and the last good one otherwise — what the store will actually serve.
   */
  private desired(loaded: LoadedCommit): { desired: DesiredEntry[]; scope?: Set<string> } {
    const effective: ManifestObject[] = [];
    const usesNew = new Set<string>();
    // Broken files with no last good version: references to them are not reported again.
    const unloaded: string[] = [];
    for (const file of loaded.files.values()) {
      if (file.object !== undefined && file.problems.length === 0) {
        effective.push(file.object);
        usesNew.add(file.path);
        continue;
      }
      const identity = identityOf(file.path);
      const last = identity === undefined ? undefined : this.lastGoodFor(objectKey(identity.kind, identity.name));
      if (last !== undefined) effective.push(last);
      else unloaded.push(file.path);
    }
    const ruleProblems = new Map<string, ReconcileProblem[]>();
    for (const problem of checkRules(effective, { unloaded })) {
      if (!usesNew.has(problem.path)) continue;
      const list = ruleProblems.get(problem.path);
      if (list === undefined) ruleProblems.set(problem.path, [problem]);
      else list.push(problem);
    }
    // After an incremental read, only these paths can differ from what the store and the status
    // already say: the changed ones, and those with problems now or at the last reconcile (a fix
    // elsewhere can clear them). The rest of a large repository costs nothing more.
    let scope: Set<string> | undefined;
    if (loaded.changed !== undefined) {
      scope = new Set([...loaded.changed, ...ruleProblems.keys(), ...this.problemPaths]);
    }
    const entries: DesiredEntry[] = [];
    const candidates = scope === undefined ? loaded.files.values() : [...scope].flatMap((path) => loaded.files.get(path) ?? []);
    for (const file of candidates) {
      const identity = identityOf(file.path);
      if (identity === undefined) continue;
      entries.push({
        path: file.path,
        ...identity,
        ...(file.object === undefined ? {} : { object: file.object }),
        ...(file.fingerprint === undefined ? {} : { fingerprint: file.fingerprint }),
        problems: [...file.problems, ...(ruleProblems.get(file.path) ?? [])],
      });
    }
    return scope === undefined ? { desired: entries } : { desired: entries, scope };
  }

  private lastGoodFor(key: ObjectKey): ManifestObject | undefined {
    const known = this.lastGood.get(key);
    if (known !== undefined) return known;
    const entry = this.state.inventory.get(key);
    if (entry === undefined) return undefined;
    const record = servedRecord(this.config, entry.kind, entry.name);
    return record === undefined ? undefined : objectFromRecord(entry.kind, record);
  }

  /**
   * Builds the records of objects that will be written, opening their sealed values. A value that
   * cannot be opened becomes a problem of its object, which then keeps its last good version.
   */
  private async prepare(desired: DesiredEntry[], commit: string): Promise<Map<ObjectKey, StoreRecord>> {
    const records = new Map<ObjectKey, StoreRecord>();
    const pending = desired.filter((entry) => {
      if (entry.problems.length > 0 || entry.object === undefined) return false;
      return this.state.inventory.get(objectKey(entry.kind, entry.name))?.fingerprint !== entry.fingerprint;
    });
    const context = { opener: this.opener, secretHashKey: this.secretHashKey, commit };
    let next = 0;
    const worker = async () => {
      while (next < pending.length) {
        const entry = pending[next++]!;
        const result = await toRecord(entry.object!, context);
        if (result.ok) records.set(objectKey(entry.kind, entry.name), result.value);
        else entry.problems.push(...result.problems);
      }
    };
    await Promise.all(Array.from({ length: Math.min(PREPARE_CONCURRENCY, pending.length) }, worker));
    return records;
  }

  /** Object statuses that change with this commit; unchanged ones are not rewritten. */
  private statuses(result: ReconcilePlan, head: string, at: string, scope: ReadonlySet<string> | undefined): { put: ObjectStatus[]; remove: string[] } {
    const put: ObjectStatus[] = [];
    const seen = new Set<string>();
    for (const outcome of result.outcomes) {
      // A deleted record (a removed API, plan or user) leaves the status with its manifest.
      if (outcome.outcome.kind === 'removed' && outcome.outcome.deleted) continue;
      seen.add(outcome.path);
      const previous = this.state.objects.get(outcome.path);
      const inventoryEntry = this.state.inventory.get(outcome.key);
      const servedBefore = inventoryEntry?.commit;
      // The common case, kept cheap for big repositories: valid, unchanged, and already Ready.
      if (
        outcome.outcome.kind === 'applied' && !outcome.outcome.changed && outcome.problems.length === 0 &&
        previous !== undefined && previous.servedCommit === servedBefore && previous.problems.length === 0 &&
        previous.conditions.every((c) => c.status === 'True')
      ) continue;
      const served = outcome.outcome.kind === 'applied' && !outcome.outcome.changed ? servedBefore! : head;
      const { conditions, servedCommit } = objectConditions(outcome, served);
      const [kind, name] = [outcome.key.slice(0, outcome.key.indexOf('/')), outcome.key.slice(outcome.key.indexOf('/') + 1)];
      const next: ObjectStatus = {
        path: outcome.path,
        kind,
        name,
        ...(servedCommit === undefined ? {} : { servedCommit }),
        problems: outcome.problems,
        conditions: stamp(conditions, previous?.conditions, at),
      };
      if (previous === undefined || !sameStatus(previous, next)) put.push(next);
    }
    const candidates = scope === undefined ? this.state.objects.keys() : scope.values();
    const remove = [...candidates].filter((path) => !seen.has(path) && this.state.objects.has(path));
    return { put, remove };
  }

  status(): ReconcileStatus {
    const now = this.now();
    const objectStatuses = [...this.state.objects.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const notReady = objectStatuses.filter((o) => o.conditions.find((c) => c.type === 'Ready')?.status !== 'True');
    const ready = objectStatuses.length - notReady.length;
    const inputs = this.repositoryConditions(notReady);
    this.repoConditions = stamp(inputs, this.repoConditions, iso(now));
    return {
      repository: this.source.describe(),
      branch: this.source.branch,
      conditions: this.repoConditions,
      ...(this.state.applied === undefined ? {} : { lastApplied: this.state.applied }),
      ...(this.state.run === undefined ? {} : { lastAttempt: this.state.run }),
      ...(this.lastFetch === undefined
        ? {}
        : { lastSuccessfulFetch: { at: iso(this.lastFetch.at), commit: this.lastFetch.commit, secondsAgo: Math.max(0, Math.round((now - this.lastFetch.at) / 1000)) } }),
      ...(this.nextAttemptAt === undefined ? {} : { nextAttemptAt: iso(this.nextAttemptAt) }),
      objects: { total: objectStatuses.length, ready, notReady: objectStatuses.length - ready },
      objectStatuses,
      ...storeRebuild(this.syncState),
    };
  }

  /** Objects per condition type, status and reason, for metrics. */
  conditionCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const status of this.state.objects.values()) {
      for (const c of status.conditions) {
        const key = `${c.type}\0${c.status}\0${c.reason}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    }
    return counts;
  }

  lastAppliedAt(): number | undefined {
    return this.state.applied === undefined ? undefined : Date.parse(this.state.applied.at);
  }

  private repositoryConditions(notReady: readonly ObjectStatus[]): ConditionInput[] {
    const fetched: ConditionInput =
      this.fetchError !== undefined
        ? { type: 'Fetched', status: 'False', reason: this.fetchError.reason, message: this.fetchError.message }
        : this.lastFetch !== undefined
          ? { type: 'Fetched', status: 'True', reason: 'Fetched', message: `fetched ${this.lastFetch.commit.slice(0, 12)} from ${this.source.branch}` }
          : { type: 'Fetched', status: 'Unknown', reason: 'Progressing', message: 'no fetch has completed yet' };
    const run = this.state.run;
    const applied = this.state.applied;
    let synced: ConditionInput;
    if (this.heldRewrite !== undefined && run?.error?.reason === 'HistoryRewritten') {
      synced = { type: 'Synced', status: 'False', reason: 'HistoryRewritten', message: run.error.message };
    } else if (this.heldRewrite !== undefined) {
      // A later run failed otherwise (git unreachable): the hold still stands and still says so.
      const { applied: kept, head } = this.heldRewrite;
      synced = { type: 'Synced', status: 'False', reason: 'HistoryRewritten', message: `the rewritten head ${head} is held; ${kept.slice(0, 12)} is still served` };
    } else if (run?.error !== undefined && this.fetchError === undefined) {
      synced = { type: 'Synced', status: 'False', reason: run.error.reason, message: run.error.message };
    } else if (applied !== undefined && this.lastFetch !== undefined && applied.commit === this.lastFetch.commit) {
      const rewrite = applied.rewrittenFrom === undefined
        ? ''
        : `; it rewrote the history from ${applied.rewrittenFrom.slice(0, 12)}, as an operator accepted: anything that rewrite brought back (a rotated-out secret) is in force`;
      synced = { type: 'Synced', status: 'True', reason: 'Synced', message: `commit ${applied.commit.slice(0, 12)} is applied${rewrite}` };
    } else if (applied !== undefined && this.fetchError !== undefined) {
      synced = { type: 'Synced', status: 'Unknown', reason: this.fetchError.reason, message: `serving commit ${applied.commit.slice(0, 12)}; the branch cannot be fetched` };
    } else {
      synced = { type: 'Synced', status: 'Unknown', reason: 'Progressing', message: 'no reconcile has completed yet' };
    }
    return [fetched, synced, objectsValid(applied?.commit, notReady)];
  }
}

/** How many not-Ready objects the repository's condition names; the status lists them all. */
const NAMED_OBJECTS = 10;

/**
 * The per-object last-good rule made visible at the repository level: an applied commit whose
 * objects are not all valid is "applied except …", never a plain Ready, so that a broken manifest
 * (which keeps serving its previous version) cannot hide behind a green status.
 */
function objectsValid(applied: string | undefined, notReady: readonly ObjectStatus[]): ConditionInput {
  if (notReady.length === 0) return { type: 'Valid', status: 'True', reason: 'Valid', message: 'every manifest is valid and applied' };
  const named = notReady.slice(0, NAMED_OBJECTS).map((o) => {
    const applied = o.conditions.find((c) => c.type === 'Applied');
    return `${o.path} (${applied?.reason ?? 'Invalid'})`;
  });
  const more = notReady.length > NAMED_OBJECTS ? ` and ${notReady.length - NAMED_OBJECTS} more` : '';
  const what = applied === undefined ? 'nothing is applied yet; invalid' : `commit ${applied.slice(0, 12)} is applied except`;
  return {
    type: 'Valid',
    status: 'False',
    reason: 'AppliedWithErrors',
    message: `${what} ${named.join(', ')}${more}: each keeps its last good version, or is not served if it never had one (see its problems)`,
  };
}

function loadFile(path: string, oid: string, content: Uint8Array): LoadedFile {
  // The loader enforces that a file defines the object its path names (kind folder, base name).
  const { object, problems } = loadManifest({ path, content });
  const file: LoadedFile = { path, oid, problems: [...problems] };
  if (object === undefined) return file;
  file.object = object;
  file.fingerprint = fingerprint(object.manifest);
  return file;
}

function sameStatus(a: ObjectStatus, b: ObjectStatus): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** The record the store serves for an object of the inventory. */
function servedRecord(config: ConfigReader, kind: Kind, name: string): { name: string; path: string; spec: object } | undefined {
  switch (kind) {
    case 'Application':
      return config.application(name);
    case 'Api':
      return config.api(name);
    case 'Plan':
      return config.plan(name);
    case 'User':
      return config.user(name);
    case 'Settings':
      return config.settings();
  }
}

/** The store's rebuild record, for the status: an operator must see that refresh tokens were lost. */
function storeRebuild(sync: SyncState): Pick<ReconcileStatus, 'storeRebuild'> {
  const rebuilt = sync.storeRebuild();
  return rebuilt === undefined ? {} : { storeRebuild: rebuilt };
}
