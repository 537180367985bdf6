// `mergekey serve` with its store on a file system that fills up: the token endpoint answers 503
// temporarily_unavailable with Retry-After (RFC 6749 section 4.1.2.1's code), /readyz on the
// operator listener turns false (in the primary too, for a worker's store), no process exits, and service returns by itself once space is freed.
//
// Real processes over HTTP, with the store on a small tmpfs. Mounting needs root (CI runs as
// root); elsewhere the test is skipped and says why.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sealedRepo, serveChild, type SealedRepo, type ServeChild } from '../../test/support/serve-child.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

/** One request on a connection of its own, so that consecutive ones reach each worker in turn. */
function call(url: string, options: { method?: string; form?: Record<string, string>; basic?: { id: string; secret: string } } = {}): Promise<Answer> {
  const body = options.form === undefined ? undefined : new URLSearchParams(options.form).toString();
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: options.method ?? 'GET',
      agent: false,
      headers: {
        connection: 'close',
        ...(body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }),
        ...(options.basic === undefined ? {} : { authorization: `Basic ${Buffer.from(`${options.basic.id}:${options.basic.secret}`).toString('base64')}` }),
      },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(Buffer.concat(chunks).toString() || 'null') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Mounts a tmpfs of `size` on `dir`, or says why it cannot. */
function mountTmpfs(dir: string, size: string): string | undefined {
  if (process.getuid?.() !== 0) return 'not running as root, so no tmpfs can be mounted';
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error) {
    return `mount -t tmpfs failed: ${String((error as { stderr?: Buffer }).stderr ?? error).trim()}`;
  }
  cleanups.push(() => {
    try {
      execFileSync('umount', [dir], { stdio: 'pipe' });
    } catch {
      // Still busy (a process that would not stop): detach it now, it goes when they do.
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
    }
  });
  return undefined;
}

/** Fills the file system holding `dir` to the last byte. */
function fill(file: string): void {
  try {
    writeFileSync(file, Buffer.alloc(64 * 1024 * 1024));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  }
}

const UNAVAILABLE = { error: 'temporarily_unavailable', error_description: 'the server cannot store tokens now; retry later' };

async function diskFull(workers: number, skip: (reason: string) => void): Promise<void> {
  const f: SealedRepo = await sealedRepo();
  cleanups.push(() => f.remove());
  // Hundreds of tokens are issued below; the default plan would throttle them.
  await f.repo.commit({ 'plans/standard.yaml': 'apiVersion: mergekey/v1\nkind: Plan\nmetadata:\n  name: standard\nspec:\n  description: The default plan.\n  tokenRequestsPerMinute: 1000000\n' });
  const storeDir = join(f.data, 'store');
  const why = mountTmpfs(storeDir, '4m');
  if (why !== undefined) {
    console.warn(`disk-full test skipped: ${why}`);
    return skip(why);
  }
  const server: ServeChild = serveChild(['--repo', f.repo.path, '--data', f.data, '--port', '0', '--poll', '0', '--workers', String(workers)]);
  cleanups.push(() => server.stop());
  const url = await server.url();
  const adminUrl = await server.adminUrl();
  const billing = { id: f.clients.billing!.clientId, secret: f.clients.billing!.secret };
  const token = () => call(`${url}/oauth2/token`, { method: 'POST', form: { grant_type: 'client_credentials', scope: 'orders:read' }, basic: billing });
  const ready = () => call(`${adminUrl}/readyz`);
  /** True once `n` consecutive calls (so every worker, in turn) answered `status`; polls, asserts no time. */
  const allAnswer = async (ask: () => Promise<Answer>, status: number, n: number, limit: number, pauseMs = 0) => {
    for (let tries = 0, streak = 0; tries < limit; tries++) {
      streak = (await ask()).status === status ? streak + 1 : 0;
      if (streak === n) return true;
      if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
    return false;
  };
  expect(await allAnswer(ready, 200, workers, 1000, 20)).toBe(true);
  const first = await token();
  expect(first.status).toBe(200);
  const pids = server.lines.filter((line) => /serving on|\(pid \d+\) serving/.test(line)).length;

  const filler = join(storeDir, 'filler');
  fill(filler);
  // The tokens' records are written in the background: the first that cannot be written makes
  // the worker refuse the next request. Until then LMDB may still reuse free pages of its file.
  expect(await allAnswer(token, 503, 2 * workers, 5000)).toBe(true);
  const refused = await token();
  expect(refused.status).toBe(503);
  expect(refused.body).toEqual(UNAVAILABLE);
  expect(refused.headers['retry-after']).toBe('5');
  expect(refused.headers['cache-control']).toBe('no-store');
  // Revocation needs a durable write of its own. LMDB may still find a free page of its file for
  // so small a write (then it is revoked); if not, the answer is RFC 7009's 503, never a 500.
  const revoked = await call(`${url}/oauth2/revoke`, { method: 'POST', form: { token: (first.body as { access_token: string }).access_token }, basic: billing });
  if (revoked.status === 503) expect([revoked.body, revoked.headers['retry-after']]).toEqual([UNAVAILABLE, '5']);
  else expect(revoked.status).toBe(200);
  for (let i = 0; i < workers; i++) {
    const answer = await ready();
    expect(answer.status).toBe(503);
    expect(answer.body).toMatchObject({ ready: false, message: expect.stringMatching(/^the store cannot write: /) });
  }

  rmSync(filler);
  // The store tries a write again by itself (every second): no request is needed to recover.
  expect(await allAnswer(ready, 200, 2 * workers, 1000, 20)).toBe(true);
  expect((await token()).status).toBe(200);

  // Every process is the one that started: none exited, none was restarted.
  expect(server.proc.exitCode).toBeNull();
  expect(server.lines.filter((line) => /serving on|\(pid \d+\) serving/.test(line)).length).toBe(pids);
  expect(server.lines.filter((line) => /exited with|Unhandled|uncaught/i.test(line))).toEqual([]);
}

describe('mergekey serve on a full disk', () => {
  it('answers 503 with Retry-After, is not ready, stays up and recovers (--workers 1)', { timeout: 120_000 }, async (context) => {
    await diskFull(1, (reason) => context.skip(reason));
  });

  it('answers 503 with Retry-After, is not ready, stays up and recovers (--workers 2)', { timeout: 120_000 }, async (context) => {
    await diskFull(2, (reason) => context.skip(reason));
  });
});
