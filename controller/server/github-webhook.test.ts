// POST /webhooks/github, as GitHub's "Validating webhook deliveries" documents it: HMAC-SHA256 of
// the raw body under the shared secret, in X-Hub-Signature-256, compared in constant time.
import { afterEach, describe, expect, it } from 'vitest';
import { pushPayload, sign, startTestServer, waitFor, type TestServer } from '../../test/support/server.ts';

const running: TestServer[] = [];
afterEach(async () => {
  for (const t of running.splice(0)) await t.stop();
});

async function serve(webhook: boolean): Promise<TestServer> {
  const t = await startTestServer({ webhook });
  running.push(t);
  return t;
}

function deliver(t: TestServer, body: string, headers: Record<string, string> = {}) {
  return t.server.app.inject({
    method: 'POST',
    url: '/webhooks/github',
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'push',
      'x-github-delivery': crypto.randomUUID(),
      'x-hub-signature-256': sign(t.webhookSecret!, body),
      ...headers,
    },
    payload: body,
  });
}

/** How many reconciles have run, from the duration histogram's counts. */
async function runs(t: TestServer): Promise<number> {
  const body = (await t.server.admin.inject({ url: '/metrics' })).body;
  const counts = body.match(/^mergekey_reconcile_duration_seconds_count\{result="\w+"\} \d+$/gm) ?? [];
  return counts.reduce((sum, line) => sum + Number(line.split(' ')[1]), 0);
}

describe('GitHub push webhook', () => {
  it('refuses a missing or wrong signature with 401 before reading the body', async () => {
    const t = await serve(true);
    const body = pushPayload(t.repo.path);
    const wrong = await deliver(t, body, { 'x-hub-signature-256': sign('not-the-secret', body) });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json()).toEqual({ result: 'bad_signature', message: 'missing or wrong X-Hub-Signature-256' });
    const tampered = await deliver(t, body.replace('refs/heads/main', 'refs/heads/mainx'), { 'x-hub-signature-256': sign(t.webhookSecret!, body) });
    expect(tampered.statusCode).toBe(401);
    const missing = await t.server.app.inject({ method: 'POST', url: '/webhooks/github', headers: { 'content-type': 'application/json', 'x-github-event': 'push' }, payload: body });
    expect(missing.statusCode).toBe(401);
    const garbage = await deliver(t, body, { 'x-hub-signature-256': 'sha256=zz' });
    expect(garbage.statusCode).toBe(401);
  });

  it('takes a signature only in its exact form, sha256= and 64 hex digits, over real HTTP', async () => {
    const t = await serve(true);
    const body = pushPayload(t.repo.path);
    const good = sign(t.webhookSecret!, body);
    const post = async (headers: Record<string, string | string[]>) => {
      const response = await fetch(`${t.server.url}/webhooks/github`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-github-event': 'ping', 'x-github-delivery': crypto.randomUUID(), ...headers } as Record<string, string>,
        body,
      });
      return [response.status, await response.json()] as const;
    };
    const refused = [401, { result: 'bad_signature', message: 'missing or wrong X-Hub-Signature-256' }];
    // Buffer.from(hex) stops at the first character that is not hex and drops an odd last digit:
    // each of these decoded to the right 32 bytes.
    for (const value of [`${good}zz`, `${good}0`, `${good}, sha256=${'0'.repeat(64)}`, `${good} trailing`]) {
      expect(await post({ 'x-hub-signature-256': value })).toEqual(refused);
    }
    // GitHub's older SHA-1 header alone is not enough, nor a prefix in another case.
    const sha1 = `sha1=${(await import('node:crypto')).createHmac('sha1', t.webhookSecret!).update(body).digest('hex')}`;
    expect(await post({ 'x-hub-signature': sha1 })).toEqual(refused);
    expect(await post({ 'x-hub-signature-256': good.replace('sha256=', 'SHA256=') })).toEqual(refused);
    // The exact form, in either case of hex digit, is accepted.
    expect(await post({ 'x-hub-signature-256': good })).toEqual([200, { result: 'ping', message: 'pong' }]);
    expect(await post({ 'x-hub-signature-256': `sha256=${good.slice(7).toUpperCase()}` })).toEqual([200, { result: 'ping', message: 'pong' }]);
  });

  it('reconciles on a signed push to the followed branch, and ignores a redelivery', async () => {
    const t = await serve(true);
    const before = await runs(t);
    const commit = await t.commit({ 'apps/reports.yaml': await t.app('reports') });
    const body = pushPayload(t.repo.path, { after: commit });
    const delivery = crypto.randomUUID();
    const accepted = await deliver(t, body, { 'x-github-delivery': delivery });
    expect(accepted.statusCode).toBe(202);
    expect(accepted.json()).toEqual({ result: 'accepted', message: `push ${commit.slice(0, 12)} to refs/heads/main: reconcile triggered` });
    await waitFor(() => t.server.reconciler.status().lastApplied?.commit === commit, 'the pushed commit to be applied');
    expect(t.server.reconciler.status().lastAttempt?.trigger).toBe('webhook');
    expect(await runs(t)).toBe(before + 1);

    const again = await deliver(t, body, { 'x-github-delivery': delivery });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ result: 'duplicate', message: `delivery ${delivery} was already handled` });
    expect(await runs(t)).toBe(before + 1);
  });

  it('accepts GitHub form-encoded payloads', async () => {
    const t = await serve(true);
    const body = `payload=${encodeURIComponent(pushPayload(t.repo.path))}`;
    const response = await deliver(t, body, { 'content-type': 'application/x-www-form-urlencoded' });
    expect(response.statusCode).toBe(202);
  });

  it('ignores other branches, other repositories and other events, and answers ping', async () => {
    const t = await serve(true);
    const before = await runs(t);
    const branch = await deliver(t, pushPayload(t.repo.path, { ref: 'refs/heads/feature' }));
    expect(branch.json()).toEqual({ result: 'ignored_branch', message: 'push to refs/heads/feature, not refs/heads/main: ignored' });
    const tag = await deliver(t, pushPayload(t.repo.path, { ref: 'refs/tags/main' }));
    expect(tag.json().result).toBe('ignored_branch');
    const other = await deliver(t, pushPayload(t.repo.path, { cloneUrl: 'https://github.com/evil/manifests.git' }));
    expect(other.json()).toEqual({ result: 'ignored_repository', message: 'push to acme/manifests: ignored' });
    const issues = await deliver(t, '{}', { 'x-github-event': 'issues' });
    expect(issues.json()).toEqual({ result: 'ignored_event', message: 'event issues is not handled' });
    const ping = await deliver(t, JSON.stringify({ zen: 'Keep it logically awesome.' }), { 'x-github-event': 'ping' });
    expect([ping.statusCode, ping.json()]).toEqual([200, { result: 'ping', message: 'pong' }]);
    expect(await runs(t)).toBe(before);
    const metrics = (await t.server.admin.inject({ url: '/metrics' })).body;
    expect(metrics).toMatch(/^mergekey_webhook_deliveries_total\{result="ignored_branch"\} 2$/m);
    expect(metrics).toMatch(/^mergekey_webhook_deliveries_total\{result="ping"\} 1$/m);
  });

  it('refuses a body over 1 MiB', async () => {
    const t = await serve(true);
    const body = JSON.stringify({ ref: 'refs/heads/main', padding: 'x'.repeat(1024 * 1024) });
    const response = await deliver(t, body);
    expect(response.statusCode).toBe(413);
  });

  it('does not exist without a configured secret', async () => {
    const t = await serve(false);
    const response = await t.server.app.inject({ method: 'POST', url: '/webhooks/github', headers: { 'content-type': 'application/json' }, payload: '{}' });
    expect(response.statusCode).toBe(404);
  });
});
