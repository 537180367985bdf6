// The GitHub client Mergekey uses: Octokit configured from GitHubConfig, with GitHub's rate limit
// handled (wait until it resets, within a cap, and retry once), wrapped in the few typed
// operations requests need. The CLI (`app …`, `review …`), the repo's check and the portal share
// it; none of them sees Octokit's types or errors.
import { Octokit } from '@octokit/rest';
import type { ChangedPath } from '../git/changes.ts';
import type { GitHubConfig } from './config.ts';
import { GitHubError } from './errors.ts';

/** A pull request as the client reads it (the lifecycle takes the facts it needs: requests.ts PullRequestFacts). */
export interface PullRequest {
  number: number;
  title: string;
  body: string | null;
  author: string;
  labels: readonly string[];
  state: 'open' | 'closed';
  merged: boolean;
  draft: boolean;
  headRef: string;
  headSha: string;
  baseRef: string;
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  mergedAt: string | null;
  mergeCommitSha: string | null;
  /** Who merged it; undefined when not fetched (pull request lists do not carry it). */
  mergedBy?: string | null;
  /** Who closed it; undefined when not fetched, null when GitHub does not know (a deleted user). */
  closedBy?: string | null;
  htmlUrl: string;
}

export interface Review {
  id: number;
  author: string | null;
  state: 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED' | 'DISMISSED' | 'PENDING';
  body: string;
  commitId: string | null;
  submittedAt: string | null;
}

export interface Comment {
  id: number;
  author: string | null;
  body: string;
  createdAt: string;
  updatedAt: string;
  htmlUrl: string;
}

export type CommitState = 'error' | 'failure' | 'pending' | 'success';

export interface CommitStatus {
  state: CommitState;
  context: string;
  description: string | null;
  targetUrl: string | null;
  creator: string | null;
  createdAt: string;
}

export interface RepositoryInfo {
  fullName: string;
  defaultBranch: string;
  /** What the token's user may do: push (and so merge) and administer. */
  canPush: boolean;
  isAdmin: boolean;
  allowMergeCommit: boolean;
  allowSquashMerge: boolean;
}

export interface OpenPullRequestInput {
  /** The pushed branch. */
  head: string;
  /** The branch to merge into, usually the default branch. */
  base: string;
  title: string;
  body: string;
  labels?: readonly string[];
}

export interface MergeOptions {
  method?: 'merge' | 'squash';
  /** Merge only if the head is still this commit (GitHub answers 409 otherwise). */
  expectedHeadSha?: string;
  commitTitle?: string;
  commitMessage?: string;
}

/** The operations the request workflow needs, on one repository. */
export interface RequestsBackend {
  readonly repository: { owner: string; repo: string; baseUrl: string };
  /** The login of the token's user (GET /user; GitHub Actions' GITHUB_TOKEN cannot call it). */
  whoAmI(): Promise<{ login: string; name: string | null }>;
  getRepository(): Promise<RepositoryInfo>;
  /** Opens a pull request from a pushed branch, then labels it. */
  openPullRequest(input: OpenPullRequestInput): Promise<PullRequest>;
  /** Every pull request matching the filter (all pages), newest first unless `direction: 'asc'`. */
  listPullRequests(filter?: { state?: 'open' | 'closed' | 'all'; base?: string; head?: string; direction?: 'asc' | 'desc' }): Promise<PullRequest[]>;
  /** One pull request with `mergedBy` and, when closed, `closedBy` filled in (two calls when closed). */
  getPullRequest(number: number): Promise<PullRequest>;
  listChangedFiles(number: number): Promise<ChangedPath[]>;
  /** Closes without merging: a rejection by a publisher, a cancellation by the author. */
  closePullRequest(number: number): Promise<PullRequest>;
  mergePullRequest(number: number, options?: MergeOptions): Promise<{ sha: string }>;
  /**
   * An approving review. `commitId`: the commit approved; without it GitHub takes the head at the
   * moment the review arrives, which may be a commit pushed after the reviewer looked.
   */
  approve(number: number, body?: string, commitId?: string): Promise<Review>;
  requestChanges(number: number, body: string): Promise<Review>;
  listReviews(number: number): Promise<Review[]>;
  comment(number: number, body: string): Promise<Comment>;
  /**
   * Keeps one comment per `marker` on a pull request: the first call creates it (with a hidden
   * `<!-- marker -->` line), later calls update it in place.
   */
  upsertComment(number: number, marker: string, body: string): Promise<Comment & { created: boolean }>;
  listComments(number: number): Promise<Comment[]>;
  /** Adds labels (creating them in the repository if needed); returns all labels now on it. */
  addLabels(number: number, labels: readonly string[]): Promise<string[]>;
  setCommitStatus(sha: string, status: { state: CommitState; context: string; description?: string; targetUrl?: string }): Promise<CommitStatus>;
  /** Statuses of a commit (sha or branch), newest first. */
  listCommitStatuses(ref: string): Promise<CommitStatus[]>;
  /** Pull requests a commit belongs to: the one it merged, or those whose head it is. */
  pullRequestsForCommit(sha: string): Promise<PullRequest[]>;
}

export interface ClientOptions {
  /** Clock in ms (Date.now). */
  now?: () => number;
  /** How to wait (setTimeout). Tests inject one that returns at once and records the wait. */
  sleep?: (ms: number) => Promise<void>;
  /** Longest wait for a rate limit to reset before giving up (60 s). */
  maxRateLimitWaitMs?: number;
  /** Called before waiting for a rate limit, so a CLI can say why it pauses. */
  onRateLimit?: (event: { waitMs: number; retryAt: number; method: string; url: string }) => void;
  /** Per-request timeout (30 s). */
  timeoutMs?: number;
  userAgent?: string;
}

const DEFAULT_MAX_WAIT_MS = 60_000;
const SECONDARY_DEFAULT_WAIT_MS = 60_000;

interface HttpErrorLike {
  status: number;
  message: string;
  response?: { headers: Record<string, string | number | undefined>; data: unknown };
  cause?: unknown;
  name?: string;
}

function asHttpError(error: unknown): HttpErrorLike | undefined {
  if (error === null || typeof error !== 'object' || typeof (error as { status?: unknown }).status !== 'number') return undefined;
  return error as HttpErrorLike;
}

/**
 * How long GitHub asks us to wait, when this error is a rate limit: `retry-after` (secondary
 * limits, 429), else until `x-ratelimit-reset` when `x-ratelimit-remaining` is 0 (primary limit),
 * else a minute for a 403/429 that says "rate limit". Undefined for any other error.
 */
export function rateLimitWait(error: unknown, now: number): number | undefined {
  const http = asHttpError(error);
  if (http === undefined || http.response === undefined || (http.status !== 403 && http.status !== 429)) return undefined;
  const headers = http.response.headers;
  const retryAfter = Number(headers['retry-after']);
  if (headers['retry-after'] !== undefined && Number.isFinite(retryAfter)) return Math.max(0, retryAfter * 1000);
  if (String(headers['x-ratelimit-remaining']) === '0' && headers['x-ratelimit-reset'] !== undefined) {
    // The reset is a whole second; a second more makes sure the new window has begun.
    return Math.max(0, Number(headers['x-ratelimit-reset']) * 1000 - now) + 1000;
  }
  const message = String((http.response.data as { message?: unknown } | undefined)?.message ?? http.message);
  if (http.status === 429 || /rate limit/i.test(message)) return SECONDARY_DEFAULT_WAIT_MS;
  return undefined;
}

function githubMessage(http: HttpErrorLike): string {
  const data = http.response?.data as { message?: unknown; errors?: unknown } | undefined;
  const message = typeof data?.message === 'string' ? data.message : http.message;
  const details = Array.isArray(data?.errors)
    ? data.errors
        .map((item) => (typeof item === 'string' ? item : ((item as { message?: string }).message ?? [(item as { field?: string }).field, (item as { code?: string }).code].filter(Boolean).join(' '))))
        .filter((text) => text !== '')
    : [];
  return details.length === 0 ? message : `${message}: ${details.join('; ')}`;
}

/** Maps whatever Octokit threw to a GitHubError about `doing` (e.g. "merging pull request #3"). */
export function toGitHubError(error: unknown, doing: string, config: Pick<GitHubConfig, 'owner' | 'repo' | 'baseUrl'>): GitHubError {
  if (error instanceof GitHubError) return error;
  const where = `${config.owner}/${config.repo}`;
  const http = asHttpError(error);
  if (http === undefined || http.response === undefined) {
    const cause = (http?.cause as Error | undefined)?.message ?? (error as Error | undefined)?.message ?? String(error);
    const timedOut = http?.name === 'TimeoutError' || (error as Error | undefined)?.name === 'TimeoutError' || /timeout|aborted/i.test(cause);
    return new GitHubError('NETWORK', `cannot reach GitHub at ${config.baseUrl} while ${doing}: ${timedOut ? 'no answer in time' : cause}`, {
      hint: 'check the network, or GITHUB_API_URL for GitHub Enterprise',
      cause: error,
    });
  }
  const message = githubMessage(http);
  const options = { status: http.status, cause: error };
  switch (http.status) {
    case 401:
      return new GitHubError('BAD_CREDENTIALS', `GitHub refused the token while ${doing}: ${message}`, {
        ...options,
        hint: 'check GITHUB_TOKEN, or run `gh auth login` again',
      });
    case 403:
      return new GitHubError('NO_PERMISSION', `no permission for ${doing} in ${where}: ${message}`, {
        ...options,
        hint: 'ask a maintainer of the repository for the access this needs, or use a token with it',
      });
    case 404:
      return new GitHubError('NOT_FOUND', `not found while ${doing} in ${where} (or the token cannot see it): ${message}`, options);
    case 405:
      return new GitHubError('NOT_MERGEABLE', `GitHub will not do ${doing}: ${message}`, options);
    case 409:
      return new GitHubError('HEAD_MODIFIED', `GitHub refused ${doing}: ${message}`, { ...options, hint: 'look at the pull request again, then retry' });
    case 422:
      return new GitHubError('INVALID_REQUEST', `GitHub refused ${doing}: ${message}`, options);
    default:
      return new GitHubError('GITHUB_UNAVAILABLE', `GitHub answered ${http.status} while ${doing}: ${message}`, { ...options, hint: 'try again later' });
  }
}

/**
 * Octokit for `config`, with rate limits handled: on a rate-limit answer it waits as GitHub asks
 * (at most `maxRateLimitWaitMs`) and retries once; a second rate-limit answer, or a reset further
 * away than the cap, becomes a RATE_LIMITED error saying when to try again.
 */
export function createOctokit(config: Pick<GitHubConfig, 'baseUrl' | 'token' | 'owner' | 'repo'>, options: ClientOptions = {}): Octokit {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const maxWait = options.maxRateLimitWaitMs ?? DEFAULT_MAX_WAIT_MS;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const octokit = new Octokit({
    auth: config.token,
    baseUrl: config.baseUrl,
    userAgent: options.userAgent ?? 'mergekey',
    // Failures become GitHubErrors that the caller reports; Octokit's own logging would repeat them.
    log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
    request: {
      fetch: (url: string | URL, init?: RequestInit) => fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) }),
    },
  });
  octokit.hook.wrap('request', async (request, requestOptions) => {
    try {
      return await request(requestOptions);
    } catch (first) {
      const waitMs = rateLimitWait(first, now());
      if (waitMs === undefined) throw first;
      const retryAt = now() + waitMs;
      const what = `${requestOptions.method} ${String(requestOptions.url)}`;
      if (waitMs > maxWait) {
        throw new GitHubError(
          'RATE_LIMITED',
          `GitHub's rate limit is exhausted and resets at ${new Date(retryAt).toISOString()}, in ${Math.ceil(waitMs / 1000)} s: longer than the ${Math.round(maxWait / 1000)} s this waits`,
          { status: asHttpError(first)?.status, retryAt, hint: `try again after ${new Date(retryAt).toISOString()}`, cause: first },
        );
      }
      options.onRateLimit?.({ waitMs, retryAt, method: requestOptions.method, url: String(requestOptions.url) });
      await sleep(waitMs);
      try {
        return await request(requestOptions);
      } catch (second) {
        const again = rateLimitWait(second, now());
        if (again === undefined) throw second;
        const nextAt = now() + again;
        throw new GitHubError(
          'RATE_LIMITED',
          `GitHub's rate limit was still exhausted after waiting ${Math.ceil(waitMs / 1000)} s and retrying once (${what})`,
          { status: asHttpError(second)?.status, retryAt: nextAt, hint: `try again after ${new Date(nextAt).toISOString()}`, cause: second },
        );
      }
    }
  });
  return octokit;
}

type OctokitPull = Awaited<ReturnType<Octokit['rest']['pulls']['get']>>['data'] | Awaited<ReturnType<Octokit['rest']['pulls']['list']>>['data'][number];

function toPullRequest(pull: OctokitPull, extra: { closedBy?: string | null } = {}): PullRequest {
  const full = 'merged' in pull ? pull : undefined;
  const labels = pull.labels.map((label) => (typeof label === 'string' ? label : label.name));
  return {
    number: pull.number,
    title: pull.title,
    body: pull.body ?? null,
    author: pull.user?.login ?? 'ghost',
    labels,
    state: pull.state === 'open' ? 'open' : 'closed',
    merged: full?.merged ?? pull.merged_at !== null,
    draft: pull.draft ?? false,
    headRef: pull.head.ref,
    headSha: pull.head.sha,
    baseRef: pull.base.ref,
    createdAt: pull.created_at,
    updatedAt: pull.updated_at,
    closedAt: pull.closed_at,
    mergedAt: pull.merged_at,
    mergeCommitSha: pull.merge_commit_sha,
    htmlUrl: pull.html_url,
    ...(full === undefined ? {} : { mergedBy: full.merged_by?.login ?? null }),
    ...extra,
  };
}

function toReview(review: Awaited<ReturnType<Octokit['rest']['pulls']['createReview']>>['data']): Review {
  return {
    id: review.id,
    author: review.user?.login ?? null,
    state: review.state as Review['state'],
    body: review.body,
    commitId: review.commit_id,
    submittedAt: review.submitted_at ?? null,
  };
}

function toComment(comment: Awaited<ReturnType<Octokit['rest']['issues']['createComment']>>['data']): Comment {
  return {
    id: comment.id,
    author: comment.user?.login ?? null,
    body: comment.body ?? '',
    createdAt: comment.created_at,
    updatedAt: comment.updated_at,
    htmlUrl: comment.html_url,
  };
}

function toStatus(status: Awaited<ReturnType<Octokit['rest']['repos']['createCommitStatus']>>['data']): CommitStatus {
  return {
    state: status.state as CommitState,
    context: status.context,
    description: status.description,
    targetUrl: status.target_url,
    creator: status.creator?.login ?? null,
    createdAt: status.created_at,
  };
}

/** The hidden line `upsertComment` looks for. */
export function commentMarker(marker: string): string {
  if (!/^[a-z0-9:._/-]+$/i.test(marker)) throw new TypeError(`comment marker "${marker}" must be letters, digits and : . _ / -`);
  return `<!-- ${marker} -->`;
}

/** The backend over GitHub's REST API for `config`'s repository. */
export function createGitHubClient(config: GitHubConfig, options: ClientOptions = {}): RequestsBackend {
  const octokit = createOctokit(config, options);
  const repo = { owner: config.owner, repo: config.repo };
  const call = async <T>(doing: string, work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      throw toGitHubError(error, doing, config);
    }
  };
  const listComments = (number: number) =>
    call(`listing the comments of pull request #${number}`, async () =>
      (await octokit.paginate(octokit.rest.issues.listComments, { ...repo, issue_number: number, per_page: 100 })).map(toComment),
    );

  const backend: RequestsBackend = {
    repository: { owner: config.owner, repo: config.repo, baseUrl: config.baseUrl },

    whoAmI: () =>
      call('finding who the token belongs to', async () => {
        const { data } = await octokit.rest.users.getAuthenticated();
        return { login: data.login, name: data.name ?? null };
      }),

    getRepository: () =>
      call(`reading ${config.owner}/${config.repo}`, async () => {
        const { data } = await octokit.rest.repos.get(repo);
        return {
          fullName: data.full_name,
          defaultBranch: data.default_branch,
          canPush: data.permissions?.push ?? false,
          isAdmin: data.permissions?.admin ?? false,
          allowMergeCommit: data.allow_merge_commit ?? true,
          allowSquashMerge: data.allow_squash_merge ?? true,
        };
      }),

    async openPullRequest(input) {
      const { data } = await call(`opening a pull request from ${input.head}`, () =>
        octokit.rest.pulls.create({ ...repo, head: input.head, base: input.base, title: input.title, body: input.body }),
      );
      if (input.labels === undefined || input.labels.length === 0) return toPullRequest(data);
      // The pull request exists by now: say so if labelling fails, so nobody opens it twice.
      const labels = await call(`labelling pull request #${data.number} (it was opened, but is not labelled)`, () =>
        octokit.rest.issues.addLabels({ ...repo, issue_number: data.number, labels: [...(input.labels ?? [])] }),
      );
      return { ...toPullRequest(data), labels: labels.data.map((label) => label.name) };
    },

    listPullRequests: (filter = {}) =>
      call('listing pull requests', async () => {
        const head = filter.head === undefined ? {} : { head: filter.head.includes(':') ? filter.head : `${config.owner}:${filter.head}` };
        const pulls = await octokit.paginate(octokit.rest.pulls.list, {
          ...repo,
          state: filter.state ?? 'open',
          ...(filter.base === undefined ? {} : { base: filter.base }),
          ...head,
          sort: 'created',
          direction: filter.direction ?? 'desc',
          per_page: 100,
        });
        return pulls.map((pull) => toPullRequest(pull));
      }),

    getPullRequest: (number) =>
      call(`reading pull request #${number}`, async () => {
        const { data } = await octokit.rest.pulls.get({ ...repo, pull_number: number });
        if (data.state === 'open') return toPullRequest(data);
        // Only the issue says who closed it; the pull request says who merged it.
        const issue = await octokit.rest.issues.get({ ...repo, issue_number: number });
        return toPullRequest(data, { closedBy: issue.data.closed_by?.login ?? null });
      }),

    listChangedFiles: (number) =>
      call(`listing the files of pull request #${number}`, async () =>
        fromGitHubFiles(await octokit.paginate(octokit.rest.pulls.listFiles, { ...repo, pull_number: number, per_page: 100 })),
      ),

    closePullRequest: (number) =>
      call(`closing pull request #${number}`, async () => {
        const { data } = await octokit.rest.pulls.update({ ...repo, pull_number: number, state: 'closed' });
        const issue = await octokit.rest.issues.get({ ...repo, issue_number: number });
        return toPullRequest(data, { closedBy: issue.data.closed_by?.login ?? null });
      }),

    mergePullRequest: (number, merge = {}) =>
      call(`merging pull request #${number}`, async () => {
        const { data } = await octokit.rest.pulls.merge({
          ...repo,
          pull_number: number,
          merge_method: merge.method ?? 'merge',
          ...(merge.expectedHeadSha === undefined ? {} : { sha: merge.expectedHeadSha }),
          ...(merge.commitTitle === undefined ? {} : { commit_title: merge.commitTitle }),
          ...(merge.commitMessage === undefined ? {} : { commit_message: merge.commitMessage }),
        });
        return { sha: data.sha };
      }),

    approve: (number, body, commitId) =>
      call(`approving pull request #${number}`, async () =>
        toReview(
          (
            await octokit.rest.pulls.createReview({
              ...repo,
              pull_number: number,
              event: 'APPROVE',
              ...(body === undefined ? {} : { body }),
              ...(commitId === undefined ? {} : { commit_id: commitId }),
            })
          ).data,
        ),
      ),

    requestChanges: (number, body) =>
      call(`requesting changes on pull request #${number}`, async () =>
        toReview((await octokit.rest.pulls.createReview({ ...repo, pull_number: number, event: 'REQUEST_CHANGES', body })).data),
      ),

    listReviews: (number) =>
      call(`listing the reviews of pull request #${number}`, async () =>
        (await octokit.paginate(octokit.rest.pulls.listReviews, { ...repo, pull_number: number, per_page: 100 })).map(toReview),
      ),

    comment: (number, body) =>
      call(`commenting on pull request #${number}`, async () => toComment((await octokit.rest.issues.createComment({ ...repo, issue_number: number, body })).data)),

    async upsertComment(number, marker, body) {
      const hidden = commentMarker(marker);
      const text = body.includes(hidden) ? body : `${hidden}\n${body}`;
      const existing = (await listComments(number)).filter((comment) => comment.body.includes(hidden)).at(-1);
      if (existing === undefined) return { ...(await backend.comment(number, text)), created: true };
      if (existing.body === text) return { ...existing, created: false };
      try {
        return await call(`updating comment ${existing.id} on pull request #${number}`, async () => ({
          ...toComment((await octokit.rest.issues.updateComment({ ...repo, comment_id: existing.id, body: text })).data),
          created: false,
        }));
      } catch (error) {
        // Someone else's comment (another bot's token, say) cannot be edited: start our own.
        if (error instanceof GitHubError && error.code === 'NO_PERMISSION') return { ...(await backend.comment(number, text)), created: true };
        throw error;
      }
    },

    listComments,

    addLabels: (number, labels) =>
      call(`labelling pull request #${number}`, async () =>
        (await octokit.rest.issues.addLabels({ ...repo, issue_number: number, labels: [...labels] })).data.map((label) => label.name),
      ),

    setCommitStatus: (sha, status) =>
      call(`setting the ${status.context} status of commit ${sha.slice(0, 12)}`, async () =>
        toStatus(
          (
            await octokit.rest.repos.createCommitStatus({
              ...repo,
              sha,
              state: status.state,
              context: status.context,
              // GitHub keeps at most 140 characters of a description.
              ...(status.description === undefined ? {} : { description: status.description.slice(0, 140) }),
              ...(status.targetUrl === undefined ? {} : { target_url: status.targetUrl }),
            })
          ).data,
        ),
      ),

    listCommitStatuses: (ref) =>
      call(`listing the statuses of ${ref}`, async () =>
        (await octokit.paginate(octokit.rest.repos.listCommitStatusesForRef, { ...repo, ref, per_page: 100 })).map(toStatus),
      ),

    pullRequestsForCommit: (sha) =>
      call(`finding the pull requests of commit ${sha.slice(0, 12)}`, async () =>
        (await octokit.paginate(octokit.rest.repos.listPullRequestsAssociatedWithCommit, { ...repo, commit_sha: sha, per_page: 100 })).map((pull) =>
          toPullRequest(pull as OctokitPull),
        ),
      ),
  };
  return backend;
}

/** Converts GitHub's "list pull request files" entries (diff-entry) to changed paths. */
export function fromGitHubFiles(files: readonly { filename: string; status: string; previous_filename?: string }[]): ChangedPath[] {
  return files.map((file) => {
    switch (file.status) {
      case 'added':
        return { status: 'added', path: file.filename };
      case 'removed':
        return { status: 'deleted', path: file.filename };
      case 'renamed':
      case 'copied':
        return file.previous_filename === undefined
          ? { status: 'added', path: file.filename }
          : { status: file.status, path: file.filename, previousPath: file.previous_filename };
      default:
        return { status: 'modified', path: file.filename };
    }
  });
}
