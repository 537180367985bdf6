// `mergekey check --base REF [--head REF]`: the manifests repository's check on a pull request.
// Run by the reusable workflow (.github/workflows/check.yml) on every pull request, and by anyone
// in a clone before pushing. Exits 0 when the change is allowed, 1 when it is refused.
import { readFileSync } from 'node:fs';
import { PUBLISHER_LABEL, REQUEST_LABELS, requestKindFromLabels, type RequestKind } from '../../controller/requests/index.ts';
import type { RequestsBackend } from '../../controller/github/index.ts';
import { defineCommand } from '../command.ts';
import { credentialsPath, findCredential } from '../credentials.ts';
import { EXIT_CODES, failure, usageError } from '../errors.ts';
import { CHECK_COMMENT_MARKER, CHECK_CONTEXT } from '../../controller/requests/check-result.ts';
import { checkMarkdown, runCheck, statusDescription, type CheckReport, type PullRequestContext } from '../../controller/requests/check.ts';
import { Clone } from '../../controller/requests/git.ts';
import { GITHUB_OPTIONS } from '../github-options.ts';
import { connectGitHub } from '../../controller/requests/github.ts';
import { withGitHubErrors } from '../../controller/requests/errors.ts';
import { listRequests } from '../../controller/requests/state.ts';
import { parsePullNumber } from './review/approve.ts';

export interface CheckOptions {
  cwd?: string | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  base: string;
  head?: string | undefined;
  /** Post (or update) the check's comment and commit status on the pull request. */
  comment?: boolean | undefined;
  /** The pull request; default: the one in GITHUB_EVENT_PATH, when there is one. */
  pr?: number | undefined;
  /** A token server, to count the tokens a deactivation revokes. */
  server?: string | undefined;
  githubRepo?: string | undefined;
  githubApiUrl?: string | undefined;
}

export interface CheckResult extends CheckReport {
  markdown: string;
  pr?: number;
  /** With --comment: what was posted. */
  posted?: { commentUrl: string; created: boolean; status: 'success' | 'failure'; label?: string };
}

export async function check(options: CheckOptions): Promise<CheckResult> {
  const env = options.env ?? process.env;
  const clone = await Clone.open(options.cwd ?? process.cwd());
  const base = await clone.resolve(options.base);
  const head = await clone.resolve(options.head ?? 'HEAD');
  const event = readEvent(env);
  const number = options.pr ?? event?.number;
  if (options.comment === true && number === undefined) {
    throw usageError("'--comment' needs the pull request: give '--pr N' (or run in a pull_request workflow, which sets GITHUB_EVENT_PATH)");
  }

  let backend: RequestsBackend | undefined;
  let pr: PullRequestContext | undefined = event;
  let openRequests: { number: number; app: string; kind: RequestKind }[] | undefined;
  if (options.comment === true || options.pr !== undefined) {
    const github = await connectGitHub({ cwd: clone.root, env, githubRepo: options.githubRepo, githubApiUrl: options.githubApiUrl });
    backend = github.backend;
    // The labels as they are now: the `opened` event fires before `mergekey app` labels the request.
    const pull = await withGitHubErrors(() => github.backend.getPullRequest(number!));
    pr = { number: pull.number, labels: pull.labels, headRef: pull.headRef, body: pull.body };
    openRequests = (await withGitHubErrors(() => listRequests(github.backend, { state: 'open' }))).map((request) => ({
      number: request.number,
      app: request.app,
      kind: request.kind,
    }));
  }

  const report = await runCheck({
    clone,
    base,
    head,
    pr,
    openRequests,
    server: options.server,
    credentialsOf: (issuer, app) => {
      try {
        return findCredential(credentialsPath(env), issuer, app);
      } catch {
        return undefined;
      }
    },
  });
  const markdown = checkMarkdown(report, head);
  const result: CheckResult = { ...report, markdown, ...(number === undefined ? {} : { pr: number }) };
  if (options.comment !== true || backend === undefined || pr === undefined) return result;

  const posted = await withGitHubErrors(async () => {
    const comment = await backend.upsertComment(pr.number, CHECK_COMMENT_MARKER, markdown);
    const state = report.allowed ? 'success' : 'failure';
    await backend.setCommitStatus(head, { state, context: CHECK_CONTEXT, description: statusDescription(report), targetUrl: comment.htmlUrl });
    // A request opened in GitHub's web interface gets the label `mergekey app` would have given it.
    let label: string | undefined;
    if (requestKindFromLabels(pr.labels) === undefined && !pr.labels.includes(PUBLISHER_LABEL) && report.kind !== undefined) {
      label = report.kind === 'publisher' ? PUBLISHER_LABEL : REQUEST_LABELS[report.kind];
      await backend.addLabels(pr.number, [label]);
    }
    return { commentUrl: comment.htmlUrl, created: comment.created, status: state, ...(label === undefined ? {} : { label }) } as const;
  });
  return { ...result, posted };
}

interface EventPayload {
  pull_request?: { number?: number; labels?: { name?: string }[]; head?: { ref?: string }; body?: string | null };
}

/** The pull request of a GitHub Actions `pull_request` event, when the check runs in one. */
function readEvent(env: NodeJS.ProcessEnv): PullRequestContext | undefined {
  const path = env.GITHUB_EVENT_PATH;
  if (path === undefined || path === '') return undefined;
  let payload: EventPayload;
  try {
    payload = JSON.parse(readFileSync(path, 'utf8')) as EventPayload;
  } catch (error) {
    throw failure(`cannot read the event in GITHUB_EVENT_PATH (${path}): ${(error as Error).message}`);
  }
  const pull = payload.pull_request;
  if (pull === undefined || typeof pull.number !== 'number') return undefined;
  return {
    number: pull.number,
    labels: (pull.labels ?? []).flatMap((label) => (typeof label.name === 'string' ? [label.name] : [])),
    headRef: pull.head?.ref ?? '',
    body: pull.body ?? null,
  };
}

export function formatCheck(result: CheckResult): string {
  const lines = [result.markdown.split('\n').filter((line) => !line.startsWith('<!--')).join('\n').trimEnd()];
  if (result.posted !== undefined) {
    lines.push('', `${result.posted.created ? 'Posted' : 'Updated'} the check's comment on #${result.pr}: ${result.posted.commentUrl}`);
    lines.push(`Set the ${CHECK_CONTEXT} status to ${result.posted.status}${result.posted.label === undefined ? '' : `; labelled ${result.posted.label}`}.`);
  }
  return `${lines.join('\n')}\n`;
}

export const command = defineCommand({
  summary: "The manifests repository's check on a pull request.",
  description:
    'Check the change from --base to --head (a pull request) in a clone of the manifests repository, ' +
    'reading both commits from git, not the work tree: classify it (create, edit, deactivate, ' +
    'reactivate, or a publisher change to apis/, plans/, users/, mergekey.yaml), validate what merging ' +
    'would produce, and enforce the lifecycle rules (no manifest deleted or renamed, no clientId ' +
    'change, one application per request, transitions only from the right state, no edit of an ' +
    'application not on the base branch, one open request per application). Prints the plan: what ' +
    'merging changes for the token server. --comment posts it on the pull request as one comment, ' +
    `kept up to date, and sets the ${CHECK_CONTEXT} commit status. Exits 0 when the change is ` +
    'allowed, 1 when it is refused.',
  arguments: [],
  options: {
    base: { type: 'string', valueName: 'REF', description: 'The base branch commit (required), e.g. origin/main or the pull request base SHA.' },
    head: { type: 'string', valueName: 'REF', description: 'The pull request head commit.', default: 'HEAD' },
    comment: { type: 'boolean', description: `Post or update the check's comment on the pull request and set the ${CHECK_CONTEXT} status (needs a GitHub token).` },
    pr: { type: 'string', valueName: 'N', description: 'The pull request number (default: from GITHUB_EVENT_PATH in a workflow).' },
    server: { type: 'string', valueName: 'URL', description: 'A token server, to say how many active tokens a deactivation revokes (needs the app’s credentials locally).' },
    format: { type: 'string', valueName: 'FORMAT', choices: ['markdown', 'json'], default: 'markdown', description: 'markdown prints the plan; json prints the whole report.' },
    ...GITHUB_OPTIONS,
  },
  examples: ['mergekey check --base origin/main', 'mergekey check --base "$BASE_SHA" --head "$HEAD_SHA" --comment'],
  run: (input) => {
    if (input.base === undefined) throw usageError("option '--base' is required", "Run 'mergekey check --help' for its options.");
    return check({
      base: input.base,
      head: input.head,
      comment: input.comment,
      pr: input.pr === undefined ? undefined : parsePullNumber(input.pr),
      server: input.server,
      githubRepo: input.githubRepo,
      githubApiUrl: input.githubApiUrl,
    });
  },
  render: (result, input) => (input.format === 'json' ? `${JSON.stringify(result, null, 2)}\n` : formatCheck(result)),
  exitCode: (result) => (result.allowed ? EXIT_CODES.ok : EXIT_CODES.failure),
});
