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
});
