// Which client secret `mergekey token get|list|revoke` send: during a rotation, the one that works
// (without a refused request first); a secret given on stdin or typed at the prompt for an
// application whose secret is not saved (made in the portal), kept with --save. Against a real
// controller over loopback, the real executable for stdin.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, TEST_ISSUER, type TestServer } from '../../../test/support/server.ts';
import { readCredentials } from '../../credentials.ts';
import { CliError } from '../../errors.ts';
import { keepCredential, secretsToTry } from '../../request-credentials.ts';
import { tokenGet } from './get.ts';
import { tokenList } from './list.ts';
import { tokenRevoke } from './revoke.ts';
import { secretInput } from './secret-input.ts';

const DAY = 86_400_000;
let t: TestServer;
let dir: string;

beforeAll(async () => {
  t = await startTestServer();
  dir = mkdtempSync(join(tmpdir(), 'mergekey-token-secrets-'));
});

afterAll(async () => {
  await t.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function sync(): Promise<void> {
  expect((await fetch(`${t.server.adminUrl}/api/v1/sync?wait=true`, { method: 'POST' })).status).toBe(200);
}

/** Commits `apps/NAME.yaml` with a new sealed secret and applies it; answers the secret. */
async function publish(name: string): Promise<{ yaml: string; secret: string }> {
  const yaml = await t.app(name);
  return { yaml, secret: t.plaintexts.at(-1)! };
}

/** Client authentications the token endpoint and the listing refused so far (each is logged). */
function refusals(): number {
  return t.logs.filter((line) => /"statusCode":401\b/.test(line)).length;
}

async function failureOf(promise: Promise<unknown>): Promise<CliError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  if (!(error instanceof CliError)) throw new Error(`expected a CliError, got ${String(error)}`);
  return error;
}

/** The real executable, as a user runs it, with `input` on its stdin (a pipe, not a terminal). */
function cli(args: string[], input: string, env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  const bin = new URL('../../bin/mergekey.js', import.meta.url).pathname;
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [bin, ...args], { env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr });
    });
    child.stdin!.end(input);
  });
}

describe('secretsToTry: the saved secret that works first, decided without a request', () => {
  const at = Date.parse('2026-12-14T12:00:00Z');
  const rotating = { clientId: 'c', createdAt: '2026-12-07T12:00:00Z', clientSecret: 'new', previousClientSecret: 'old', request: 4 };
  it.each([
    ['no rotation', { clientId: 'c', createdAt: '2026-12-07T12:00:00Z', clientSecret: 'only' }, at, ['only']],
    ['a private_key_jwt application', { clientId: 'c', createdAt: '2026-12-07T12:00:00Z' }, at, []],
    ['a rotation, before the old secret expires', { ...rotating, previousExpiresAt: '2026-12-14T12:00:00Z' }, at - 1, ['old', 'new']],
    ['a rotation, once the old secret expired', { ...rotating, previousExpiresAt: '2026-12-14T12:00:00Z' }, at, ['new', 'old']],
    ['a rotation saved without its expiry', rotating, at, ['old', 'new']],
  ])('%s', (_case, credential, now, expected) => {
    expect(secretsToTry(credential, now)).toEqual(expected);
  });
});

describe('mergekey token during a secret rotation (app edit --rotate-secret)', () => {
  it('sends the secret that still works until the old one expires, then the new one, and no refused request on the way', async () => {
    const server = t.server.url;
    const old = await publish('rotating');
    await t.commit({ 'apps/rotating.yaml': old.yaml });
    await sync();
    const rotated = await publish('rotating');
    const oldExpiresAt = new Date(Date.now() + 7 * DAY).toISOString();
    const env = { MERGEKEY_CREDENTIALS: join(dir, 'rotation.json') };
    // What `mergekey app edit rotating --rotate-secret` keeps once its request #7 is open.
    keepCredential(env, TEST_ISSUER, 'rotating', {
      clientId: 'rotating-client-0001',
      clientSecret: rotated.secret,
      request: 7,
      previousClientSecret: old.secret,
      previousExpiresAt: oldExpiresAt,
    });
    const before = refusals();
    const beforeExpiry = () => Date.parse(oldExpiresAt) - DAY;

    // Awaiting approval: main holds the old secret alone, and the CLI sends it.
    expect(await tokenGet({ app: 'rotating', server, grant: 'client_credentials', env, now: beforeExpiry })).toMatchObject({ token_type: 'Bearer' });
    expect((await tokenList({ app: 'rotating', server, env })).tokens).toHaveLength(1);

    // Merged: main holds both, the old one with its expiry; the old one still goes first.
    const newSealed = /- sealed: (\S+)/.exec(rotated.yaml)![1]!;
    const both = old.yaml.replace(/(- sealed: \S+\n)/, `$1        expiresAt: ${oldExpiresAt}\n      - sealed: ${newSealed}\n`);
    await t.commit({ 'apps/rotating.yaml': both });
    await sync();
    expect(await tokenGet({ app: 'rotating', server, grant: 'client_credentials', env, now: beforeExpiry })).toMatchObject({ token_type: 'Bearer' });

    // Past the old secret's expiry main holds the new one alone, and the CLI sends that one first.
    await t.commit({ 'apps/rotating.yaml': rotated.yaml });
    await sync();
    const afterExpiry = () => Date.parse(oldExpiresAt) + 1;
    expect(await tokenGet({ app: 'rotating', server, grant: 'client_credentials', env, now: afterExpiry })).toMatchObject({ token_type: 'Bearer' });
    expect(refusals()).toBe(before);
  });

  it('falls back on the other saved secret when the controller refuses the first (a rotation rejected, past the old expiry)', async () => {
    const server = t.server.url;
    const current = await publish('rejected');
    await t.commit({ 'apps/rejected.yaml': current.yaml });
    await sync();
    const env = { MERGEKEY_CREDENTIALS: join(dir, 'rejected.json') };
    const oldExpiresAt = new Date(Date.now() - DAY).toISOString();
    keepCredential(env, TEST_ISSUER, 'rejected', {
      clientId: 'rejected-client-0001',
      clientSecret: 'the-rejected-rotation-never-merged',
      request: 8,
      previousClientSecret: current.secret,
      previousExpiresAt: oldExpiresAt,
    });
    const before = refusals();
    expect(await tokenGet({ app: 'rejected', server, grant: 'client_credentials', env })).toMatchObject({ token_type: 'Bearer' });
    expect(refusals()).toBe(before + 1);
    // Each command is refused once, then keeps the secret that worked for its next calls: revoke's
    // lookup of the masked id and its DELETE cost one refusal, not two.
    const listed = await tokenList({ app: 'rejected', server, env });
    expect(await tokenRevoke({ app: 'rejected', token: listed.tokens[0]!.masked, server, env })).toEqual({ app: 'rejected', id: listed.tokens[0]!.id });
    expect(refusals()).toBe(before + 3);
  });
});

describe('mergekey token with a secret that is not saved (an application made in the portal)', () => {
  it('takes the secret from stdin with --secret-stdin and --client-id, and keeps it with --save once it worked', async () => {
    const server = t.server.url;
    const app = await publish('portal-made');
    await t.commit({ 'apps/portal-made.yaml': app.yaml });
    await sync();
    const env = { MERGEKEY_CREDENTIALS: join(dir, 'portal.json') };

    const wrong = await cli(['token', 'get', 'portal-made', '--server', server, '--client-id', 'portal-made-client-0001', '--secret-stdin', '--save'], 'not-the-secret\n', env);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^mergekey: the token endpoint refused \(401 invalid_client: /);
    expect(readCredentials(env.MERGEKEY_CREDENTIALS).issuers).toEqual({});

    const saved = await cli(['token', 'list', 'portal-made', '--server', server, '--client-id', 'portal-made-client-0001', '--secret-stdin', '--save'], `${app.secret}\n`, env);
    expect(saved).toEqual({ code: 0, stdout: 'portal-made holds no live token.\n', stderr: '' });
    expect(readCredentials(env.MERGEKEY_CREDENTIALS).issuers[TEST_ISSUER]).toEqual({
      'portal-made': { clientId: 'portal-made-client-0001', clientSecret: app.secret, createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
    });
    // Nothing on stdin now: the saved secret is used.
    const got = await cli(['token', 'get', 'portal-made', '--server', server, '--format', 'token'], '', env);
    expect(got.code).toBe(0);
    expect(got.stdout).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+\n$/);
  });

  it('asks at the terminal when nothing is saved, without echo', async () => {
    const app = await publish('typed');
    await t.commit({ 'apps/typed.yaml': app.yaml });
    await sync();
    const env = { MERGEKEY_CREDENTIALS: join(dir, 'typed.json') };
    const terminal = Object.assign(new PassThrough(), { isTTY: true }) as unknown as NodeJS.ReadStream;
    const screen: string[] = [];
    const prompt = { write: (text: string | Buffer) => screen.push(String(text)) } as unknown as NodeJS.WriteStream;
    const secrets = await secretInput({ secretStdin: false, clientId: 'typed-client-0001', save: false }, terminal, prompt);
    setImmediate(() => (terminal as unknown as PassThrough).write(`${app.secret}\r`));
    expect(await tokenGet({ app: 'typed', server: t.server.url, grant: 'client_credentials', env, secrets })).toMatchObject({ token_type: 'Bearer' });
    expect(screen.join('')).toBe('Client secret of typed: \n');
    // Nothing was saved without --save.
    expect(() => readFileSync(env.MERGEKEY_CREDENTIALS)).toThrow(/ENOENT/);
  });

  it('says what is missing before sending anything', async () => {
    const server = t.server.url;
    const env = { MERGEKEY_CREDENTIALS: join(dir, 'empty.json') };
    const noId = await failureOf(tokenGet({ app: 'portal-made', server, grant: 'client_credentials', env, secrets: { secret: 's3cret' } }));
    expect([noId.message, noId.hint]).toEqual([
      `no client id saved for application portal-made of ${TEST_ISSUER}: give it with --client-id`,
      "The portal shows it in the application's Keys section.",
    ]);
    const empty = await cli(['token', 'get', 'portal-made', '--server', server, '--client-id', 'x', '--secret-stdin'], '\n', env);
    expect(empty).toEqual({ code: 2, stdout: '', stderr: 'mergekey: --secret-stdin read an empty line: put the client secret on the first line of stdin\n' });
    const saveNothing = await failureOf(tokenList({ app: 'portal-made', server, env, secrets: { save: true } }));
    expect(saveNothing.message).toBe('--save keeps a client secret given with --secret-stdin (or typed at the prompt); none was given');
    const both = await cli(['token', 'get', 'portal-made', '--server', server, '--grant', 'refresh_token', '--secret-stdin'], 'x\n', env);
    expect(both).toEqual({
      code: 2,
      stdout: '',
      stderr: "mergekey: --secret-stdin and --grant refresh_token would both read stdin\nSave the client secret first ('mergekey token get portal-made --secret-stdin --save'), then run this without --secret-stdin.\n",
    });
    const asFlag = await cli(['token', 'get', 'portal-made', '--server', server, '--client-secret', 'x'], '', env);
    expect(asFlag).toEqual({ code: 2, stdout: '', stderr: "mergekey: unknown option '--client-secret'\nRun 'mergekey token get --help' for its arguments and options.\n" });
    const none = await failureOf(tokenGet({ app: 'portal-made', server, grant: 'client_credentials', env }));
    expect(none.hint).toBe(
      "`mergekey app new` saves a new application's secret on the machine that created it: run this there, or point MERGEKEY_CREDENTIALS " +
        'at the credentials file that has it, or give the secret on stdin with --secret-stdin --client-id ID (add --save to keep it).',
    );
  });
});
