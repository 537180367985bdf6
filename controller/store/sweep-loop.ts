// The background loop both sweepers run (./sweeper.ts on LMDB, ./postgres/sweeper.ts on
// PostgreSQL): a round, then a rest of `idleMs`, until stopped. A failed round is reported and
// the next one tries again; stop ends the rest at once and waits for the round in flight.

export class SweepLoop {
  readonly #round: () => Promise<void>;
  readonly #idleMs: number;
  readonly #onError: (error: unknown) => void;
  #running: Promise<void> | undefined;
  #stopped = false;
  #wake: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(round: () => Promise<void>, idleMs: number, onError: (error: unknown) => void) {
    this.#round = round;
    this.#idleMs = idleMs;
    this.#onError = onError;
  }

  /** True once `stop` was called: a round checks it between batches. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Runs rounds in the background until `stop`; a second call does nothing. */
  start(): void {
    this.#running ??= this.#loop();
  }

  /** Stops after the round in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#wake?.();
    await this.#running;
  }

  async #loop(): Promise<void> {
    while (!this.#stopped) {
      try {
        await this.#round();
      } catch (error) {
        // A round fails whole (its transaction commits or not); the next round tries again.
        this.#onError(error);
      }
      if (this.#stopped) return;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        this.#timer = setTimeout(resolve, this.#idleMs);
        this.#timer.unref();
      });
    }
  }
}
