// The reusable workflow (.github/workflows/check.yml) and the caller `mergekey init` writes: the
// caller points at the reusable workflow with inputs it declares and the permissions it needs, and
// the workflow's script, run for real with bash against a pull request on the stand-in, checks it,
// comments, and fails the job exactly when the change is refused.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appYaml, createWorld, type World } from '../../test/support/requests-world.ts';
import { CHECK_WORKFLOW, init } from './init.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

interface Workflow {
  on: Record<string, { inputs?: Record<string, { default?: unknown; type: string }>; types?: string[] }>;
  permissions: Record<string, string>;
  jobs: Record<string, { uses?: string; with?: Record<string, unknown>; steps?: { name?: string; run?: string; env?: Record<string, string> }[] }>;
}

const reusable = parse(await readFile(join(root, '.github/workflows/check.yml'), 'utf8')) as Workflow;
const checkStep = reusable.jobs.check!.steps!.find((step) => step.name === 'Check the pull request')!;

describe('the caller that mergekey init writes', () => {
  let dir: string;
  let caller: Workflow;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mergekey-workflow-'));
    await init({ dir: join(dir, 'manifests') });
    caller = parse(await readFile(join(dir, 'manifests/.github/workflows/mergekey-check.yml'), 'utf8')) as Workflow;
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('calls this repository’s reusable workflow, with inputs it declares', () => {
    const job = caller.jobs.check!;
    expect(job.uses).toBe(`${CHECK_WORKFLOW.repository}/.github/workflows/check.yml@${CHECK_WORKFLOW.ref}`);
    expect(reusable.on.workflow_call?.inputs?.['mergekey-repository']?.default).toBe(CHECK_WORKFLOW.repository);
    for (const input of Object.keys(job.with ?? {})) expect(Object.keys(reusable.on.workflow_call!.inputs!)).toContain(input);
    expect(job.with?.['mergekey-ref']).toBe(CHECK_WORKFLOW.ref);
  });

  it('runs on every change to a pull request and grants what the check writes', () => {
    expect(caller.on.pull_request?.types).toEqual(expect.arrayContaining(['opened', 'synchronize', 'reopened', 'labeled']));
    // A called workflow can only narrow its caller's permissions.
    for (const [scope, level] of Object.entries(reusable.permissions)) expect(caller.permissions[scope]).toBe(level);
  });
});

describe('the reusable workflow’s script', () => {
  let world: World;
  let scratch: string;
  beforeAll(async () => {
    world = await createWorld(async (key) => ({ 'apps/billing.yaml': await appYaml(key, 'billing') }));
    scratch = await mkdtemp(join(tmpdir(), 'mergekey-runner-'));
  });
  afterAll(async () => {
    await world?.close();
    await rm(scratch, { recursive: true, force: true });
  });

  /** Runs the step's `run:` as GitHub Actions does (bash -e -o pipefail), with its env filled in. */
  async function runStep(pr: { number: number; headSha: string }): Promise<{ code: number; summary: string }> {
    const summary = join(scratch, `summary-${pr.number}.md`);
    await writeFile(summary, '');
    // The job's working directory is the manifests checkout, with mergekey checked out inside it.
    const cli = join(world.repo.workDir, '.mergekey-cli');
    await symlink(root, cli);
    const env = {
      ...world.as('pat').env,
      BASE_SHA: await world.repo.revParse('main'),
      HEAD_SHA: pr.headSha,
      PR_NUMBER: String(pr.number),
      REPOSITORY: 'acme/manifests',
      COMMENT: 'true',
      SERVER: '',
      GITHUB_STEP_SUMMARY: summary,
    };
    const code = await new Promise<number>((resolve) => {
      execFile('bash', ['--noprofile', '--norc', '-e', '-o', 'pipefail', '-c', checkStep.run!], { env, cwd: world.repo.workDir }, (error) =>
        resolve(error === null ? 0 : Number(error.code)),
      );
    });
    await rm(cli, { force: true });
    return { code, summary: await readFile(summary, 'utf8') };
  }

  it('passes an allowed request, fails a refused one, and comments on both', async () => {
    const main = await world.repo.show('main', 'apps/billing.yaml');
    const allowed = await world.handmade('alice', 'reword', { 'apps/billing.yaml': main.replace('The billing service.', 'Bills customers.') });
    const ok = await runStep(allowed);
    expect(ok.code).toBe(0);
    expect(ok.summary).toContain('**Allowed** — low risk');

    const refused = await world.handmade('alice', 'remove', { 'apps/billing.yaml': null });
    const failed = await runStep(refused);
    expect(failed.code).toBe(1);
    expect(failed.summary).toContain('apps/billing.yaml is deleted; manifests are never deleted');
    const comments = await world.github('pat').listComments(refused.number);
    expect(comments.map((comment) => comment.body)).toEqual([expect.stringContaining('**Refused**')]);
  });
});
