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
