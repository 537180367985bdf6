// The same story as quickstart-portal.test.ts, through the CLI from a second terminal: the real
// `npm start` in a fresh temporary directory, then `mergekey` run as a child process in the clones
// the quickstart made for each person, exactly as its banner says. No GitHub token and no flag names
// the forge: each clone finds it (controller/github/local-forge.ts). alice asks, bob approves, the
// app gets a token; alice asks for an edit, bob rejects it with a reason and alice reads it; alice
// deactivates, bob approves and the token stops; alice reactivates, bob approves, tokens again.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startQuickstart, type QuickstartChild } from '../support/quickstart-child.ts';

const bin = fileURLToPath(new URL('../../cli/bin/mergekey.js', import.meta.url));

let quickstart: QuickstartChild;

beforeAll(async () => {
  quickstart = await startQuickstart();
}, 120_000);

afterAll(async () => {
  await quickstart?.remove();
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `mergekey ARGS` in `person`'s clone, with the environment the banner tells a second terminal to use. */
function mergekey(person: string, ...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: `${quickstart.dir}/people/${person}`, env: quickstart.cliEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => void (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Succeeds, or fails the test with what the command said. */
async function ok(person: string, ...args: string[]): Promise<string> {
  const run = await mergekey(person, ...args);
  expect(run, `mergekey ${args.join(' ')}`).toMatchObject({ code: 0, stderr: '' });
  return run.stdout;
}

/** RFC 7662, as the Orders API's own client (the demo's resource server) asks. */
async function introspect(token: string): Promise<unknown> {
  const api = quickstart.demo.applications['orders-api']!;
  const response = await fetch(`${quickstart.url}/oauth2/introspect`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${api.clientId}:${api.clientSecrets![0]}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }).toString(),
  });
  expect(response.status).toBe(200);
  return response.json();
}

describe('npm start, then the whole story with the CLI', () => {
  it('alice asks, bob approves, a token; an edit rejected with a reason; deactivated, the token stops; reactivated; stopped, the clones say so; started again, nothing lost', { timeout: 240_000 }, async () => {
    // alice asks for an application from her clone.
    const created = await ok('alice', 'app', 'create', 'billing', '--description', 'Bills customers every month.', '--scopes', 'orders:read');
    expect(created).toMatch(/^Opened create request #1 for billing: http:\/\/127\.0\.0\.1:\d+\/web\/demo\/manifests\/pull\/1\n/);
    const clientId = /client id: +(\S+)/.exec(created)![1]!;

    // bob, a publisher, sees it in his queue with the check run on his machine, and approves it;
    // the controller applies the merge (sync: now, not at the next poll).
    expect(await ok('bob', 'review', 'list')).toMatch(
      /^#1 {2}create billing {2}asked by alice-martin, opened \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n {6}Create application billing\n {6}description: Bills customers every month\.\n {6}head: [0-9a-f]{12}\n {6}check: allowed\n/,
    );
    expect(await ok('bob', 'review', 'approve', '1')).toMatch(/^Approved and merged #1 \(Create application billing\) as [0-9a-f]{12}; the check, run here, allowed it\.\n$/);
    await ok('bob', 'sync');
    const first = JSON.parse(await ok('alice', 'token', 'get', 'billing', '--format', 'json')) as { access_token: string; scope: string };
    expect(first.scope).toBe('orders:read');
    expect(await introspect(first.access_token)).toMatchObject({ active: true, client_id: clientId, scope: 'orders:read' });

    // alice asks for an edit; bob rejects it with a reason; alice reads who, when and why.
    expect(await ok('alice', 'app', 'edit', 'billing', '--description', 'Bills customers every week.')).toMatch(/^Opened edit request #2 for billing: /);
    expect(await ok('bob', 'review', 'reject', '2', '--reason', 'Weekly bills confuse customers; keep them monthly.')).toMatch(
      /^Rejected #2 \(Edit application billing \(description\)\): http:\/\/127\.0\.0\.1:\d+\/web\/demo\/manifests\/pull\/2#issuecomment-\d+\n$/,
    );
    const shown = await ok('alice', 'app', 'show', 'billing');
    expect(shown).toMatch(/^billing: approved, active \(on main with state active\)\n\nOverview\n  Description    Bills customers every month\.\n/);
    const at = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ';
    expect(shown).toMatch(new RegExp(
      '\\n\\nRequests\\n' +
      `  #2 edit, asked by alice-martin: rejected by bob-okafor at ${at}\\n` +
      '      Reason: Weekly bills confuse customers; keep them monthly\\.\\n' +
      `  #1 create, asked by alice-martin: approved by bob-okafor at ${at}\\n` +
      '\\nActions\\n' +
      '  Edit           mergekey app edit billing\\n' +
      '  Deactivate     mergekey app deactivate billing\\n' +
      '  Rotate secret  mergekey app edit billing --rotate-secret\\n' +
      '  Ask again      mergekey app ask-again billing\\n',
    ));

    // alice deactivates; bob approves; the token stops at once, and no new one is issued.
    expect(await ok('alice', 'app', 'deactivate', 'billing')).toMatch(/^Opened deactivate request #3 for billing: /);
    await ok('bob', 'review', 'approve', '3');
    await ok('bob', 'sync');
    expect(await introspect(first.access_token)).toEqual({ active: false });
    const credentials = quickstart.cliEnv.MERGEKEY_CREDENTIALS;
    expect(await mergekey('alice', 'token', 'get', 'billing')).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'mergekey: the token endpoint refused (401 invalid_client: the application is inactive)\n' +
        `The server did not accept the credentials saved for billing in ${credentials}: the secret may have been rotated or the application may be inactive, ` +
        'or its manifest may name another tokenEndpointAuthMethod (see --auth-method).\n',
    });

    // alice asks for reactivation; bob approves; billing gets tokens again, the old one stays dead.
    expect(await ok('alice', 'app', 'reactivate', 'billing')).toMatch(/^Opened reactivate request #4 for billing: /);
    await ok('bob', 'review', 'approve', '4');
    await ok('bob', 'sync');
    const again = JSON.parse(await ok('alice', 'token', 'get', 'billing', '--format', 'json')) as { access_token: string };
    expect(await introspect(again.access_token)).toMatchObject({ active: true, client_id: clientId });
    expect(await introspect(first.access_token)).toEqual({ active: false });

    // Ctrl-C (here SIGTERM) stops the server and the forge, and the clones' pointer to it goes.
    const forgeFile = `${quickstart.dir}/forge.json`;
    expect(existsSync(forgeFile)).toBe(true);
    await quickstart.stop();
    expect(existsSync(forgeFile)).toBe(false);
    // And a clone says so, rather than reaching for GitHub.
    expect(await mergekey('alice', 'app', 'list')).toEqual({
      code: 1,
      stdout: '',
      stderr:
        `mergekey: this clone works with the quickstart's local forge, which is not running (${forgeFile} is missing)\n` +
        'Start it with `npm start` (`mergekey quickstart`) in the Mergekey checkout, and keep it running.\n',
    });

    // Started again, it reuses everything, the requests included.
    quickstart = await startQuickstart(quickstart.temp);
    expect(quickstart.banner).toContain('(from an earlier run)');
    expect(await ok('alice', 'app', 'show', 'billing')).toMatch(
      /\n\nRequests\n {2}#4 reactivate, asked by alice-martin: approved by bob-okafor at .+\n {2}#3 deactivate, asked by alice-martin: approved by bob-okafor at /,
    );
  });
});
