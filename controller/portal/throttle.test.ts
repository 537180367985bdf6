import { describe, expect, it } from 'vitest';
import { FailureThrottle, SignInThrottles } from './throttle.ts';

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

describe('sign-in throttles shared between workers', () => {
  const limits = { user: { max: 3, windowMs: 60_000 }, address: { max: 10, windowMs: 60_000 } };

  /** Workers joined as by the primary: what one publishes, every other receives. */
  function workers(count: number): SignInThrottles[] {
    const listeners = new Set<{ from: number; receive: (event: unknown) => void }>();
    return Array.from({ length: count }, (_, from) => new SignInThrottles(limits, {
      publish: (event) => { for (const l of listeners) if (l.from !== from) l.receive(JSON.parse(JSON.stringify(event))); },
      subscribe: (receive) => {
        const listener = { from, receive };
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    }));
  }

  it('count each other\'s failures, so the limit holds however the attempts are spread', () => {
    const [a, b] = workers(2);
    a!.failed('alice', '10.0.0.1', 0);
    b!.failed('alice', '10.0.0.2', 1);
    expect(a!.blockedFor('alice', '10.0.0.3', 2)).toBe(0);
    a!.failed('alice', '10.0.0.1', 2);
    expect(b!.blockedFor('alice', '10.0.0.9', 3)).toBe(59_997);
    expect(a!.blockedFor('alice', '10.0.0.9', 3)).toBe(59_997);
    expect(b!.blockedFor('bob', '10.0.0.9', 3)).toBe(0);
  });

  it('forget a user\'s failures everywhere once the user signs in on one of them', () => {
    const [a, b] = workers(2);
    a!.failed('alice', '10.0.0.1', 0);
    a!.failed('alice', '10.0.0.1', 1);
    b!.signedIn('alice', '10.0.0.1', 2);
    a!.failed('alice', '10.0.0.1', 3);
    expect(a!.blockedFor('alice', '10.0.0.1', 4)).toBe(0);
  });

  it('ignore what is not a sign-in event, and stop listening when closed', () => {
    let receive: (event: unknown) => void = () => {};
    const throttles = new SignInThrottles(limits, { publish: () => {}, subscribe: (r) => ((receive = r), () => (receive = () => {})) });
    for (const junk of [null, 'failed', { kind: 'failed', user: 'alice' }, { kind: 'failed', user: 'alice', address: 'x', at: Number.NaN }]) receive(junk);
    expect(throttles.blockedFor('alice', 'x', 0)).toBe(0);
    throttles.close();
    for (let i = 0; i < 5; i++) receive({ kind: 'failed', user: 'alice', address: 'x', at: 0 });
    expect(throttles.blockedFor('alice', 'x', 0)).toBe(0);
  });
});
