import { describe, expect, it } from 'vitest';
import { SingleFlight } from './scheduler.ts';

/** A task whose runs finish only when the test says so. */
function gatedTask() {
  const runs: string[] = [];
  const gates: (() => void)[] = [];
  let active = 0;
  let maxActive = 0;
  const task = async (reason: string) => {
    runs.push(reason);
    active += 1;
    maxActive = Math.max(maxActive, active);
    await new Promise<void>((resolve) => gates.push(resolve));
    active -= 1;
  };
  const release = async () => {
    // Let the scheduler reach its next await before opening the gate.
    while (gates.length === 0) await new Promise((r) => setImmediate(r));
    gates.shift()!();
  };
  return { task, runs, release, maxActive: () => maxActive };
}

describe('SingleFlight', () => {
  it('turns a poll, a webhook and a manual trigger arriving together into one run plus one queued', async () => {
    const t = gatedTask();
    const flight = new SingleFlight(t.task);
    const poll = flight.trigger('poll');
    const webhook = flight.trigger('webhook');
    const manual = flight.trigger('manual');
    expect(webhook).toBe(manual);
    await t.release();
    await poll;
    await t.release();
    await Promise.all([webhook, manual]);
    expect(t.runs).toEqual(['poll', 'webhook,manual']);
    expect(t.maxActive()).toBe(1);
    expect(flight.running).toBe(false);
  });

  it('starts a fresh run for a trigger after the queue drained', async () => {
    const t = gatedTask();
    const flight = new SingleFlight(t.task);
    const first = flight.trigger('a');
    await t.release();
    await first;
    const second = flight.trigger('b');
    await t.release();
    await second;
    expect(t.runs).toEqual(['a', 'b']);
  });

  it('keeps going after a failed run', async () => {
    let calls = 0;
    const flight = new SingleFlight(async () => {
      calls += 1;
      throw new Error('boom');
    });
    await flight.trigger('a');
    await flight.trigger('b');
    expect(calls).toBe(2);
  });

  it('on stop, finishes the run in flight, drops the queued one and ignores new triggers', async () => {
    const t = gatedTask();
    const flight = new SingleFlight(t.task);
    void flight.trigger('a');
    const queued = flight.trigger('b');
    const stopped = flight.stop();
    await queued;
    await t.release();
    await stopped;
    await flight.trigger('c');
    expect(t.runs).toEqual(['a']);
  });

  it('starts a queued run no sooner than the interval after the previous start, all triggers meanwhile joining it', async () => {
    const t = gatedTask();
    let now = 1_000_000;
    const timers: { at: number; fn: () => void }[] = [];
    const flight = new SingleFlight(t.task, {
      minIntervalMs: 1_000,
      now: () => now,
      setTimer: (fn, ms) => timers.push({ at: now + ms, fn }),
      clearTimer: () => {},
    });
    const lone = flight.trigger('manual');
    expect(t.runs).toEqual(['manual']); // nothing ran or was queued: it starts at once
    const joined = Array.from({ length: 200 }, (_, i) => flight.trigger(i % 10 === 0 ? 'webhook' : 'manual'));
    now += 30;
    await t.release();
    await lone;
    // The first run took 30 ms: the queued one waits out the interval, and later triggers join it.
    const late = flight.trigger('webhook');
    expect(joined.every((p) => p === late)).toBe(true);
    expect(t.runs).toEqual(['manual']);
    expect(timers.map((timer) => timer.at)).toEqual([1_001_000]);
    now = timers[0]!.at;
    timers[0]!.fn();
    await t.release();
    await late;
    expect(t.runs).toEqual(['manual', 'webhook,manual']);
    expect(t.maxActive()).toBe(1);
  });

  it('on stop, cuts the wait before a queued run short and drops it', async () => {
    const t = gatedTask();
    const flight = new SingleFlight(t.task, { minIntervalMs: 3_600_000 });
    const first = flight.trigger('a');
    const queued = flight.trigger('b');
    await t.release();
    await first;
    await flight.stop();
    await queued;
    expect(t.runs).toEqual(['a']);
  });
});
