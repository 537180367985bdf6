import { describe, expect, it } from 'vitest';
import { retryAfterSeconds, Throttle } from './throttle.ts';

describe('throttle', () => {
  it('allows a burst of the whole per-minute allowance, then one event per interval', () => {
    const throttle = new Throttle(100);
    for (let i = 0; i < 6; i++) expect(throttle.hit('k', 0, 6)).toBe(0);
    expect(throttle.hit('k', 0, 6)).toBe(10_000);
    expect(throttle.hit('k', 9_999, 6)).toBe(1);
    expect(throttle.hit('k', 10_000, 6)).toBe(0);
    expect(throttle.hit('k', 10_000, 6)).toBe(10_000);
  });

  it('keeps keys apart, and wait() does not count', () => {
    const throttle = new Throttle(100);
    expect(throttle.hit('a', 0, 1)).toBe(0);
    expect(throttle.wait('a', 0, 1)).toBe(60_000);
    expect(throttle.wait('b', 0, 1)).toBe(0);
    expect(throttle.wait('b', 0, 1)).toBe(0);
  });

  it('forgets recovered keys, and the oldest ones when full', () => {
    const roomy = new Throttle(10);
    for (const key of ['a', 'b', 'c', 'd']) roomy.hit(key, 0, 60);
    roomy.forget(500);
    expect(roomy.size).toBe(4);
    roomy.forget(1000);
    expect(roomy.size).toBe(0);
    const full = new Throttle(4);
    for (const key of ['a', 'b', 'c', 'd']) full.hit(key, 0, 1);
    full.hit('e', 0, 1);
    expect(full.size).toBe(3);
    expect(full.wait('a', 0, 1)).toBe(0);
    expect(full.wait('e', 0, 1)).toBe(60_000);
  });

  it('rounds Retry-After up to whole seconds, at least one', () => {
    expect([retryAfterSeconds(1), retryAfterSeconds(1000), retryAfterSeconds(1001)]).toEqual([1, 1, 2]);
  });
});

describe('a throttle shared between processes', () => {
  it('hands over the events it allowed once, with their rate, and nothing it refused', () => {
    const throttle = new Throttle(100, { share: true });
    for (let i = 0; i < 4; i++) throttle.hit('app', 0, 3);
    throttle.hit('other', 0, 60);
    expect(throttle.takeUnshared()).toEqual([{ key: 'app', count: 3, perMinute: 3 }, { key: 'other', count: 1, perMinute: 60 }]);
    expect(throttle.takeUnshared()).toEqual([]);
    expect(new Throttle(100).hit('app', 0, 3)).toBe(0);
    expect(new Throttle(100).takeUnshared()).toEqual([]);
  });

  it('counts what another process allowed, so together they keep to one allowance', () => {
    const [first, second] = [new Throttle(100, { share: true }), new Throttle(100, { share: true })];
    for (let i = 0; i < 4; i++) expect(first.hit('app', 0, 6)).toBe(0);
    second.absorb(first.takeUnshared(), 0);
    expect(second.hit('app', 0, 6)).toBe(0);
    expect(second.hit('app', 0, 6)).toBe(0);
    expect(second.hit('app', 0, 6)).toBe(10_000);
    first.absorb(second.takeUnshared(), 0);
    expect(first.hit('app', 0, 6)).toBe(10_000);
    // Absorbed events recover like the process's own: one interval later, one more is allowed.
    expect(first.hit('app', 10_000, 6)).toBe(0);
  });

  it('ignores malformed hits instead of corrupting its state', () => {
    const throttle = new Throttle(100, { share: true });
    throttle.absorb([{ key: 'app', count: -5, perMinute: 6 }, { key: 'app', count: 1, perMinute: 0 }, { key: 'app', count: Number.NaN, perMinute: 6 }], 0);
    expect(throttle.size).toBe(0);
    expect(throttle.wait('app', 0, 6)).toBe(0);
  });
});
