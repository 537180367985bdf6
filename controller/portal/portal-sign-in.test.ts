// Guessing passwords at the portal's sign-in over real HTTP, from several loopback addresses
// (127.0.0.x, as different clients): NIST SP 800-63B section 5.2.2 asks to limit failed attempts
// while reducing "the likelihood that an attacker will lock the legitimate claimant out"; OWASP's
// Authentication Cheat Sheet warns that account lockout is a denial of service anyone can cause.
// The clock is injected; nothing sleeps.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGN_IN_LIMITS } from './throttle.ts';
import { PEOPLE, startPortalAlone, Visitor, type PortalAlone } from '../../test/support/portal.ts';

let portal: PortalAlone;

beforeAll(async () => {
  portal = await startPortalAlone();
});

afterAll(async () => {
  await portal?.close();
});

async function attempt(from: string, name: string, password: string) {
  const visitor = new Visitor(portal.url, { from });
  return visitor.post('/portal/sign-in', { _csrf: await visitor.csrf('/portal/sign-in'), name, password });
}

const TOO_MANY = 'Too many failed sign-ins.';
const WRONG = 'The user name or password is wrong.';

describe('sign-in throttling (NIST SP 800-63B 5.2.2)', () => {
  it('stops a guesser at its own address for that user, while the user signs in from elsewhere', async () => {
    for (let i = 0; i < SIGN_IN_LIMITS.pair.max; i++) {
      const wrong = await attempt('127.0.0.2', 'bob', `guess-${i}`);
      expect(wrong.status).toBe(401);
      expect(wrong.html).toContain(WRONG);
    }
    const guesser = await attempt('127.0.0.2', 'bob', PEOPLE.bob.password);
    expect(guesser.status).toBe(429);
    expect(guesser.html).toContain(TOO_MANY);
    expect(guesser.html).toContain('Try again in 15 minutes.');
    expect(guesser.headers.get('retry-after')).toBe('900');
    // The real bob, from another address, with his password: in.
    const bob = await attempt('127.0.0.3', 'bob', PEOPLE.bob.password);
    expect(bob.status).toBe(303);
    expect(bob.location).toBe('/portal/apps');
  });

  it('bounds a guesser spread over many addresses, without shutting the user out where they signed in before', async () => {
    const alice = new Visitor(portal.url, { from: '127.0.0.10' });
    await alice.signIn('alice');
    // Five guesses from each of four addresses: the per-user bound (20) is reached.
    const per = SIGN_IN_LIMITS.pair.max;
    for (let a = 0; a < SIGN_IN_LIMITS.user.max / per; a++) {
      for (let i = 0; i < per; i++) expect((await attempt(`127.0.1.${a + 1}`, 'alice', `guess-${a}-${i}`)).status).toBe(401);
    }
    // A fifth address gets no guess at all...
    const fresh = await attempt('127.0.1.99', 'alice', 'one-more-guess');
    expect(fresh.status).toBe(429);
    expect(fresh.html).toContain(TOO_MANY);
    // ...while alice, from the address she signed in from, still gets in.
    const again = await attempt('127.0.0.10', 'alice', PEOPLE.alice.password);
    expect(again.status).toBe(303);
    expect(again.location).toBe('/portal/apps');
  });

  it('lets the user\'s own browser (its device cookie) in, from anywhere, while guessers hold the user\'s address and many more', async () => {
    const own = new Visitor(portal.url, { from: '127.0.2.1' });
    await own.signIn('pat');
    const device = own.cookie('mergekey-device')!;
    expect(device).toMatch(/^pat\.\d+\.[A-Za-z0-9_-]{43}$/);
    // Guessers: one behind pat's own address (an office NAT), three more elsewhere.
    for (const from of ['127.0.2.1', '127.0.3.1', '127.0.3.2', '127.0.3.3']) {
      for (let i = 0; i < SIGN_IN_LIMITS.pair.max; i++) expect((await attempt(from, 'pat', `guess-${i}`)).status).toBe(401);
    }
    expect((await attempt('127.0.2.1', 'pat', PEOPLE.pat.password)).status).toBe(429);
    expect((await attempt('127.0.2.9', 'pat', PEOPLE.pat.password)).status).toBe(429);
    // A forged device cookie, or another user's, is no device cookie.
    for (const forged of [`pat.${device.split('.')[1]}.${'A'.repeat(43)}`, `bob.${device.split('.')[1]}.${device.split('.')[2]}`]) {
      const guesser = new Visitor(portal.url, { from: '127.0.2.9' });
      guesser.setCookie('mergekey-device', forged);
      const refused = await guesser.post('/portal/sign-in', { _csrf: await guesser.csrf('/portal/sign-in'), name: 'pat', password: PEOPLE.pat.password });
      expect(refused.status, forged).toBe(429);
    }
    // Pat's browser, now on a network it never used.
    const travelling = new Visitor(portal.url, { from: '127.0.2.9' });
    travelling.setCookie('mergekey-device', device);
    const signedIn = await travelling.post('/portal/sign-in', { _csrf: await travelling.csrf('/portal/sign-in'), name: 'pat', password: PEOPLE.pat.password });
    expect(signedIn.status).toBe(303);
    expect(signedIn.location).toBe('/portal/apps');
  });

  it('lets the guesser try again once the window has passed (injected clock)', async () => {
    portal.advance(SIGN_IN_LIMITS.pair.windowMs);
    const later = await attempt('127.0.0.2', 'bob', 'guess-later');
    expect(later.status).toBe(401);
    expect(later.html).toContain(WRONG);
  });
});

describe('what a failed sign-in logs', () => {
  it('says whether the account exists, never the name as typed (people type passwords there)', async () => {
    const typed = 'My-Secret Passw0rd!';
    const before = portal.logs.length;
    expect((await attempt('127.0.0.20', typed, 'x')).status).toBe(401);
    expect((await attempt('127.0.0.20', 'quinn', 'not-quinns-password')).status).toBe(401);
    const lines = portal.logs.slice(before).filter((line) => line.msg === 'portal sign-in failed');
    expect(lines.map(({ accountExists, user }) => ({ accountExists, user }))).toEqual([
      { accountExists: false, user: undefined },
      { accountExists: true, user: 'quinn' },
    ]);
    const everything = JSON.stringify(portal.logs);
    for (const secret of [typed, typed.toLowerCase(), 'not-quinns-password', ...Object.values(PEOPLE).map((p) => p.password)]) {
      expect(everything).not.toContain(secret);
    }
  });
});


describe('sessions at sign-in', () => {
  it('issue a new id at every sign-in, so an id planted or held before is worthless after (session fixation)', async () => {
    const visitor = new Visitor(portal.url, { from: '127.0.0.30' });
    await visitor.signIn('quinn');
    const before = visitor.cookie('mergekey-session')!;
    await visitor.signIn('pat');
    const after = visitor.cookie('mergekey-session')!;
    expect(after).not.toBe(before);
    const planted = new Visitor(portal.url, { from: '127.0.0.30' });
    planted.setCookie('mergekey-session', before);
    const page = await planted.get('/portal/apps/new');
    expect(page.status).toBe(303);
    expect(page.location).toBe('/portal/sign-in?next=%2Fportal%2Fapps%2Fnew');
    // Signed in as pat, a publisher: refused the developers' form, so signed in.
    const pats = await visitor.get('/portal/apps/new');
    expect(pats.status).toBe(403);
    expect(pats.html).toContain('Registering applications needs the developer role.');
  });
});

describe('the sign-in form\'s encoding', () => {
  it('refuses raw bytes outside ASCII and percent-encoding that is not UTF-8, instead of reading U+FFFD', async () => {
    // A browser percent-encodes every byte outside ASCII in a form (WHATWG URL, the
    // application/x-www-form-urlencoded serializer); raw ones come from a tool, and a byte that is
    // not UTF-8 would become U+FFFD, so different passwords would arrive as one.
    const visitor = new Visitor(portal.url);
    const csrf = await visitor.csrf('/portal/sign-in');
    const cookie = `mergekey-signin=${visitor.cookie('mergekey-signin')!}`;
    for (const bytes of [[0xff], [0xc3, 0xa9], [0xef, 0xbf, 0xbd]]) {
      const body = Buffer.concat([Buffer.from(`_csrf=${csrf}&name=alice&password=`), Buffer.from(bytes)]);
      const response = await fetch(`${portal.url}/portal/sign-in`, {
        method: 'POST', redirect: 'manual', body, headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(response.status).toBe(400);
      expect(await response.text()).toContain('The request could not be read.');
    }
    // Percent-encoded bytes that are not UTF-8, or percent signs that encode nothing.
    for (const password of ['%FF', '%C3', '%E9t%E9', '%zz']) {
      const response = await fetch(`${portal.url}/portal/sign-in`, {
        method: 'POST', redirect: 'manual', body: `_csrf=${csrf}&name=alice&password=${password}`, headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(response.status).toBe(400);
      expect(await response.text()).toContain('The request could not be read.');
    }
    // A password percent-encoded as UTF-8, as a browser sends it, is read (and is wrong).
    const encoded = await fetch(`${portal.url}/portal/sign-in`, {
      method: 'POST', redirect: 'manual', body: `_csrf=${csrf}&name=alice&password=%C3%A9`, headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(encoded.status).toBe(401);
  });
});
