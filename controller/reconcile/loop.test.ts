import { describe, expect, it } from 'vitest';
import { backoffDelay, ReconcileLoop, type Reconcilable } from './loop.ts';
import type { RunStatus } from '../store/sync-records.ts';

function run(error?: RunStatus['error']): RunStatus {
  return { startedAt: '', finishedAt: '', durationMs: 0, result: error ? 'failed' : 'applied', trigger: 't', ...(error ? { error } : {}) };
}

/** A reconciler that answers from a script, and timers the test fires by hand. */
function scripted(results: RunStatus[]) {
  const triggers: string[] = [];
  const reconciler: Reconcilable = {
    nextAttemptAt: undefined,
    async reconcile(trigger) {
      triggers.push(trigger);
      return results.shift() ?? run();
    },
  };
  const timers: { fn: () => void; ms: number; cleared: boolean }[] = [];
  const loop = new ReconcileLoop({
    reconciler,
    pollMs: 30_000,
    retryBaseMs: 1_000,
    retryMaxMs: 8_000,
    random: () => 0.5,
    now: () => 0,
    setTimer: (fn, ms) => {
      const timer = { fn, ms, cleared: false };
      timers.push(timer);
      return timer;
    },
    clearTimer: (timer) => void ((timer as { cleared: boolean }).cleared = true),
  });
  const pending = () => timers.filter((t) => !t.cleared);
  const fire = async () => {
    const timer = pending()[0]!;
    timer.cleared = true;
    const before = triggers.length;
    timer.fn();
    // The run finishes within a few turns of the event loop; wait until it has set its next timer.
    for (let i = 0; i < 100 && (triggers.length === before || pending().length === 0); i++) await new Promise((r) => setImmediate(r));
  };
  return { loop, triggers, timers, pending, fire, reconciler };
}

const unreachable = { failure: 'retry' as const, reason: 'Unreachable' as const, message: 'down' };

describe('backoffDelay', () => {
  it('doubles up to the cap, with half of it jittered', () => {
    expect([0, 1, 2, 3, 4, 10].map((n) => backoffDelay(n, 1_000, 8_000, () => 0))).toEqual([500, 1_000, 2_000, 4_000, 4_000, 4_000]);
    expect([0, 1, 2, 3, 4, 10].map((n) => backoffDelay(n, 1_000, 8_000, () => 0.999999))).toEqual([1_000, 2_000, 4_000, 8_000, 8_000, 8_000]);
  });
});

describe('ReconcileLoop', () => {
  it('polls after a success and backs off after git failures, then returns to polling', async () => {
    const s = scripted([run(), run(unreachable), run(unreachable), run(unreachable), run()]);
    await s.loop.start();
    expect(s.pending().map((t) => t.ms)).toEqual([30_000]);
    await s.fire();
    expect(s.pending().map((t) => t.ms)).toEqual([750]);
    expect(s.reconciler.nextAttemptAt).toBe(750);
    await s.fire();
    expect(s.pending().map((t) => t.ms)).toEqual([1_500]);
    await s.fire();
    expect(s.pending().map((t) => t.ms)).toEqual([3_000]);
    await s.fire();
    expect(s.pending().map((t) => t.ms)).toEqual([30_000]);
    expect(s.triggers.slice(0, 5)).toEqual(['startup', 'poll', 'retry', 'retry', 'retry']);
  });

  it('does not retry a stalled head on a backoff: it waits for the next poll or trigger', async () => {
    const s = scripted([run({ failure: 'stalled', reason: 'HeldBack', message: 'held' })]);
    await s.loop.start();
    expect(s.pending().map((t) => t.ms)).toEqual([30_000]);
  });

  it('schedules nothing once stopped', async () => {
    const s = scripted([]);
    await s.loop.start();
    await s.loop.stop();
    expect(s.pending()).toEqual([]);
    await s.loop.trigger('webhook');
    expect(s.triggers).toEqual(['startup']);
  });
});
