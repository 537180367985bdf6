// Pull requests: create, list, get, update (close, reopen, retitle), merge for real into the bare
// repository, changed files, reviews, and the pull requests a commit belongs to.
import type { FastifyInstance } from 'fastify';
import type { Identity } from '../git.ts';
import { ApiError, json, notFound, paginate, stringField, unprocessable, validationFailed, type RouteContext } from '../http.ts';
import { atLeast, type MergeMethod, type PullRecord, type RepoRecord, type ReviewRecord, type UserRecord } from '../model.ts';
import { diffEntry, iso, pullRequest, pullRequestReview, pullRequestSimple, type PullFigures } from '../shapes.ts';

const DOCS = {
  create: 'https://docs.github.com/rest/pulls/pulls#create-a-pull-request',
  list: 'https://docs.github.com/rest/pulls/pulls#list-pull-requests',
  get: 'https://docs.github.com/rest/pulls/pulls#get-a-pull-request',
  update: 'https://docs.github.com/rest/pulls/pulls#update-a-pull-request',
  merge: 'https://docs.github.com/rest/pulls/pulls#merge-a-pull-request',
  files: 'https://docs.github.com/rest/pulls/pulls#list-pull-requests-files',
  createReview: 'https://docs.github.com/rest/pulls/reviews#create-a-review-for-a-pull-request',
  listReviews: 'https://docs.github.com/rest/pulls/reviews#list-reviews-for-a-pull-request',
  forCommit: 'https://docs.github.com/rest/commits/commits#list-pull-requests-associated-with-a-commit',
};

/** What GitHub answers when branch protection restricts who may push to the base branch. */
const PROTECTED_BRANCH = "You're not authorized to push to this branch. Visit https://docs.github.com/articles/about-protected-branches/ for more information.";

const GITHUB_COMMITTER = { name: 'GitHub', email: 'noreply@github.com' };

export function identity(user: UserRecord, time: number): Identity {
  return { name: user.name ?? user.login, email: user.email ?? `${user.id}+${user.login}@users.noreply.github.com`, time };
}

export function findPull(repo: RepoRecord, raw: string, docs: string): PullRecord {
  const number = Number(raw);
  const pull = repo.pulls.find((candidate) => candidate.number === number);
  if (pull === undefined) throw notFound(docs);
  return pull;
}

/** GitHub keeps an open pull request's head and base commits current as branches move. */
export async function refresh(repo: RepoRecord, ...pulls: PullRecord[]): Promise<void> {
  const open = pulls.filter((pull) => pull.state === 'open');
  if (open.length === 0) return;
  const branches = await repo.git.branches();
  for (const pull of open) {
    pull.headSha = branches.get(pull.headRef) ?? pull.headSha;
    pull.baseSha = branches.get(pull.baseRef) ?? pull.baseSha;
  }
}

/** Approving reviews that count: the latest decisive review of each writer other than the author. */
function approvals(context: RouteContext, repo: RepoRecord, pull: PullRecord): number {
  const latest = new Map<string, ReviewRecord>();
  for (const review of pull.reviews) if (review.state !== 'COMMENTED') latest.set(review.author.toLowerCase(), review);
  return [...latest.values()].filter(
    (review) => review.state === 'APPROVED' && atLeast(context.state.permission(repo, review.author), 'write'),
  ).length;
}

async function figures(context: RouteContext, repo: RepoRecord, pull: PullRecord): Promise<PullFigures> {
  const [base, merge] = await Promise.all([
    repo.git.mergeBase(pull.baseSha, pull.headSha),
    pull.state === 'open' ? repo.git.mergeTree(pull.baseSha, pull.headSha) : undefined,
  ]);
  const from = base ?? pull.baseSha;
  const [files, commits] = await Promise.all([repo.git.diff(from, pull.headSha), repo.git.countCommits(from, pull.headSha)]);
  const comments = repo.comments.filter((comment) => comment.issueNumber === pull.number).length;
  if (merge === undefined) return { mergeable: null, mergeableState: 'unknown', files, commits, comments };
  const mergeableState = !merge.clean ? 'dirty' : approvals(context, repo, pull) < repo.requiredApprovingReviews ? 'blocked' : 'clean';
  return { mergeable: merge.clean, mergeableState, files, commits, comments };
}

export function registerPulls(app: FastifyInstance, context: RouteContext): void {
  const full = async (repo: RepoRecord, pull: PullRecord) => pullRequest(context.pullContext(repo), pull, await figures(context, repo, pull));

  app.post('/repos/:owner/:repo/pulls', async (request, reply) => {
    const repo = context.repository(request, 'read', DOCS.create);
    const caller = context.caller(request);
    const title = stringField(request.body, 'title');
    const head = stringField(request.body, 'head');
    const base = stringField(request.body, 'base');
    for (const [field, value] of [['title', title], ['head', head], ['base', base]] as const) {
      if (value === undefined || value === '') throw validationFailed(DOCS.create, { resource: 'PullRequest', field, code: 'missing_field' });
    }
    const [headOwner, headRef] = head!.includes(':') ? (head!.split(':', 2) as [string, string]) : [repo.owner, head!];
    return context.serialize(repo, async () => {
      const branches = await repo.git.branches();
      const baseSha = branches.get(base!);
      if (baseSha === undefined) throw validationFailed(DOCS.create, { resource: 'PullRequest', field: 'base', code: 'invalid' });
      const headSha = headOwner.toLowerCase() === repo.owner.toLowerCase() ? branches.get(headRef) : undefined;
      if (headSha === undefined) throw validationFailed(DOCS.create, { resource: 'PullRequest', field: 'head', code: 'invalid' });
      if (repo.pulls.some((pull) => pull.state === 'open' && pull.headRef === headRef && pull.baseRef === base)) {
        throw validationFailed(DOCS.create, { resource: 'PullRequest', code: 'custom', message: `A pull request already exists for ${repo.owner}:${headRef}.` });
      }
      if (await repo.git.isAncestor(headSha, baseSha)) {
        throw validationFailed(DOCS.create, { resource: 'PullRequest', code: 'custom', message: `No commits between ${base} and ${headRef}` });
      }
      const now = iso(context.now());
      const pull: PullRecord = {
        id: context.state.newId(),
        number: repo.pulls.length + 1,
        title: title!,
        body: stringField(request.body, 'body') ?? null,
        author: caller.login,
        state: 'open',
        draft: (request.body as { draft?: unknown }).draft === true,
        headRef,
        headSha,
        baseRef: base!,
        baseSha,
        labels: [],
        maintainerCanModify: (request.body as { maintainer_can_modify?: unknown }).maintainer_can_modify !== false,
        createdAt: now,
        updatedAt: now,
        closedAt: null,
        closedBy: null,
        mergedAt: null,
        mergedBy: null,
        mergeCommitSha: null,
        reviews: [],
      };
      repo.pulls.push(pull);
      reply.header('location', `${context.site.api}/repos/${repo.owner}/${repo.name}/pulls/${pull.number}`);
      return json(reply, 201, await full(repo, pull));
    });
  });

  app.get('/repos/:owner/:repo/pulls', async (request, reply) => {
    const repo = context.repository(request, 'read', DOCS.list);
    const query = request.query as Record<string, string | undefined>;
    const state = query.state ?? 'open';
    const sort = query.sort ?? 'created';
    if (!['open', 'closed', 'all'].includes(state)) throw validationFailed(DOCS.list, { resource: 'Search', field: 'state', code: 'invalid' });
    if (!['created', 'updated', 'popularity', 'long-running'].includes(sort)) {
      throw validationFailed(DOCS.list, { resource: 'Search', field: 'sort', code: 'invalid' });
    }
    const direction = query.direction ?? (sort === 'created' ? 'desc' : 'asc');
    const [headOwner, headRef] = query.head === undefined ? [] : query.head.includes(':') ? query.head.split(':', 2) : [repo.owner, query.head];
    await refresh(repo, ...repo.pulls);
    const key = (pull: PullRecord): string | number =>
      sort === 'updated' ? pull.updatedAt : sort === 'popularity' ? repo.comments.filter((c) => c.issueNumber === pull.number).length : pull.number;
    const selected = repo.pulls
      .filter((pull) => state === 'all' || pull.state === state)
      .filter((pull) => query.base === undefined || pull.baseRef === query.base)
      .filter((pull) => headRef === undefined || (headOwner?.toLowerCase() === repo.owner.toLowerCase() && pull.headRef === headRef))
      .sort((a, b) => {
        const [x, y] = [key(a), key(b)];
        const order = x < y ? -1 : x > y ? 1 : a.number - b.number;
        return direction === 'asc' ? order : -order;
      });
    const page = paginate(request, reply, context.site, selected, DOCS.list);
    return json(reply, 200, page.map((pull) => pullRequestSimple(context.pullContext(repo), pull)));
  });

  app.get('/repos/:owner/:repo/pulls/:pull_number', async (request, reply) => {
    const repo = context.repository(request, 'read', DOCS.get);
    const pull = findPull(repo, (request.params as { pull_number: string }).pull_number, DOCS.get);
    await refresh(repo, pull);
    return json(reply, 200, await full(repo, pull));
  });

  app.patch('/repos/:owner/:repo/pulls/:pull_number', async (request, reply) => {
    const repo = context.repository(request, 'read', DOCS.update);
    const caller = context.caller(request);
    const pull = findPull(repo, (request.params as { pull_number: string }).pull_number, DOCS.update);
    const isAuthor = pull.author.toLowerCase() === caller.login.toLowerCase();
    if (!isAuthor && !atLeast(context.state.permission(repo, caller.login), 'triage')) {
      throw new ApiError(403, 'Must have triage access or be the author to update a pull request.', DOCS.update);
    }
    return context.serialize(repo, async () => {
      await refresh(repo, pull);
      const title = stringField(request.body, 'title');
      const body = stringField(request.body, 'body');
      const state = stringField(request.body, 'state');
      const base = stringField(request.body, 'base');
      if (state !== undefined && state !== 'open' && state !== 'closed') {
        throw validationFailed(DOCS.update, { resource: 'PullRequest', field: 'state', code: 'invalid' });
      }
      if (base !== undefined && (await repo.git.branch(base)) === undefined) {
        throw validationFailed(DOCS.update, { resource: 'PullRequest', field: 'base', code: 'invalid' });
      }
      const now = iso(context.now());
      if (state === 'open' && pull.state === 'closed') {
        const headSha = await repo.git.branch(pull.headRef);
        if (pull.mergedAt !== null || headSha === undefined) {
          throw validationFailed(DOCS.update, { resource: 'PullRequest', field: 'state', code: 'custom', message: 'state cannot be changed. The pull request cannot be reopened.' });
        }
        Object.assign(pull, { state: 'open', closedAt: null, closedBy: null });
        await refresh(repo, pull);
      } else if (state === 'closed' && pull.state === 'open') {
        Object.assign(pull, { state: 'closed', closedAt: now, closedBy: caller.login });
      }
      if (title !== undefined) pull.title = title;
      if (body !== undefined) pull.body = body;
      if (base !== undefined && pull.state === 'open') pull.baseRef = base;
      pull.updatedAt = now;
      await refresh(repo, pull);
      return json(reply, 200, await full(repo, pull));
    });
  });

  app.put('/repos/:owner/:repo/pulls/:pull_number/merge', async (request, reply) => {
    const repo = context.repository(request, 'read', DOCS.merge);
    const caller = context.caller(request);
    const pull = findPull(repo, (request.params as { pull_number: string }).pull_number, DOCS.merge);
    if (!atLeast(context.state.permission(repo, caller.login), 'write')) {
      throw new ApiError(403, 'Must have push access to merge pull requests.', DOCS.merge);
    }
    const method = stringField(request.body, 'merge_method') ?? 'merge';
    if (!['merge', 'squash', 'rebase'].includes(method)) {
      throw validationFailed(DOCS.merge, { resource: 'PullRequest', field: 'merge_method', code: 'invalid' });
    }
    return context.serialize(repo, async () => {
      if (pull.state !== 'open') throw new ApiError(405, 'Pull Request is not mergeable', DOCS.merge);
      if (!repo.mergeMethods.has(method as MergeMethod)) {
        const what = { merge: 'Merge commits', squash: 'Squash merges', rebase: 'Rebase merges' }[method as 'merge'];
        throw new ApiError(405, `${what} are not allowed on this repository.`, DOCS.merge);
      }
      // Merging writes a commit to the base branch, so it is a push there, and branch protection's
      // restrictions on who may push apply to it.
      if (!context.state.mayPush(repo, caller.login, pull.baseRef)) throw new ApiError(405, PROTECTED_BRANCH, DOCS.merge);
      await refresh(repo, pull);
      const expected = stringField(request.body, 'sha');
      if (expected !== undefined && expected !== pull.headSha) {
        throw new ApiError(409, 'Head branch was modified. Review and try the merge again.', DOCS.merge);
      }
      const required = repo.requiredApprovingReviews;
      if (approvals(context, repo, pull) < required) {
        throw new ApiError(405, `At least ${required} approving review${required === 1 ? ' is' : 's are'} required by reviewers with write access.`, DOCS.merge);
      }
      const baseTip = pull.baseSha;
      const merged = await repo.git.mergeTree(baseTip, pull.headSha);
      if (!merged.clean) throw new ApiError(405, 'Pull Request is not mergeable', DOCS.merge);

      const time = Math.floor(context.now() / 1000);
      const committer = { ...GITHUB_COMMITTER, time };
      const title = stringField(request.body, 'commit_title');
      const message = stringField(request.body, 'commit_message');
      let sha: string;
      if (method === 'squash') {
        const subjects = (await repo.git.run(['log', '--reverse', '--format=* %s', `${baseTip}..${pull.headSha}`])).stdout.trim();
        const text = `${title ?? `${pull.title} (#${pull.number})`}\n\n${message ?? subjects}`;
        sha = await repo.git.commitTree(merged.tree, [baseTip], text, identity(context.state.user(pull.author)!, time), committer);
      } else {
        const text = `${title ?? `Merge pull request #${pull.number} from ${repo.owner}/${pull.headRef}`}\n\n${message ?? pull.title}`;
        sha = await repo.git.commitTree(merged.tree, [baseTip, pull.headSha], text, identity(caller, time), committer);
      }
      if (!(await repo.git.updateRef(`refs/heads/${pull.baseRef}`, sha, baseTip))) {
        throw new ApiError(409, 'Base branch was modified. Review and try the merge again.', DOCS.merge);
      }
      const now = iso(context.now());
      Object.assign(pull, { state: 'closed', closedAt: now, closedBy: caller.login, mergedAt: now, mergedBy: caller.login, mergeCommitSha: sha, updatedAt: now });
      return json(reply, 200, { sha, merged: true, message: 'Pull Request successfully merged' });
    });
  });

  app.get('/repos/:owner/:repo/pulls/:pull_number/files', async (request, reply) => {
    const repo = context.repository(request, 'read', DOCS.files);
    const pull = findPull(repo, (request.params as { pull_number: string }).pull_number, DOCS.files);
    await refresh(repo, pull);
    const { files } = await figures(context, repo, pull);
    const page = paginate(request, reply, context.site, files, DOCS.files);
    return json(reply, 200, page.map((file) => diffEntry(context.site, repo, pull.headSha, file)));
  });

  app.post('/repos/:owner/:repo/pulls/:pull_number/reviews', async (request, reply) => {
    const repo = context.repository(request, 'read', DOCS.createReview);
    const caller = context.caller(request);
    const pull = findPull(repo, (request.params as { pull_number: string }).pull_number, DOCS.createReview);
    const event = stringField(request.body, 'event');
    const body = stringField(request.body, 'body') ?? '';
    const states = { APPROVE: 'APPROVED', REQUEST_CHANGES: 'CHANGES_REQUESTED', COMMENT: 'COMMENTED' } as const;
    if (event === undefined || !(event in states)) {
      // Without an event GitHub makes a pending (draft) review, which Mergekey never needs.
      throw unprocessable(DOCS.createReview, 'This stand-in only takes submitted reviews: event must be APPROVE, REQUEST_CHANGES or COMMENT');
    }
    if (pull.state !== 'open') throw unprocessable(DOCS.createReview, 'Can not review a closed pull request');
    const isAuthor = pull.author.toLowerCase() === caller.login.toLowerCase();
    if (isAuthor && event === 'APPROVE') throw unprocessable(DOCS.createReview, 'Can not approve your own pull request');
    if (isAuthor && event === 'REQUEST_CHANGES') throw unprocessable(DOCS.createReview, 'Can not request changes on your own pull request');
    if (event !== 'APPROVE' && body === '') throw unprocessable(DOCS.createReview, `Body is required when the review event is ${event}`);
    await refresh(repo, pull);
    const review: ReviewRecord = {
      id: context.state.newId(),
      author: caller.login,
      body,
      state: states[event as keyof typeof states],
      commitId: stringField(request.body, 'commit_id') ?? pull.headSha,
      submittedAt: iso(context.now()),
    };
    pull.reviews.push(review);
    pull.updatedAt = review.submittedAt;
    return json(reply, 200, pullRequestReview(context.pullContext(repo), pull, review));
  });

  app.get('/repos/:owner/:repo/pulls/:pull_number/reviews', async (request, reply) => {
    const repo = context.repository(request, 'read', DOCS.listReviews);
    const pull = findPull(repo, (request.params as { pull_number: string }).pull_number, DOCS.listReviews);
    const page = paginate(request, reply, context.site, pull.reviews, DOCS.listReviews);
    return json(reply, 200, page.map((review) => pullRequestReview(context.pullContext(repo), pull, review)));
  });

  app.get('/repos/:owner/:repo/commits/:commit_sha/pulls', async (request, reply) => {
    const repo = context.repository(request, 'read', DOCS.forCommit);
    const sha = await repo.git.resolve((request.params as { commit_sha: string }).commit_sha);
    if (sha === undefined) throw validationFailed(DOCS.forCommit, { resource: 'Commit', field: 'commit_sha', code: 'invalid' });
    await refresh(repo, ...repo.pulls);
    const pulls = repo.pulls.filter((pull) => pull.mergeCommitSha === sha || pull.headSha === sha);
    const page = paginate(request, reply, context.site, pulls, DOCS.forCommit);
    return json(reply, 200, page.map((pull) => pullRequestSimple(context.pullContext(repo), pull)));
  });
}
