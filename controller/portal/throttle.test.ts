import { describe, expect, it } from 'vitest';
import { FailureThrottle } from './throttle.ts';

describe('sign-in failure throttle', () => {
  const limit = { max: 3, windowMs: 60_000 };

  it('blocks a key after max failures within the window, until the window ends', () => {
    const throttle = new FailureThrottle(limit);
    throttle.fail('alice', 0);
    throttle.fail('alice', 10_000);
    expect(throttle.blockedFor('alice', 20_000)).toBe(0);
    throttle.fail('alice', 20_000);
    expect(throttle.blockedFor('alice', 30_000)).toBe(30_000);
    expect(throttle.blockedFor('bob', 30_000)).toBe(0);
    expect(throttle.blockedFor('alice', 60_000)).toBe(0);
  });

  it('starts a new window after the old one ends, and forgets a key on reset', () => {
    const throttle = new FailureThrottle(limit);
    throttle.fail('alice', 0);
    throttle.fail('alice', 1);
    throttle.fail('alice', 70_000);
    expect(throttle.blockedFor('alice', 70_001)).toBe(0);
    throttle.fail('alice', 70_002);
    throttle.fail('alice', 70_003);
    expect(throttle.blockedFor('alice', 70_004)).toBeGreaterThan(0);
    throttle.reset('alice');
    expect(throttle.blockedFor('alice', 70_005)).toBe(0);
  });

  it('stays bounded under a flood of keys', () => {
    const throttle = new FailureThrottle(limit, 100);
    for (let i = 0; i < 1000; i += 1) throttle.fail(`10.0.${i >> 8}.${i & 255}`, i);
    // The newest keys are still counted.
    for (let i = 0; i < 2; i += 1) throttle.fail('10.0.3.231', 1000 + i);
    expect(throttle.blockedFor('10.0.3.231', 1002)).toBeGreaterThan(0);
  });
});
