// When reconciles happen: at start, every poll interval, on a webhook or a manual trigger, and —
// after git failed — on an exponential backoff with jitter, so that many controllers facing one
// unreachable server do not retry in step.
import { LIMITS } from '../config/defaults.ts';
import { SingleFlight } from './scheduler.ts';
import type { RunStatus } from '../store/sync-records.ts';

export interface Reconcilable {
  reconcile(trigger: string): Promise<RunStatus>;
  nextAttemptAt: number | undefined;
}

export interface LoopOptions {
  reconciler: Reconcilable;
  /** 0 disables polling. */
  pollMs: number;
  /** The least time between a run's start and the queued run's (`LIMITS.syncMinIntervalMs`). */
  minIntervalMs?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  random?: () => number;
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

/**
 * "Equal jitter": half the capped exponential delay, plus a random share of the other half. Never
 * zero (a tight loop against a dead server), never in lockstep with other controllers.
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(cap / 2 + random() * (cap / 2));
}

export class ReconcileLoop {
  private readonly flight: SingleFlight;
  private readonly options: Required<Omit<LoopOptions, 'reconciler' | 'minIntervalMs'>> & { reconciler: Reconcilable };
  private timer: unknown;
  private failures = 0;
  private stopped = false;
  /** The result of the last run, for triggers that wait for it. */
  last: RunStatus | undefined;

  constructor(options: LoopOptions) {
    this.options = {
      retryBaseMs: LIMITS.retryBaseMs,
      retryMaxMs: LIMITS.retryMaxMs,
      random: Math.random,
      now: Date.now,
      setTimer: (fn, ms) => setTimeout(fn, ms).unref(),
      clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
      ...options,
    };
    this.flight = new SingleFlight((reason) => this.run(reason), {
      minIntervalMs: options.minIntervalMs ?? LIMITS.syncMinIntervalMs,
      now: this.options.now,
      setTimer: this.options.setTimer,
      clearTimer: this.options.clearTimer,
    });
  }

  start(): Promise<void> {
    return this.trigger('startup');
  }

  /** Starts (or queues) a reconcile; resolves when one that began after this call has finished. */
  trigger(reason: string): Promise<void> {
    return this.flight.trigger(reason);
  }

  /** Stops scheduling and waits for the reconcile in flight (and its transaction) to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.clear();
    await this.flight.stop();
  }

  private async run(reason: string): Promise<void> {
    this.clear();
    const run = await this.options.reconciler.reconcile(reason);
    this.last = run;
    if (this.stopped) return;
    const failure = run.error?.failure;
    let delay: number;
    if (failure === 'retry' || failure === 'transient') {
      delay = backoffDelay(this.failures, this.options.retryBaseMs, this.options.retryMaxMs, this.options.random);
      this.failures += 1;
    } else {
      this.failures = 0;
      delay = this.options.pollMs;
    }
    if (delay > 0) {
      this.options.reconciler.nextAttemptAt = this.options.now() + delay;
      const why = failure === 'retry' || failure === 'transient' ? 'retry' : 'poll';
      this.timer = this.options.setTimer(() => void this.trigger(why), delay);
    } else {
      this.options.reconciler.nextAttemptAt = undefined;
    }
  }

  private clear(): void {
    if (this.timer !== undefined) this.options.clearTimer(this.timer);
    this.timer = undefined;
  }
}
