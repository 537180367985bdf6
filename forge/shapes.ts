// Response bodies in the shapes of GitHub's OpenAPI description (components/schemas/*). Each
// builder is named after the schema it produces; `stand-in.openapi.test.ts` checks every response
// against that schema, with no property the description does not know.
import type { FileChange } from './git.ts';
import type { CommentRecord, LabelRecord, Permission, PullRecord, RepoRecord, ReviewRecord, StatusRecord, UserRecord } from './model.ts';
import { atLeast } from './model.ts';

/** Where the stand-in lives: API URLs and the (not served) web URLs GitHub would link to. */
export interface Site {
  api: string;
  web: string;
}

export function nodeId(prefix: string, id: number): string {
  return Buffer.from(`${prefix}_${id}`).toString('base64url');
}

/** GitHub's timestamps: ISO 8601 in UTC with whole seconds. */
export function iso(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

export function simpleUser(site: Site, user: UserRecord) {
  const api = `${site.api}/users/${user.login}`;
  return {
    login: user.login,
    id: user.id,
    node_id: nodeId('U', user.id),
    avatar_url: `${site.web}/avatars/u/${user.id}`,
    gravatar_id: '',
    url: api,
    html_url: `${site.web}/${user.login}`,
    followers_url: `${api}/followers`,
    following_url: `${api}/following{/other_user}`,
    gists_url: `${api}/gists{/gist_id}`,
    starred_url: `${api}/starred{/owner}{/repo}`,
    subscriptions_url: `${api}/subscriptions`,
    organizations_url: `${api}/orgs`,
    repos_url: `${api}/repos`,
    events_url: `${api}/events{/privacy}`,
    received_events_url: `${api}/received_events`,
    type: user.type,
    user_view_type: 'public',
    site_admin: false,
  };
}

export function publicUser(site: Site, user: UserRecord, publicRepos: number) {
  return {
    ...simpleUser(site, user),
    name: user.name,
    company: null,
    blog: '',
    location: null,
    email: user.email,
    hireable: null,
    bio: null,
    twitter_username: null,
    public_repos: publicRepos,
    public_gists: 0,
    followers: 0,
    following: 0,
    created_at: user.createdAt,
    updated_at: user.createdAt,
  };
}

export function privateUser(site: Site, user: UserRecord, privateRepos: number) {
  return {
    ...publicUser(site, user, 0),
    private_gists: 0,
    total_private_repos: privateRepos,
    owned_private_repos: privateRepos,
    disk_usage: 0,
    collaborators: 0,
    two_factor_authentication: true,
  };
}

function repositoryUrls(site: Site, repo: RepoRecord) {
  const api = `${site.api}/repos/${repo.owner}/${repo.name}`;
  return {
    url: api,
    html_url: `${site.web}/${repo.owner}/${repo.name}`,
    archive_url: `${api}/{archive_format}{/ref}`,
    assignees_url: `${api}/assignees{/user}`,
    blobs_url: `${api}/git/blobs{/sha}`,
    branches_url: `${api}/branches{/branch}`,
    collaborators_url: `${api}/collaborators{/collaborator}`,
    comments_url: `${api}/comments{/number}`,
    commits_url: `${api}/commits{/sha}`,
    compare_url: `${api}/compare/{base}...{head}`,
    contents_url: `${api}/contents/{+path}`,
    contributors_url: `${api}/contributors`,
    deployments_url: `${api}/deployments`,
    downloads_url: `${api}/downloads`,
    events_url: `${api}/events`,
    forks_url: `${api}/forks`,
    git_commits_url: `${api}/git/commits{/sha}`,
    git_refs_url: `${api}/git/refs{/sha}`,
    git_tags_url: `${api}/git/tags{/sha}`,
    hooks_url: `${api}/hooks`,
    issue_comment_url: `${api}/issues/comments{/number}`,
    issue_events_url: `${api}/issues/events{/number}`,
    issues_url: `${api}/issues{/number}`,
    keys_url: `${api}/keys{/key_id}`,
    labels_url: `${api}/labels{/name}`,
    languages_url: `${api}/languages`,
    merges_url: `${api}/merges`,
    milestones_url: `${api}/milestones{/number}`,
    notifications_url: `${api}/notifications{?since,all,participating}`,
    pulls_url: `${api}/pulls{/number}`,
    releases_url: `${api}/releases{/id}`,
    stargazers_url: `${api}/stargazers`,
    statuses_url: `${api}/statuses/{sha}`,
    subscribers_url: `${api}/subscribers`,
    subscription_url: `${api}/subscription`,
    tags_url: `${api}/tags`,
    teams_url: `${api}/teams`,
    trees_url: `${api}/git/trees{/sha}`,
  };
}

function permissionsOf(held: Permission | undefined) {
  return {
    admin: atLeast(held, 'admin'),
    maintain: atLeast(held, 'maintain'),
    push: atLeast(held, 'write'),
    triage: atLeast(held, 'triage'),
    pull: atLeast(held, 'read'),
  };
}

export function minimalRepository(site: Site, repo: RepoRecord, owner: UserRecord) {
  return {
    id: repo.id,
    node_id: nodeId('R', repo.id),
    name: repo.name,
    full_name: `${repo.owner}/${repo.name}`,
    owner: simpleUser(site, owner),
    private: true,
    description: null,
    fork: false,
    ...repositoryUrls(site, repo),
  };
}

/** components/schemas/repository: the repository inside a pull request's head and base. */
export function repository(site: Site, repo: RepoRecord, owner: UserRecord, pushedAt: string) {
  const openIssues = repo.pulls.filter((pull) => pull.state === 'open').length;
  return {
    ...minimalRepository(site, repo, owner),
    git_url: `${site.web.replace(/^https?/, 'git')}/${repo.owner}/${repo.name}.git`,
    ssh_url: `git@${new URL(site.web).host}:${repo.owner}/${repo.name}.git`,
    clone_url: `${site.web}/${repo.owner}/${repo.name}.git`,
    svn_url: `${site.web}/${repo.owner}/${repo.name}`,
    mirror_url: null,
    homepage: null,
    language: null,
    forks: 0,
    forks_count: 0,
    stargazers_count: 0,
    watchers: 0,
    watchers_count: 0,
    size: 0,
    default_branch: repo.defaultBranch,
    open_issues: openIssues,
    open_issues_count: openIssues,
    is_template: false,
    topics: [],
    has_issues: true,
    has_projects: false,
    has_wiki: false,
    has_pages: false,
    has_downloads: false,
    has_discussions: false,
    archived: false,
    disabled: false,
    visibility: 'private',
    license: null,
    pushed_at: pushedAt,
    created_at: repo.createdAt,
    updated_at: pushedAt,
    allow_forking: false,
    web_commit_signoff_required: false,
  };
}

/** components/schemas/full-repository: GET /repos/{owner}/{repo}, with the caller's permissions. */
export function fullRepository(site: Site, repo: RepoRecord, owner: UserRecord, pushedAt: string, callerPermission: Permission | undefined) {
  return {
    ...repository(site, repo, owner, pushedAt),
    permissions: permissionsOf(callerPermission),
    allow_merge_commit: repo.mergeMethods.has('merge'),
    allow_squash_merge: repo.mergeMethods.has('squash'),
    allow_rebase_merge: repo.mergeMethods.has('rebase'),
    allow_auto_merge: false,
    delete_branch_on_merge: false,
    allow_update_branch: false,
    network_count: 0,
    subscribers_count: 0,
  };
}

export function label(site: Site, repo: RepoRecord, record: LabelRecord) {
  return {
    id: record.id,
    node_id: nodeId('LA', record.id),
    url: `${site.api}/repos/${repo.owner}/${repo.name}/labels/${encodeURIComponent(record.name)}`,
    name: record.name,
    description: record.description,
    color: record.color,
    default: false,
  };
}

export function authorAssociation(repo: RepoRecord, login: string, held: Permission | undefined): 'OWNER' | 'COLLABORATOR' | 'NONE' {
  if (login.toLowerCase() === repo.owner.toLowerCase()) return 'OWNER';
  return held === undefined ? 'NONE' : 'COLLABORATOR';
}

export interface PullContext {
  site: Site;
  repo: RepoRecord;
  owner: UserRecord;
  pushedAt: string;
  user(login: string): UserRecord;
  permission(login: string): Permission | undefined;
}

function pullUrls(site: Site, repo: RepoRecord, number: number, headSha: string) {
  const api = `${site.api}/repos/${repo.owner}/${repo.name}`;
  const web = `${site.web}/${repo.owner}/${repo.name}`;
  return {
    url: `${api}/pulls/${number}`,
    html_url: `${web}/pull/${number}`,
    diff_url: `${web}/pull/${number}.diff`,
    patch_url: `${web}/pull/${number}.patch`,
    issue_url: `${api}/issues/${number}`,
    commits_url: `${api}/pulls/${number}/commits`,
    review_comments_url: `${api}/pulls/${number}/comments`,
    review_comment_url: `${api}/pulls/comments{/number}`,
    comments_url: `${api}/issues/${number}/comments`,
    statuses_url: `${api}/statuses/${headSha}`,
  };
}

function branchRef(context: PullContext, ref: string, sha: string) {
  return {
    label: `${context.repo.owner}:${ref}`,
    ref,
    sha,
    user: simpleUser(context.site, context.owner),
    repo: repository(context.site, context.repo, context.owner, context.pushedAt),
  };
}

/** components/schemas/pull-request-simple: an entry of GET /repos/{owner}/{repo}/pulls. */
export function pullRequestSimple(context: PullContext, pull: PullRecord) {
  const { site, repo } = context;
  const urls = pullUrls(site, repo, pull.number, pull.headSha);
  const labels = pull.labels.map((name) => label(site, repo, repo.labels.get(name.toLowerCase())!));
  return {
    id: pull.id,
    node_id: nodeId('PR', pull.id),
    number: pull.number,
    state: pull.state,
    locked: false,
    title: pull.title,
    user: simpleUser(site, context.user(pull.author)),
    body: pull.body,
    labels,
    milestone: null,
    active_lock_reason: null,
    created_at: pull.createdAt,
    updated_at: pull.updatedAt,
    closed_at: pull.closedAt,
    merged_at: pull.mergedAt,
    merge_commit_sha: pull.mergeCommitSha,
    assignee: null,
    assignees: [],
    requested_reviewers: [],
    requested_teams: [],
    head: branchRef(context, pull.headRef, pull.headSha),
    base: branchRef(context, pull.baseRef, pull.baseSha),
    _links: {
      self: { href: urls.url },
      html: { href: urls.html_url },
      issue: { href: urls.issue_url },
      comments: { href: urls.comments_url },
      review_comments: { href: urls.review_comments_url },
      review_comment: { href: urls.review_comment_url },
      commits: { href: urls.commits_url },
      statuses: { href: urls.statuses_url },
    },
    author_association: authorAssociation(repo, pull.author, context.permission(pull.author)),
    auto_merge: null,
    draft: pull.draft,
    ...urls,
  };
}

export interface PullFigures {
  mergeable: boolean | null;
  mergeableState: 'clean' | 'dirty' | 'blocked' | 'unknown';
  commits: number;
  files: FileChange[];
  comments: number;
}

/** components/schemas/pull-request: GET, POST and PATCH of one pull request. */
export function pullRequest(context: PullContext, pull: PullRecord, figures: PullFigures) {
  return {
    ...pullRequestSimple(context, pull),
    merged: pull.mergedAt !== null,
    mergeable: figures.mergeable,
    rebaseable: false,
    mergeable_state: figures.mergeableState,
    merged_by: pull.mergedBy === null ? null : simpleUser(context.site, context.user(pull.mergedBy)),
    comments: figures.comments,
    review_comments: 0,
    maintainer_can_modify: pull.maintainerCanModify,
    commits: figures.commits,
    additions: figures.files.reduce((sum, file) => sum + file.additions, 0),
    deletions: figures.files.reduce((sum, file) => sum + file.deletions, 0),
    changed_files: figures.files.length,
  };
}

/** components/schemas/issue: a pull request seen through the issues API (it carries `closed_by`). */
export function issue(context: PullContext, pull: PullRecord, comments: number) {
  const { site, repo } = context;
  const api = `${site.api}/repos/${repo.owner}/${repo.name}/issues/${pull.number}`;
  const web = `${site.web}/${repo.owner}/${repo.name}`;
  return {
    id: pull.id + 500_000,
    node_id: nodeId('I', pull.id),
    url: api,
    repository_url: `${site.api}/repos/${repo.owner}/${repo.name}`,
    labels_url: `${api}/labels{/name}`,
    comments_url: `${api}/comments`,
    events_url: `${api}/events`,
    html_url: `${web}/pull/${pull.number}`,
    number: pull.number,
    state: pull.state,
    state_reason: null,
    title: pull.title,
    body: pull.body,
    user: simpleUser(site, context.user(pull.author)),
    labels: pull.labels.map((name) => label(site, repo, repo.labels.get(name.toLowerCase())!)),
    assignee: null,
    assignees: [],
    milestone: null,
    locked: false,
    active_lock_reason: null,
    comments,
    pull_request: {
      url: `${site.api}/repos/${repo.owner}/${repo.name}/pulls/${pull.number}`,
      html_url: `${web}/pull/${pull.number}`,
      diff_url: `${web}/pull/${pull.number}.diff`,
      patch_url: `${web}/pull/${pull.number}.patch`,
      merged_at: pull.mergedAt,
    },
    closed_at: pull.closedAt,
    created_at: pull.createdAt,
    updated_at: pull.updatedAt,
    draft: pull.draft,
    closed_by: pull.closedBy === null ? null : simpleUser(site, context.user(pull.closedBy)),
    author_association: authorAssociation(repo, pull.author, context.permission(pull.author)),
    timeline_url: `${api}/timeline`,
  };
}

export function issueComment(context: PullContext, comment: CommentRecord) {
  const { site, repo } = context;
  const api = `${site.api}/repos/${repo.owner}/${repo.name}`;
  return {
    id: comment.id,
    node_id: nodeId('IC', comment.id),
    url: `${api}/issues/comments/${comment.id}`,
    html_url: `${site.web}/${repo.owner}/${repo.name}/pull/${comment.issueNumber}#issuecomment-${comment.id}`,
    body: comment.body,
    user: simpleUser(site, context.user(comment.author)),
    created_at: comment.createdAt,
    updated_at: comment.updatedAt,
    issue_url: `${api}/issues/${comment.issueNumber}`,
    author_association: authorAssociation(repo, comment.author, context.permission(comment.author)),
  };
}

export function pullRequestReview(context: PullContext, pull: PullRecord, review: ReviewRecord) {
  const { site, repo } = context;
  const html = `${site.web}/${repo.owner}/${repo.name}/pull/${pull.number}#pullrequestreview-${review.id}`;
  const pullUrl = `${site.api}/repos/${repo.owner}/${repo.name}/pulls/${pull.number}`;
  return {
    id: review.id,
    node_id: nodeId('PRR', review.id),
    user: simpleUser(site, context.user(review.author)),
    body: review.body,
    state: review.state,
    html_url: html,
    pull_request_url: pullUrl,
    _links: { html: { href: html }, pull_request: { href: pullUrl } },
    submitted_at: review.submittedAt,
    commit_id: review.commitId,
    author_association: authorAssociation(repo, review.author, context.permission(review.author)),
  };
}

export function status(context: PullContext, record: StatusRecord) {
  const { site, repo } = context;
  const creator = context.user(record.creator);
  return {
    url: `${site.api}/repos/${repo.owner}/${repo.name}/statuses/${record.sha}`,
    avatar_url: simpleUser(site, creator).avatar_url,
    id: record.id,
    node_id: nodeId('SC', record.id),
    state: record.state,
    description: record.description,
    target_url: record.targetUrl,
    context: record.context,
    created_at: record.createdAt,
    updated_at: record.updatedAt,
    creator: simpleUser(site, creator),
  };
}

/** components/schemas/combined-commit-status: the latest status per context, and their verdict. */
export function combinedStatus(context: PullContext, sha: string, latest: StatusRecord[]) {
  const { site, repo } = context;
  const state = latest.some((record) => record.state === 'error' || record.state === 'failure')
    ? 'failure'
    : latest.length > 0 && latest.every((record) => record.state === 'success')
      ? 'success'
      : 'pending';
  return {
    state,
    statuses: latest.map((record) => {
      const { creator: _creator, ...simple } = status(context, record);
      return { ...simple, required: false };
    }),
    sha,
    total_count: latest.length,
    repository: minimalRepository(site, repo, context.owner),
    commit_url: `${site.api}/repos/${repo.owner}/${repo.name}/commits/${sha}`,
    url: `${site.api}/repos/${repo.owner}/${repo.name}/commits/${sha}/status`,
  };
}

/** components/schemas/diff-entry: GET /repos/{owner}/{repo}/pulls/{pull_number}/files. */
export function diffEntry(site: Site, repo: RepoRecord, headSha: string, file: FileChange) {
  const web = `${site.web}/${repo.owner}/${repo.name}`;
  const path = file.filename.split('/').map(encodeURIComponent).join('/');
  return {
    sha: file.blob,
    filename: file.filename,
    status: file.status,
    additions: file.additions,
    deletions: file.deletions,
    changes: file.additions + file.deletions,
    blob_url: `${web}/blob/${headSha}/${path}`,
    raw_url: `${web}/raw/${headSha}/${path}`,
    contents_url: `${site.api}/repos/${repo.owner}/${repo.name}/contents/${path}?ref=${headSha}`,
    ...(file.previousFilename === undefined ? {} : { previous_filename: file.previousFilename }),
  };
}

/** components/schemas/rate-limit-overview. */
export function rateLimitOverview(core: { limit: number; used: number; reset: number }) {
  const rate = { limit: core.limit, used: core.used, remaining: Math.max(0, core.limit - core.used), reset: core.reset };
  const idle = (limit: number) => ({ limit, used: 0, remaining: limit, reset: core.reset });
  return { resources: { core: rate, search: idle(30), graphql: idle(5000) }, rate };
}
