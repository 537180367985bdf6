// Reconciles never overlap. A trigger that arrives while a run is in flight marks the state dirty;
// when the run ends, exactly one more run starts, however many triggers arrived meanwhile (a
// poll, a webhook and `mergekey sync` together make one run plus at most one queued). The queued
// run starts after the triggers, so it sees whatever they announced.
//
// A queued run also waits until `minIntervalMs` after the previous run started, and every trigger
// arriving meanwhile joins it: a flood of sync requests or webhook deliveries makes at most one
// fetch per interval, however fast git answers. A trigger that finds nothing running or queued
// starts at once, so a single push or sync is never delayed.

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

export interface SingleFlightOptions {
  /** The least time between the starts of a run and the queued run after it. */
  minIntervalMs?: number;
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

export class SingleFlight {
  private current: Deferred | undefined;
  private queued: Deferred | undefined;
  private queuedReasons = new Set<string>();
  private stopped = false;
  private lastStart = -Infinity;
  /** The wait before a queued run, so that `stop` can cut it short. */
  private spacing: { handle: unknown; wake: () => void } | undefined;
  private readonly minIntervalMs: number;
  private readonly now: () => number;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;

  /** `task` reports its own failures; a rejection is swallowed so the queue keeps moving. */
  constructor(
    private readonly task: (reason: string) => Promise<void>,
    options: SingleFlightOptions = {},
  ) {
    this.minIntervalMs = options.minIntervalMs ?? 0;
    this.now = options.now ?? Date.now;
    this.setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms).unref());
    this.clearTimer = options.clearTimer ?? ((handle) => clearTimeout(handle as NodeJS.Timeout));
  }

  /** Resolves when a run that started after this call has finished (or at once once stopped). */
  trigger(reason: string): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.current === undefined) {
      this.current = deferred();
      void this.drain(reason);
      return this.current.promise;
    }
    this.queuedReasons.add(reason);
    this.queued ??= deferred();
    return this.queued.promise;
  }

  get running(): boolean {
    return this.current !== undefined;
  }

  /** Takes no new triggers, drops the queued run, and waits for the one in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.spacing !== undefined) {
      this.clearTimer(this.spacing.handle);
      this.spacing.wake();
    }
    const inFlight = this.current?.promise;
    if (this.queued !== undefined) {
      this.queued.resolve();
      this.queued = undefined;
    }
    await inFlight;
  }

  private async drain(reason: string): Promise<void> {
    let next: string | undefined = reason;
    while (next !== undefined) {
      this.lastStart = this.now();
      try {
        await this.task(next);
      } catch {
        // The task logs and records its own failures.
      }
      this.current!.resolve();
      // Triggers arriving during this wait join the queued run (`current` is still set).
      if (this.queued !== undefined && !this.stopped) await this.waitForInterval();
      if (this.queued === undefined || this.stopped) {
        this.current = undefined;
        next = undefined;
      } else {
        this.current = this.queued;
        this.queued = undefined;
        next = [...this.queuedReasons].join(',');
        this.queuedReasons.clear();
      }
    }
  }

  private waitForInterval(): Promise<void> {
    const wait = this.lastStart + this.minIntervalMs - this.now();
    if (wait <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        this.spacing = undefined;
        resolve();
      };
      this.spacing = { handle: this.setTimer(wake, wait), wake };
    });
  }
}
