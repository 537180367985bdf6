// The parts of requests and the check that the story does not exercise: secret rotation, edits
// that keep the developer's YAML, prompting, the check's comment, labels, plan and inputs.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { simpleGit } from 'simple-git';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { command as createCommand, create } from './create.ts';
import { edit } from './edit.ts';
import { list } from './list.ts';
import { show } from './show.ts';
import { check } from '../check.ts';
import { approve } from '../review/approve.ts';
import { reject } from '../review/reject.ts';
import { reviewList } from '../review/list.ts';
import { Clone } from '../../../controller/requests/git.ts';
import { EXIT_CODES, exitCodeFor } from '../../errors.ts';
import { appYaml, createWorld, type World } from '../../../test/support/requests-world.ts';

let world: World;
let clone: Clone;
const NOW = Date.parse('2025-03-01T10:00:00Z');

beforeAll(async () => {
  world = await createWorld(async (key) => ({
    'apps/billing.yaml': await appYaml(key, 'billing'),
    'apps/reports.yaml': await appYaml(key, 'reports', { owner: 'bob' }),
  }));
  clone = await Clone.open(world.repo.workDir);
});
afterAll(async () => world?.close());

const onMain = (path: string) => world.repo.show('main', path);

describe('edit', () => {
  it("changes only the fields given, keeping the manifest's comments and layout", async () => {
    const opened = await edit({
      ...world.as('alice'),
      name: 'reports',
      scopes: ['open', 'invoices:read'],
      redirectUris: ['https://reports.example.com/cb'],
      displayName: 'Reports',
      plan: 'gold',
    });
    expect(opened.title).toBe('Edit application reports (display name, redirect URIs, scopes, plan)');
    const before = await onMain('apps/reports.yaml');
    const after = await world.repo.show(opened.branch, 'apps/reports.yaml');
    expect(after).toContain('# Kept by hand: this comment must survive edits.');
    expect(after).toContain('scopes: [open, invoices:read]');
    expect(after).toContain('plan: gold');
    // Every line of the original that the edit did not concern is still there, as it was.
    const untouched = before.split('\n').filter((line) => !/^\s+(scopes|displayName|plan|redirectUris):/.test(line));
    for (const line of untouched) expect(after.split('\n')).toContain(line);
    expect(opened.plan.lines).toEqual([
      'Display name: (none) → `Reports`.',
      'Scopes added: `invoices:read`; tokens may carry them.',
      'Redirect URIs added: `https://reports.example.com/cb`.',
      'Plan: standard (default) → gold (token lifetimes and request rate follow it).',
    ]);
    // Not low risk: the check says a publisher must review it.
    const result = await check({ ...world.as('pat'), base: 'refs/remotes/origin/main', head: opened.commit, pr: opened.number, comment: true });
    expect(result).toMatchObject({ allowed: true, lowRisk: false });
    expect(result.markdown).toContain('**Needs an approving review from a publisher**');
    await reject({ ...world.as('pat'), number: opened.number, reason: 'Gold is for partners.' });
  });

  it('refuses a change the repository rules refuse, before pushing anything', async () => {
    const branches = await world.remoteBranches();
    await expect(edit({ ...world.as('alice'), name: 'reports', plan: 'platinum' })).rejects.toThrow(
      /would not pass the repository's rules: apps\/reports\.yaml:\d+:\d+: .*platinum/,
    );
    // A scope main does not define is refused first, with the closest one it does.
    await expect(edit({ ...world.as('alice'), name: 'reports', scopes: ['open', 'invoice:read'] })).rejects.toMatchObject({
      code: 'USAGE',
      message: "option '--scopes': unknown scope 'invoice:read'",
      hint: "Did you mean 'invoices:read'? Known scopes: open, openid, profile, email, invoices:read, invoices:write.",
    });
    await expect(create({ ...world.as('bob'), name: 'payroll-sync', description: 'Pays people.', scopes: ['payroll:read'] })).rejects.toMatchObject({
      code: 'USAGE',
      message: "option '--scopes': unknown scope 'payroll:read'",
      hint: 'Known scopes: open, openid, profile, email, invoices:read, invoices:write.',
    });
    await expect(create({ ...world.as('bob'), name: 'payroll-sync', description: 'Pays people.', scopes: ['invoices:wrte'] })).rejects.toMatchObject({
      hint: "Did you mean 'invoices:write'? Known scopes: open, openid, profile, email, invoices:read, invoices:write.",
    });
    await expect(edit({ ...world.as('alice'), name: 'reports' })).rejects.toThrow(/nothing to change/);
    expect(await world.remoteBranches()).toEqual(branches);
  });
});

describe('secret rotation', () => {
  let firstSecret: string;

  it('keeps the current secret working until a rotation is merged, and after one is rejected', async () => {
    // The developer's first secret, as `app create` would have saved it.
    const created = await create({ ...world.as('alice'), name: 'payments', description: 'Takes payments.' });
    firstSecret = created.clientSecret!;
    await approve({ ...world.as('pat'), number: created.number });

    const rotation = await edit({ ...world.as('alice'), name: 'payments', rotateSecret: true, oldSecretExpiresInMs: 3 * 86_400_000, now: () => NOW });
    const secrets = (await world.repo.show(rotation.branch, 'apps/payments.yaml')).match(/sealed: \S+/g);
    expect(secrets).toHaveLength(2);
    expect(await world.repo.show(rotation.branch, 'apps/payments.yaml')).toContain('expiresAt: 2025-03-04T10:00:00Z');
    expect(rotation.rotated).toMatchObject({ oldExpiresAt: '2025-03-04T10:00:00Z', savedTo: world.credentialsFile });
    expect(rotation.plan.lines).toEqual([
      '1 new client secret accepted.',
      'An existing client secret now expires at 2025-03-04T10:00:00Z (rotation: clients switch to the new one before then).',
    ]);

    // Both are kept, the new one marked pending until request #N is merged, with the expiry
    // the rotation gave the one in use: `token get` sends that one until then (secretsToTry).
    const kept = JSON.parse(await readFile(world.credentialsFile, 'utf8')).issuers['https://auth.example.com'].payments;
    expect(kept).toMatchObject({ clientSecret: rotation.rotated!.secret, request: rotation.number, previousClientSecret: firstSecret, previousExpiresAt: '2025-03-04T10:00:00Z' });

    const pending = await show({ ...world.as('alice'), name: 'payments', reveal: true });
    expect(pending.keys).toMatchObject({ revealed: firstSecret, pending: { secret: rotation.rotated!.secret, request: rotation.number } });

    await reject({ ...world.as('pat'), number: rotation.number, reason: 'Not now.' });
    const afterReject = await show({ ...world.as('alice'), name: 'payments', reveal: true });
    expect(afterReject.keys?.revealed).toBe(firstSecret);
    expect(afterReject.keys?.pending).toBeUndefined();
  });

  it('a merged rotation makes the new secret the one in use', async () => {
    const rotation = await edit({ ...world.as('alice'), name: 'payments', rotateSecret: true, now: () => NOW });
    await approve({ ...world.as('pat'), number: rotation.number });
    const view = await show({ ...world.as('alice'), name: 'payments', reveal: true });
    expect(view.keys?.revealed).toBe(rotation.rotated!.secret);
    expect(view.keys?.secrets).toEqual([{ masked: '****************', expiresAt: '2025-03-08T10:00:00Z' }, { masked: '****************' }]);
    // A second rotation must wait until the old secret has expired.
    await expect(edit({ ...world.as('alice'), name: 'payments', rotateSecret: true, now: () => NOW })).rejects.toThrow(
      /already rotating its client secret \(the old one expires at 2025-03-08T10:00:00Z\)/,
    );
    const credentials = JSON.parse(await readFile(world.credentialsFile, 'utf8'));
    expect(credentials.issuers['https://auth.example.com'].payments.clientSecret).toBe(rotation.rotated!.secret);
  });
});

describe('create', () => {
  it('asks for the description and scopes on a terminal', async () => {
    const questions: string[] = [];
    const answers = ['Sends newsletters.', 'open, invoices:read'];
    const created = await create({
      ...world.as('bob'),
      name: 'newsletter',
      prompt: async (question) => {
        questions.push(question);
        return answers.shift()!;
      },
    });
    expect(questions).toEqual([
      'Description (what the application does, for the publisher): ',
      'Scopes, comma-separated (open, invoices:read, invoices:write; empty for open): ',
    ]);
    const manifest = await world.repo.show(created.branch, 'apps/newsletter.yaml');
    expect(manifest).toContain('description: Sends newsletters.');
    expect(manifest).toContain('owners:\n    - bob');
    expect(manifest).toMatch(/scopes:\n {4}- open\n {4}- invoices:read/);
  });

  it('registers a private_key_jwt application with its public keys and no secret', async () => {
    const { publicKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = await exportJWK(publicKey);
    const dir = await mkdtemp(join(tmpdir(), 'mergekey-jwks-'));
    try {
      const file = join(dir, 'jwks.json');
      await writeFile(file, JSON.stringify({ keys: [{ ...jwk, kid: 'gateway-1', use: 'sig', alg: 'ES256' }] }));
      const created = await create({ ...world.as('bob'), name: 'gateway', description: 'Signs its assertions.', authMethod: 'private_key_jwt', jwks: file });
      expect(created.clientSecret).toBeUndefined();
      const manifest = await world.repo.show(created.branch, 'apps/gateway.yaml');
      expect(manifest).toContain('tokenEndpointAuthMethod: private_key_jwt');
      expect(manifest).toContain('kid: gateway-1');
      expect(manifest).not.toContain('sealed:');
      expect(created.plan.lines).toContain('Credentials: 1 public key (private_key_jwt).');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('registers a public client: no secret generated, saved or printed, the code flow by default, and a plan that says so', async () => {
    const created = await create({
      ...world.as('bob'),
      name: 'spa',
      description: 'Signs people in from the browser.',
      authMethod: 'none',
      scopes: ['openid', 'profile'],
      redirectUris: ['https://spa.example.com/callback'],
    });
    expect(created.clientSecret).toBeUndefined();
    const manifest = await world.repo.show(created.branch, 'apps/spa.yaml');
    expect(manifest).toContain('tokenEndpointAuthMethod: none');
    expect(manifest).toMatch(/grantTypes:\n {4}- authorization_code\n {4}- refresh_token\n/);
    expect(manifest).toMatch(/redirectUris:\n {4}- https:\/\/spa\.example\.com\/callback\n/);
    expect(manifest).not.toContain('credentials');
    expect(created.plan.lines).toContain('Client authentication: `none` (a public client: no client secret; PKCE protects its codes).');
    const output = createCommand.render!(created, {} as never);
    expect(output).toContain(`  client id:     ${created.clientId}\nA public client: no client secret. It signs people in with the authorization_code grant and PKCE (S256).\n`);
    expect(output).not.toContain('secret:');
  });

  it('refuses a redirect URI the manifest would refuse, before anything is pushed', async () => {
    await expect(create({ ...world.as('bob'), name: 'native', description: 'A desktop app.', authMethod: 'none', redirectUris: ['http://192.168.1.20/cb'] })).rejects.toMatchObject({
      code: 'USAGE',
      message: "option '--redirect-uri' refuses 'http://192.168.1.20/cb': uses http on a host that is not a loopback IP, so the code would cross the network in the clear: use https, or http://127.0.0.1 or http://[::1] for a native app on the same device (RFC 8252 section 7.3)",
    });
    await expect(create({ ...world.as('bob'), name: 'native', description: 'A desktop app.', authMethod: 'none' })).rejects.toThrow(
      /apps\/native\.yaml:\d+:\d+: spec\.grantTypes\[0\]: authorization_code sends the user back to a registered redirect URI, and this application lists none: add spec\.redirectUris/,
    );
  });

  it('without a terminal, a missing description is a usage error', async () => {
    await expect(create({ ...world.as('bob'), name: 'quiet' })).rejects.toMatchObject({ code: 'USAGE', message: expect.stringMatching(/--description' is required/) });
  });
});

describe('configuration errors', () => {
  /** The workflow's error for `run`, with the exit code the CLI gives it. */
  async function failure(run: Promise<unknown>): Promise<{ error: unknown; exitCode: number }> {
    const error = await run.then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    return { error, exitCode: exitCodeFor(error) };
  }

  it('say what is missing and what to do, as failures (exit 1) rather than crashes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mergekey-no-origin-'));
    try {
      await simpleGit(dir).init();
      expect(await failure(list({ cwd: dir, env: { GITHUB_TOKEN: 'x' } }))).toMatchObject({
        error: {
          code: 'github-not-configured',
          message: expect.stringContaining('has no `origin` remote, so the GitHub repository is unknown'),
          hint: 'Add one with `git remote add origin https://github.com/OWNER/REPO.git`, or pass --github-repo OWNER/REPO.',
        },
        exitCode: EXIT_CODES.failure,
      });
      expect(await failure(list({ cwd: tmpdir(), env: {} }))).toMatchObject({
        error: { code: 'not-a-clone', message: expect.stringContaining('is not inside a clone') },
        exitCode: EXIT_CODES.failure,
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    // A token GitHub does not accept.
    expect(await failure(list({ ...world.as('alice'), env: { ...world.as('alice').env, GITHUB_TOKEN: 'tok-nobody' } }))).toMatchObject({
      error: { code: 'github-forbidden', message: expect.stringContaining('GitHub refused the token') },
      exitCode: EXIT_CODES.failure,
    });
  });
});

describe('check', () => {
  it('reads commits, not the work tree, and needs no GitHub access without --comment', async () => {
    // Garbage in the developer's work tree does not matter: the check reads git objects.
    await writeFile(join(world.repo.workDir, 'apps', 'billing.yaml'), 'not: [valid');
    try {
      const main = await clone.resolve('refs/remotes/origin/main');
      const head = await clone.commitFile(main, 'apps/billing.yaml', (await onMain('apps/billing.yaml')).replace('The billing service.', 'Clearer words.'), 'Reword');
      const result = await check({ cwd: world.repo.workDir, env: {}, base: main, head });
      expect(result).toMatchObject({ allowed: true, kind: 'edit', app: 'billing', lowRisk: true });
      expect(result.pr).toBeUndefined();
    } finally {
      await simpleGit(world.repo.workDir).raw(['checkout', '--', 'apps/billing.yaml']);
    }
  });

  it('refuses an edit that hides from review: a NUL byte (git shows the file as binary) and a number form YAML 1.1 reads otherwise', async () => {
    const main = await clone.resolve('refs/remotes/origin/main');
    const before = await onMain('apps/billing.yaml');
    const text = before.replace('The billing service.', 'The billing\u0000 service.').replace('state: active', 'state: active\n  displayName: 0x258');
    const head = await clone.commitFile(main, 'apps/billing.yaml', text, 'Hide a change');
    const result = await check({ cwd: world.repo.workDir, env: {}, base: main, head });
    expect(result.allowed).toBe(false);
    const line = before.split('\n').findIndex((l) => l.includes('The billing service.')) + 1;
    const column = before.split('\n')[line - 1]!.indexOf('The billing service.') + 'The billing'.length + 1;
    // Characters are refused before any YAML is read, so the number form waits for the next run.
    expect(result.problems).toEqual([{
      path: 'apps/billing.yaml', line, column, code: 'file.character',
      message: 'a NUL character (U+0000): git shows a file holding one as binary, with no diff to review, and YAML 1.2 forbids it (section 5.1)',
    }]);
    const fixed = await clone.commitFile(main, 'apps/billing.yaml', text.replace('\u0000', ''), 'Hide a change, without NUL');
    expect((await check({ cwd: world.repo.workDir, env: {}, base: main, head: fixed })).problems).toEqual([{
      path: 'apps/billing.yaml', line: before.split('\n').findIndex((l) => l.includes('state: active')) + 2, column: 16, code: 'yaml.number-form',
      message: 'the number 0x258 is not written as a plain whole number, a form YAML 1.1 tools, YAML 1.2 and reviewers can each read differently: write digits only (like 600), or quote the value if it is text',
    }]);
  });

  it('keeps ONE comment per pull request, labels a request made by hand, and review list reads its verdict', async () => {
    const pr = await world.handmade('bob', 'tweak-billing', { 'apps/billing.yaml': (await onMain('apps/billing.yaml')).replace('The billing service.', 'Tweaked by hand.') });
    const args = { ...world.as('pat'), base: 'refs/remotes/origin/main', head: pr.headSha, pr: pr.number, comment: true };
    const first = await check(args);
    expect(first.posted).toEqual({ commentUrl: expect.any(String), created: true, status: 'success', label: 'mergekey:edit' });
    const second = await check(args);
    expect(second.posted).toMatchObject({ created: false, status: 'success' });
    expect(second.posted?.label).toBeUndefined();
    const comments = (await world.github('pat').listComments(pr.number)).filter((comment) => comment.body.includes('<!-- mergekey:check -->'));
    expect(comments).toHaveLength(1);
    expect((await world.github('pat').getPullRequest(pr.number)).labels).toEqual(['mergekey:edit']);

    const item = (await reviewList(world.as('pat'))).items.find((candidate) => candidate.number === pr.number);
    expect(item).toMatchObject({ kind: 'edit', app: 'billing', check: { state: 'allowed', summary: 'allowed: edit billing (low risk)' } });
    await world.github('bob').closePullRequest(pr.number);
  });

  it('takes the pull request from GITHUB_EVENT_PATH, as in a workflow', async () => {
    const pr = await world.handmade('bob', 'new-api', {
      'apis/ledger.yaml': 'apiVersion: mergekey/v1\nkind: Api\nmetadata:\n  name: ledger\nspec:\n  description: The ledger.\n  audience: https://api.example.com/ledger\n  scopes:\n    - name: ledger:read\n      description: Read it.\n',
    });
    const dir = await mkdtemp(join(tmpdir(), 'mergekey-event-'));
    try {
      const eventPath = join(dir, 'event.json');
      await writeFile(eventPath, JSON.stringify({ pull_request: { number: pr.number, labels: [], head: { ref: 'new-api' }, body: null } }));
      const options = world.as('pat');
      const result = await check({ ...options, env: { ...options.env, GITHUB_EVENT_PATH: eventPath }, base: 'refs/remotes/origin/main', head: pr.headSha, comment: true });
      expect(result).toMatchObject({ allowed: true, kind: 'publisher', pr: pr.number, posted: { label: 'mergekey:publisher' } });
      expect(result.markdown).toContain('Adds Api `ledger`.');
    } finally {
      await rm(dir, { recursive: true, force: true });
      await world.github('bob').closePullRequest(pr.number);
    }
  });

  it('says when it cannot tell how many tokens a deactivation revokes', async () => {
    const main = await clone.resolve('refs/remotes/origin/main');
    const head = await clone.commitFile(main, 'apps/billing.yaml', (await onMain('apps/billing.yaml')).replace('state: active', 'state: inactive'), 'Deactivate');
    const withoutServer = await check({ cwd: world.repo.workDir, env: {}, base: main, head });
    expect(withoutServer.notes).toEqual(['How many active tokens the deactivation revokes is not shown: no token server was given (--server).']);
    const withServer = await check({ cwd: world.repo.workDir, env: { MERGEKEY_CREDENTIALS: world.credentialsFile }, base: main, head, server: 'http://127.0.0.1:1' });
    expect(withServer.notes).toEqual([
      "How many active tokens the deactivation revokes is not shown: listing tokens needs billing's own client credentials, which this check does not have.",
    ]);
    expect(withServer.markdown).toContain("> How many active tokens the deactivation revokes is not shown: listing tokens needs billing's own client credentials");
  });

  it('--comment without a pull request is a usage error', async () => {
    await expect(check({ cwd: world.repo.workDir, env: {}, base: 'HEAD', comment: true })).rejects.toMatchObject({ code: 'USAGE' });
  });
});
