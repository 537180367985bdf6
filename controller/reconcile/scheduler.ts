// Reconciles never overlap. A trigger that arrives while a run is in flight marks the state dirty;
// when the run ends, exactly one more run starts, however many triggers arrived meanwhile (a
// poll, a webhook and `mergekey sync` together make one run plus at most one queued). The queued
// run starts after the triggers, so it sees whatever they announced.

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

export class SingleFlight {
  private current: Deferred | undefined;
  private queued: Deferred | undefined;
  private queuedReasons = new Set<string>();
  private stopped = false;

  /** `task` reports its own failures; a rejection is swallowed so the queue keeps moving. */
  constructor(private readonly task: (reason: string) => Promise<void>) {}

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
      try {
        await this.task(next);
      } catch {
        // The task logs and records its own failures.
      }
      this.current!.resolve();
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
}
