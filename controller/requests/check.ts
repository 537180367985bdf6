// The repository's check on a pull request (`mergekey check`): reads both commits' manifests from
// git objects, classifies the change (create, edit, deactivate, reactivate, publisher), validates
// what merging would produce, enforces the lifecycle rules, and writes the plan in Markdown.
//
// The change is the pull request's own diff (merge base → head), as GitHub shows it; the state it
// is judged against is the base branch now, so a pull request made before a newer merge is
// judged by today's main. "What merging produces" is the base with the pull request's changed
// paths taken from the head: what a clean merge gives.
import {
  classifyChange,
  describeChange,
  describePublisherChange,
  parseRequestBranch,
  parseRequestMarker,
  requestKindFromLabels,
  type ChangeClass,
  type ChangePlan,
  type Refusal,
  type RequestKind,
} from './index.ts';
import { loadManifest, validateRepository, type ManifestObject, type Problem, type RepoFile } from '../manifests/index.ts';
import type { Application, Settings } from '../manifests/types.generated.ts';
import { LIMITS } from '../config/defaults.ts';
import type { ChangedPath } from '../git/changes.ts';
import type { SourceProblem } from '../git/source.ts';
import type { Clone, CommitFiles } from './git.ts';
import { countActiveTokens, type TokenCount } from './tokens.ts';

/** What the pull request says it is, when the check runs for one. */
export interface PullRequestContext {
  number: number;
  labels: readonly string[];
  headRef: string;
  body: string | null;
}

export interface CheckInput {
  clone: Clone;
  base: string;
  head: string;
  pr?: PullRequestContext | undefined;
  /** Other open requests' numbers and apps, when GitHub could tell (one open request per app). */
  openRequests?: readonly { number: number; app: string; kind: RequestKind }[] | undefined;
  /** A token server to ask how many tokens a deactivation revokes. */
  server?: string | undefined;
  /** The saved credentials of an application, when the local credentials file has them. */
  credentialsOf?: ((issuer: string, app: string) => { clientId: string; clientSecret?: string } | undefined) | undefined;
}

export interface CheckReport {
  allowed: boolean;
  base: string;
  head: string;
  mergeBase: string;
  /** What the change is, when it was recognised. */
  kind?: ChangeClass['kind'];
  app?: string;
  /** The kind the pull request declares (label, body marker or branch). */
  declared?: RequestKind;
  lowRisk: boolean;
  refusals: Refusal[];
  /** Problems in what merging would produce that this change brings (or leaves in a file it touches). */
  problems: Problem[];
  /** Problems the base branch already had in files this change does not touch. */
  preexisting: Problem[];
  plan?: ChangePlan;
  notes: string[];
  changed: ChangedPath[];
}

export async function runCheck(input: CheckInput): Promise<CheckReport> {
  const { clone, base, head } = input;
  const mergeBase = (await clone.mergeBase(base, head)) ?? base;
  const changed = await clone.changedPaths(mergeBase, head);
  const [baseRead, headRead] = await Promise.all([clone.readManifests(base), clone.readManifests(head)]);
  const merged = overlay(baseRead.files, headRead.files, changed);
  const refusals: Refusal[] = [...unreadRefusals(headRead, changed)];
  const notes: string[] = [];

  const baseEntries = loadEach(baseRead.files);
  const baseProblems = validateRepository(baseRead.files).problems;
  const result = validateRepository(merged);
  const touched = new Set(changed.flatMap((change) => [change.path, ...(change.previousPath === undefined ? [] : [change.previousPath])]));
  const known = new Set(baseProblems.map(problemKey));
  const problems = result.problems.filter((problem) => touched.has(problem.path) || !known.has(problemKey(problem)));
  const preexisting = result.problems.filter((problem) => !problems.includes(problem));

  const declared = declaredKind(input.pr);
  const classification = classifyChange(baseEntries, result.objects, changed, declared === undefined ? {} : { declared });
  if (!classification.ok) refusals.push(...classification.refusals);
  const change = classification.change;

  if (change !== undefined && change.kind !== 'publisher' && input.pr !== undefined && input.openRequests !== undefined) {
    const older = input.openRequests.find((request) => request.app === change.app && request.number < input.pr!.number);
    if (older !== undefined) {
      refusals.push({
        code: 'open-request-exists',
        message: `${change.app} already has an open ${older.kind} request (#${older.number}); one request per application at a time`,
        path: change.path,
      });
    }
  }

  const settings = [...result.objects, ...baseEntries].map((object) => object.manifest).find((manifest) => manifest.kind === 'Settings');
  let plan: ChangePlan | undefined;
  if (change?.kind === 'publisher') {
    plan = describePublisherChange(baseEntries, result.objects, change.paths);
  } else if (change !== undefined) {
    let activeTokens: number | undefined;
    if (change.kind === 'deactivate') {
      const counted = await tokensOf(input, settings, change.app, change.base);
      if ('count' in counted) activeTokens = counted.count;
      else notes.push(`How many active tokens the deactivation revokes is not shown: ${counted.unknown}.`);
    }
    plan = describeChange(change.base, change.head, {
      ...(settings === undefined ? {} : { defaultPlan: settings.spec.defaultPlan }),
      ...(activeTokens === undefined ? {} : { activeTokens }),
    });
  }
  const allowed = refusals.length === 0 && problems.length === 0;
  return {
    allowed,
    base,
    head,
    mergeBase,
    ...(change === undefined ? {} : { kind: change.kind }),
    ...(change === undefined || change.kind === 'publisher' ? {} : { app: change.app }),
    ...(declared === undefined ? {} : { declared }),
    lowRisk: allowed && plan?.lowRisk === true,
    refusals,
    problems,
    preexisting,
    ...(plan === undefined ? {} : { plan }),
    notes,
    changed,
  };
}

/** The kind a pull request declares: its label, else its body marker, else its branch name. */
export function declaredKind(pr: PullRequestContext | undefined): RequestKind | undefined {
  if (pr === undefined) return undefined;
  return requestKindFromLabels(pr.labels) ?? parseRequestMarker(pr.body)?.kind ?? parseRequestBranch(pr.headRef)?.kind;
}

async function tokensOf(input: CheckInput, settings: Settings | undefined, app: string, base: Application | undefined): Promise<TokenCount> {
  if (input.server === undefined) return { unknown: 'no token server was given (--server)' };
  if (settings === undefined || base === undefined) return { unknown: 'the repository settings or the application could not be read' };
  const saved = input.credentialsOf?.(settings.spec.issuer, app);
  if (saved === undefined || saved.clientSecret === undefined || saved.clientId !== base.spec.clientId) {
    return { unknown: `listing tokens needs ${app}'s own client credentials, which this check does not have` };
  }
  return countActiveTokens(input.server, app, saved.clientId, saved.clientSecret);
}

/** The base's files with the pull request's changed paths taken from the head. */
function overlay(baseFiles: readonly RepoFile[], headFiles: readonly RepoFile[], changed: readonly ChangedPath[]): RepoFile[] {
  const files = new Map(baseFiles.map((file) => [file.path, file]));
  const fromHead = new Map(headFiles.map((file) => [file.path, file]));
  for (const change of changed) {
    if (change.previousPath !== undefined && change.status === 'renamed') files.delete(change.previousPath);
    const file = fromHead.get(change.path);
    if (change.status === 'deleted' || file === undefined) files.delete(change.path);
    else files.set(change.path, file);
  }
  return [...files.values()];
}

/** Each file loaded on its own: cross-object problems on the base must not hide its objects. */
function loadEach(files: readonly RepoFile[]): ManifestObject[] {
  const entries: ManifestObject[] = [];
  for (const file of files) {
    const { object } = loadManifest(file);
    if (object !== undefined) entries.push(object);
  }
  return entries;
}

/** What the check says of a changed manifest path the reader refused, by the reader's code. */
const UNREAD: Readonly<Record<SourceProblem['code'], string>> = {
  'file.symlink': 'is a symbolic link; a manifest must be a regular file',
  'file.not-regular': 'is not a file',
  'file.too-large': `is larger than a manifest may be (${LIMITS.manifestMaxBytes / 1024} KiB)`,
};
const NOT_A_FOLDER = 'is a symlink, a submodule or a file, not a folder: the controller does not apply a commit in which a manifest folder is not a folder';

/** The changed paths the head's reading refused (files, or whole manifest folders), as refusals. */
function unreadRefusals(read: CommitFiles, changed: readonly ChangedPath[]): Refusal[] {
  const paths = new Set(changed.map((change) => change.path));
  const unread = [
    ...read.notFolders.map((path) => ({ path, why: NOT_A_FOLDER })),
    ...read.problems.map((problem) => ({ path: problem.path, why: UNREAD[problem.code] })),
  ];
  return unread
    .filter((entry) => paths.has(entry.path))
    .map((entry) => ({ code: 'invalid-manifest' as const, message: `${entry.path} ${entry.why}`, path: entry.path }));
}

function problemKey(problem: Problem): string {
  return `${problem.path}\0${problem.code}\0${problem.message}`;
}

const KIND_WORDS: Readonly<Record<ChangeClass['kind'], string>> = {
  create: 'create request',
  edit: 'edit request',
  deactivate: 'deactivation request',
  reactivate: 'reactivation request',
  publisher: 'publisher change',
};

/** The hidden line that tells `review list` which commit a comment judged. */
export function headMarker(head: string): string {
  return `<!-- mergekey:check-head ${head} -->`;
}

/** The report as the pull request comment (and the check's stdout). */
export function checkMarkdown(report: CheckReport, headSha: string): string {
  const subject =
    report.kind === undefined ? 'this change' : `${KIND_WORDS[report.kind]}${report.app === undefined ? '' : ` for \`${report.app}\``}`;
  const lines = [headMarker(headSha), `## Mergekey check: ${subject}`, ''];
  if (report.allowed) {
    lines.push(`**Allowed**${report.lowRisk ? ' — low risk: a description-only edit.' : '.'}`);
  } else {
    const count = report.refusals.length + report.problems.length;
    lines.push(`**Refused** — ${count === 1 ? 'one reason below: fix it' : `${count} reasons below: fix them`} and push again.`);
  }
  lines.push('');
  if (report.refusals.length > 0) {
    lines.push('### Refused because', '');
    for (const refusal of report.refusals) {
      const where = refusal.path === undefined || refusal.message.includes(refusal.path) ? '' : `\`${refusal.path}\`: `;
      lines.push(`- ${where}${refusal.message} (\`${refusal.code}\`)`);
    }
    lines.push('');
  }
  if (report.problems.length > 0) {
    lines.push('### Manifest problems', '');
    for (const problem of report.problems) lines.push(`- \`${problem.path}:${problem.line}:${problem.column}\`: ${problem.message}`);
    lines.push('');
  }
  if (report.plan !== undefined) lines.push('### What merging changes for the token server', '', report.plan.markdown.replace(/^### .*\n\n/, ''));
  for (const note of report.notes) lines.push(`> ${note}`, '');
  if (report.preexisting.length > 0) {
    lines.push(`<details><summary>${report.preexisting.length} problem(s) already on the base branch, in files this change does not touch</summary>`, '');
    for (const problem of report.preexisting) lines.push(`- \`${problem.path}:${problem.line}:${problem.column}\`: ${problem.message}`);
    lines.push('', '</details>', '');
  }
  lines.push(`<sub>Checked ${report.head.slice(0, 12)} against ${report.base.slice(0, 12)} with \`mergekey check\`.</sub>`, '');
  return lines.join('\n');
}

/** One line for the commit status (GitHub keeps 140 characters). */
export function statusDescription(report: CheckReport): string {
  if (report.allowed) {
    const what = report.kind === undefined ? 'no manifest change' : `${report.kind}${report.app === undefined ? '' : ` ${report.app}`}`;
    return `allowed: ${what}${report.lowRisk ? ' (low risk)' : ''}`;
  }
  const first = report.refusals[0]?.message ?? (report.problems[0] === undefined ? 'refused' : `${report.problems[0].path}: ${report.problems[0].message}`);
  return `refused: ${first}`.slice(0, 140);
}
