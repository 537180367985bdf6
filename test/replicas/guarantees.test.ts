// The guarantees of several replicas (issue 13, README "Running several replicas"), each proved on
// two real `mergekey serve --state postgres://…` processes with their own data directories, the
// same keys/, the same git repository and the same PostgreSQL (test/support/replicas.ts), driven
// through oauth4webapi. Replica A runs two workers, B one process. The confirmations of merged
// requests (guarantee 7) and the faults have files of their own.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METERED_PER_MINUTE, type Answer, type Replica, type ReplicaSet } from '../support/replicas.ts';
import { startReplicas } from '../support/replicas.ts';
import { waitFor } from '../support/server.ts';

let replicas: ReplicaSet;
let a: Replica;
let b: Replica;

beforeAll(async () => {
  replicas = await startReplicas();
  ({ a, b } = replicas);
}, 120_000);

afterAll(async () => {
  await replicas?.close();
});

/** The i-th of several requests goes to A when i is even, to B when odd. */
const spread = (i: number) => (i % 2 === 0 ? a : b);
const statuses = (answers: readonly Answer[]) => answers.map((answer) => answer.status);
const signIn = (on: Replica) => on.token('mobile', 'password', { username: 'alice', password: replicas.passwords.alice, scope: 'orders:read' });
const billingToken = (on: Replica) => on.token('billing', 'client_credentials', { scope: 'orders:read' });

/** What A and B each answer when the resource server introspects `token`. */
async function introspectedOnBoth(token: string): Promise<[Record<string, unknown>, Record<string, unknown>]> {
  return [await a.introspect(token), await b.introspect(token)];
}

const inactive = { active: false };

describe('1. a refresh token is exchanged at most once across the replicas', () => {
  it('20 concurrent refreshes of one token, spread over both: exactly one 200, and the family is revoked on both', { timeout: 60_000 }, async () => {
    const signedIn = await signIn(a);
    expect(signedIn.status).toBe(200);
    const refreshToken = signedIn.body.refresh_token as string;
    const accessToken = signedIn.body.access_token as string;
    expect((await introspectedOnBoth(accessToken)).map((answer) => answer.active)).toEqual([true, true]);

    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => spread(i).token('mobile', 'refresh_token', { refresh_token: refreshToken })));
    const winners = answers.filter((answer) => answer.status === 200);
    expect(winners).toHaveLength(1);
    const refused = { status: 400, error: 'invalid_grant', error_description: 'the refresh token is invalid, expired or revoked' };
    expect(answers.filter((answer) => answer.status !== 200).map((answer) => ({ status: answer.status, ...answer.body }))).toEqual(Array(19).fill(refused));

    // Every loser presented a spent token: a replay, which revokes the whole family (RFC 9700
    // section 4.14.2), the winner's new tokens included, on both replicas.
    const winner = winners[0]!.body;
    expect(await introspectedOnBoth(accessToken)).toEqual([inactive, inactive]);
    expect(await introspectedOnBoth(winner.access_token as string)).toEqual([inactive, inactive]);
    for (const on of [a, b]) expect((await on.token('mobile', 'refresh_token', { refresh_token: winner.refresh_token as string })).status).toBe(400);
  });

  it('a refresh token rotated on A and replayed on B revokes the family: its access tokens introspect inactive on both', { timeout: 60_000 }, async () => {
    const signedIn = (await signIn(a)).body;
    const rotated = await a.token('mobile', 'refresh_token', { refresh_token: signedIn.refresh_token as string });
    expect(rotated.status).toBe(200);
    const accessTokens = [signedIn.access_token as string, rotated.body.access_token as string];
    for (const token of accessTokens) expect((await introspectedOnBoth(token)).map((answer) => answer.active)).toEqual([true, true]);

    const replay = await b.token('mobile', 'refresh_token', { refresh_token: signedIn.refresh_token as string });
    expect([replay.status, replay.body.error]).toEqual([400, 'invalid_grant']);
    for (const token of accessTokens) expect(await introspectedOnBoth(token)).toEqual([inactive, inactive]);
    // The token it had been rotated into is dead too, on the replica that issued it.
    expect((await a.token('mobile', 'refresh_token', { refresh_token: rotated.body.refresh_token as string })).body.error).toBe('invalid_grant');
    // Alice signs in again and gets a new family.
    expect((await signIn(b)).status).toBe(200);
  });
});

describe('2. a client assertion jti is accepted once across the replicas', () => {
  it('one assertion presented 20 times at once, spread over both: exactly one token', { timeout: 60_000 }, async () => {
    const assertion = await replicas.signerAssertion(`jti-${crypto.randomUUID()}`);
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => spread(i).token('signer', 'client_credentials', { scope: 'orders:read', client_assertion: assertion })),
    );
    expect(statuses(answers).filter((status) => status === 200)).toHaveLength(1);
    const used = { status: 401, error: 'invalid_client', error_description: 'the client assertion was already used' };
    expect(answers.filter((answer) => answer.status !== 200).map((answer) => ({ status: answer.status, ...answer.body }))).toEqual(Array(19).fill(used));
    // Another assertion of the same client is taken on either replica.
    for (const on of [a, b]) expect((await on.token('signer', 'client_credentials', { scope: 'orders:read' })).status).toBe(200);
  });
});

describe('3. a token revoked through one replica is inactive on every replica once the revocation is answered', () => {
  it('access tokens issued by either replica, revoked through the other, introspect inactive on both at once', { timeout: 60_000 }, async () => {
    const issued = await Promise.all([billingToken(a), billingToken(b), billingToken(a), billingToken(b)]);
    const tokens = issued.map((answer) => answer.body.access_token as string);
    for (const token of tokens) expect((await introspectedOnBoth(token)).map((answer) => answer.active)).toEqual([true, true]);
    for (const [i, token] of tokens.entries()) {
      // Revoked through the replica that did not issue it; asked at once, with no wait, on both.
      expect(await (i % 2 === 0 ? b : a).revoke('billing', token)).toBe(200);
      expect(await introspectedOnBoth(token)).toEqual([inactive, inactive]);
    }
  });

  it('a refresh token revoked through B cannot be exchanged on A', { timeout: 60_000 }, async () => {
    const signedIn = (await signIn(a)).body;
    expect(await b.revoke('mobile', signedIn.refresh_token as string)).toBe(200);
    expect((await a.token('mobile', 'refresh_token', { refresh_token: signedIn.refresh_token as string })).body.error).toBe('invalid_grant');
  });
});

describe('5. a plan\'s rate limit holds across the replicas', () => {
  it('token requests of one application, alternating between the replicas: the plan\'s allowance in all, then 429 with Retry-After on both', { timeout: 60_000 }, async () => {
    const answers: Answer[] = [];
    for (let i = 0; i < METERED_PER_MINUTE + 4; i++) {
      answers.push(await spread(i).token('metered', 'client_credentials', { scope: 'orders:read' }));
      // Longer than the documented bound for a replica to count what another allowed (the 50 ms
      // exchange, then NOTIFY): each request is decided with every earlier one known.
      await sleep(300);
    }
    // Alone, each replica would allow the whole allowance: 10 answers of 200.
    expect(statuses(answers)).toEqual([...Array(METERED_PER_MINUTE).fill(200), 429, 429, 429, 429]);
    for (const answer of answers.slice(METERED_PER_MINUTE)) {
      expect(answer.body).toMatchObject({ error: 'slow_down' });
      expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
    }
  });
});

describe('6. a portal session made on one replica works on the other', () => {
  /** A GET or POST with `cookies`, not following redirects. */
  const visit = (on: Replica, path: string, cookies: string[], form?: Record<string, string>) =>
    fetch(`${on.url}${path}`, {
      method: form === undefined ? 'GET' : 'POST',
      redirect: 'manual',
      headers: { cookie: cookies.join('; '), ...(form === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }) },
      ...(form === undefined ? {} : { body: new URLSearchParams(form).toString() }),
    });
  const cookiesOf = (response: Response) => response.headers.getSetCookie().map((header) => header.split(';')[0]!);
  const csrfOf = (html: string) => /name="_csrf" value="([^"]*)"/.exec(html)![1]!;

  it('signed in on A: B shows alice her applications; signed out on B: A no longer knows the session', { timeout: 60_000 }, async () => {
    const form = await visit(a, '/portal/sign-in', []);
    const presession = cookiesOf(form);
    const signedIn = await visit(a, '/portal/sign-in', presession, { _csrf: csrfOf(await form.text()), name: 'alice', password: replicas.passwords.alice });
    expect([signedIn.status, signedIn.headers.get('location')]).toEqual([303, '/portal/apps']);
    const session = cookiesOf(signedIn).filter((cookie) => cookie.startsWith('mergekey-session='));
    expect(session).toHaveLength(1);

    const onB = await visit(b, '/portal/apps', session);
    expect(onB.status).toBe(200);
    const page = await onB.text();
    expect(page).toContain('alice');
    // Without the cookie, B sends the browser to sign in: the page above was alice's session.
    expect((await visit(b, '/portal/apps', [])).status).toBe(303);

    const signedOut = await visit(b, '/portal/sign-out', session, { _csrf: csrfOf(page) });
    expect([signedOut.status, signedOut.headers.get('location')]).toEqual([303, '/portal/sign-in?signed-out=1']);
    const onA = await visit(a, '/portal/apps', session);
    expect([onA.status, onA.headers.get('location')]).toEqual([303, expect.stringMatching(/^\/portal\/sign-in/)]);
  });
});

describe('4. once a replica has applied a deactivation, no replica issues to the app beyond the propagation bound', () => {
  it('a deactivating commit delivered to A alone stops B too, and every token of the app is inactive on both', { timeout: 60_000 }, async () => {
    const before = [(await billingToken(a)).body.access_token as string, (await billingToken(b)).body.access_token as string];
    const commit = await replicas.setState('billing', 'inactive');
    expect(await a.deliverPush(commit)).toMatchObject({ status: 202, body: { result: 'accepted' } });

    // B was told nothing (no webhook, polling off): it learns from A, through PostgreSQL. Its
    // answers until then are kept; the bound itself is measured by `npm run bench:replicas`.
    // Asked every 25 ms or so, far below the plan's rate limit.
    const fromB: Answer[] = [];
    await waitFor(async () => {
      await sleep(25);
      fromB.push(await billingToken(b));
      return fromB.at(-1)!.status !== 200;
    }, 'B to stop issuing to billing', 20_000);
    expect(fromB.at(-1)).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect(await billingToken(a)).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    await waitFor(async () => (await b.appliedCommit()) === commit, 'B to report the commit applied');

    const issuedMeanwhile = fromB.filter((answer) => answer.status === 200).map((answer) => answer.body.access_token as string);
    for (const token of [...before, ...issuedMeanwhile]) expect(await introspectedOnBoth(token)).toEqual([inactive, inactive]);
  });

  it('tokens a lagging replica issued after another had applied the deactivation introspect inactive everywhere', { timeout: 60_000 }, async () => {
    // Reactivated, through B alone this time; A follows.
    const reactivated = await replicas.setState('billing', 'active');
    expect((await b.deliverPush(reactivated)).status).toBe(202);
    await waitFor(async () => (await billingToken(a)).status === 200, 'A to issue to billing again', 20_000);

    // A lags: its primary, which reconciles, is stopped; its two workers go on serving from
    // what A applied last. B applies the deactivation.
    const primary = a.child.proc.pid!;
    process.kill(primary, 'SIGSTOP');
    try {
      const commit = await replicas.setState('billing', 'inactive');
      expect((await b.deliverPush(commit)).status).toBe(202);
      await waitFor(async () => (await b.appliedCommit()) === commit, 'B to apply the deactivation');
      expect((await billingToken(b)).status).toBe(401);

      // A still issues (it has not applied the commit): tokens of the inactive period.
      const lagging = [await billingToken(a), await billingToken(a)];
      expect(statuses(lagging)).toEqual([200, 200]);
      const tokens = lagging.map((answer) => answer.body.access_token as string);
      // B knows the deactivation's cut-off, and the tokens were issued under an older generation.
      for (const token of tokens) expect(await b.introspect(token)).toEqual(inactive);
      process.kill(primary, 'SIGCONT');
      await waitFor(async () => (await billingToken(a)).status === 401, 'A to apply the deactivation', 20_000);
      for (const token of tokens) expect(await introspectedOnBoth(token)).toEqual([inactive, inactive]);
    } finally {
      process.kill(primary, 'SIGCONT');
    }
  });
});
