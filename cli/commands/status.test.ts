import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main, type Io } from '../main.ts';
import { adminUrl } from './status.ts';
import { startTestServer, type TestServer } from '../../test/support/server.ts';

function capture(): Io & { out: string; err: string } {
  const io = { out: '', err: '', stdout: (t: string) => void (io.out += t), stderr: (t: string) => void (io.err += t) };
  return io;
}

describe('mergekey status and mergekey sync against a running controller', () => {
  let t: TestServer;
  let url: string;
  beforeAll(async () => {
    t = await startTestServer();
    // The operator listener: status and sync are not on the public one.
    url = t.server.adminUrl;
  });
  afterAll(() => t.stop());

  it('prints a summary and exits 0 when everything is Ready', async () => {
    const io = capture();
    expect(await main(['status', '--admin', url], io)).toBe(0);
    const commit = t.server.reconciler.status().lastApplied!.commit;
    expect(io.out).toContain(`Repository  ${t.repo.path} (branch main)`);
    expect(io.out).toMatch(/^Ready {7}True: up to date$/m);
    expect(io.out).toContain(`Applied     ${commit.slice(0, 12)} at `);
    expect(io.out).toMatch(/^Objects {5}4 total, 4 ready, 0 not ready$/m);
    expect(io.out).toContain('(4 ready objects not listed; --all lists them)');
  });

  it('syncs on request, then lists the object that is not Ready with file:line:column and exits 1', async () => {
    const commit = await t.commit({ 'apps/reports.yaml': (await t.app('reports')).replace('owners: [alice]', 'owners: [alice, nobody]') });
    const sync = capture();
    expect(await main(['sync', '--admin', url], sync)).toBe(0);
    expect(sync.out).toMatch(new RegExp(`^applied ${commit.slice(0, 12)} in \\d+ ms\\n$`));

    const io = capture();
    expect(await main(['status', '--admin', url], io)).toBe(1);
    expect(io.out).toContain(
      `Ready       False: commit ${commit.slice(0, 12)} is applied except apps/reports.yaml (NotApplied): ` +
        'each keeps its last good version, or is not served if it never had one (see its problems)\n',
    );
    const row = io.out.split('\n').find((line) => line.startsWith('apps/reports.yaml'))!;
    expect(row).toMatch(/^apps\/reports\.yaml +Application +False +Invalid +apps\/reports\.yaml:7:\d+: /);

    const json = capture();
    await main(['status', '--admin', url, '--format', 'json'], json);
    expect(JSON.parse(json.out)).toMatchObject({ lastApplied: { commit }, objects: { total: 5, notReady: 1 } });
  });

  it('says clearly when no controller answers', async () => {
    // A port that was just free: nothing listens there.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const io = capture();
    expect(await main(['status', '--admin', `http://127.0.0.1:${port}`], io)).toBe(1);
    expect(io.err).toBe(
      `mergekey: cannot reach the controller at http://127.0.0.1:${port}: ECONNREFUSED\n` +
        'Is `mergekey serve` running there? Set --admin or MERGEKEY_ADMIN_URL.\n',
    );
    const usage = capture();
    expect(await main(['sync', '--admin', 'ftp://x'], usage)).toBe(2);
    expect(usage.err).toContain("--admin must be an http(s) URL (got 'ftp://x')");
  });

  it('defaults to the operator listener, and says so when pointed at the public one', async () => {
    expect(adminUrl(undefined, {})).toBe('http://127.0.0.1:9000');
    expect(adminUrl(undefined, { MERGEKEY_ADMIN_URL: 'http://10.0.0.5:9000', MERGEKEY_SERVER: 'http://elsewhere:8080' })).toBe('http://10.0.0.5:9000');
    for (const argv of [['status', '--admin', t.server.url], ['sync', '--admin', t.server.url]]) {
      const io = capture();
      expect(await main(argv, io)).toBe(1);
      const [method, path] = argv[0] === 'status' ? ['GET', '/api/v1/status'] : ['POST', '/api/v1/sync'];
      expect(io.err).toBe(
        `mergekey: ${method} ${path} answered 404 at ${t.server.url}: is it the public listener? Status and sync are on the operator listener\n` +
          "Set --admin or MERGEKEY_ADMIN_URL to mergekey serve's --admin-host and --admin-port (default http://127.0.0.1:9000).\n",
      );
    }
  });
});
