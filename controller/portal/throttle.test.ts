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

const limits = { pair: { max: 2, windowMs: 60_000 }, user: { max: 3, windowMs: 60_000 }, address: { max: 10, windowMs: 60_000 }, knownForMs: 3_600_000 };

describe('sign-in throttles (NIST SP 800-63B 5.2.2: bound guessing without locking the subscriber out)', () => {
  it('stop a guesser at one address for one user without stopping that user anywhere else', () => {
    const throttles = new SignInThrottles(limits);
    throttles.failed('alice', '10.0.0.66', 0);
    throttles.failed('alice', '10.0.0.66', 1);
    expect(throttles.blockedFor('alice', '10.0.0.66', 2)).toBe(59_998);
    expect(throttles.blockedFor('alice', '10.0.0.1', 2)).toBe(0);
    expect(throttles.blockedFor('bob', '10.0.0.66', 2)).toBe(0);
  });

  it('past the per-user bound, make only addresses the user never signed in from wait', () => {
    const throttles = new SignInThrottles(limits);
    throttles.signedIn('alice', '10.0.0.1', 0);
    for (let i = 0; i < 3; i++) throttles.failed('alice', `10.0.9.${i}`, 10 + i);
    expect(throttles.blockedFor('alice', '10.0.8.1', 20)).toBe(59_990);
    expect(throttles.blockedFor('alice', '10.0.0.1', 20)).toBe(0);
    // Known for `knownForMs`, then an address like any other.
    for (let i = 0; i < 3; i++) throttles.failed('alice', `10.0.7.${i}`, 3_600_000 + i);
    expect(throttles.blockedFor('alice', '10.0.0.1', 3_600_010)).toBe(59_990);
  });

  it('give the user\'s own browser (a device cookie) its own limit, whatever others did from its address or anywhere', () => {
    const throttles = new SignInThrottles(limits);
    // A guesser at the user's address, and more elsewhere: past the pair, address and user limits.
    for (let i = 0; i < 10; i++) throttles.failed('alice', i < 2 ? '10.0.0.1' : `10.0.9.${i}`, i);
    expect(throttles.blockedFor('alice', '10.0.0.1', 20)).toBe(59_980);
    expect(throttles.blockedFor('alice', '10.0.0.1', 20, 'device-a')).toBe(0);
    throttles.failed('alice', '10.0.0.1', 21, 'device-a');
    throttles.failed('alice', '10.0.0.1', 22, 'device-a');
    expect(throttles.blockedFor('alice', '10.0.0.1', 23, 'device-a')).toBe(59_998);
    expect(throttles.blockedFor('alice', '10.0.0.1', 23, 'device-b')).toBe(0);
  });

  it('bound one address across users', () => {
    const throttles = new SignInThrottles({ ...limits, address: { max: 3, windowMs: 60_000 } });
    for (const user of ['alice', 'bob', 'carol']) throttles.failed(user, '10.0.0.66', 0);
    expect(throttles.blockedFor('dave', '10.0.0.66', 1)).toBe(59_999);
    expect(throttles.blockedFor('dave', '10.0.0.1', 1)).toBe(0);
  });
});

describe('sign-in throttles shared between workers', () => {

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

  it('know on every worker the addresses a user signed in from on one', () => {
    const [a, b] = workers(2);
    a!.signedIn('alice', '10.0.0.1', 0);
    for (let i = 0; i < 3; i++) a!.failed('alice', `10.0.9.${i}`, 1);
    expect(b!.blockedFor('alice', '10.0.0.1', 2)).toBe(0);
    expect(b!.blockedFor('alice', '10.0.0.2', 2)).toBe(59_999);
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
