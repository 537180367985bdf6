// The issues API as it applies to pull requests (every pull request is an issue): get (with
// `closed_by`), labels, and comments.
import type { FastifyInstance } from 'fastify';
import { ApiError, json, notFound, paginate, stringField, validationFailed, type RouteContext } from '../http.ts';
import { atLeast, type CommentRecord } from '../model.ts';
import { iso, issue, issueComment, label } from '../shapes.ts';
import { findPull, refresh } from './pulls.ts';

const DOCS = {
  get: 'https://docs.github.com/rest/issues/issues#get-an-issue',
  addLabels: 'https://docs.github.com/rest/issues/labels#add-labels-to-an-issue',
  listLabels: 'https://docs.github.com/rest/issues/labels#list-labels-for-an-issue',
  createComment: 'https://docs.github.com/rest/issues/comments#create-an-issue-comment',
  listComments: 'https://docs.github.com/rest/issues/comments#list-issue-comments',
  updateComment: 'https://docs.github.com/rest/issues/comments#update-an-issue-comment',
};

/** GitHub refuses label names longer than this. */
export const LABEL_NAME_LIMIT = 50;

function labelNames(body: unknown): string[] | undefined {
  const list = Array.isArray(body) ? body : (body as { labels?: unknown } | null)?.labels;
  if (!Array.isArray(list)) return undefined;
  const names = list.map((item) => (typeof item === 'string' ? item : (item as { name?: unknown } | null)?.name));
  return names.every((name) => typeof name === 'string') ? (names as string[]) : undefined;
}

export function registerIssues(app: FastifyInstance, context: RouteContext): void {
  const issueNumber = (params: unknown) => (params as { issue_number: string }).issue_number;

  app.get('/repos/:owner/:repo/issues/:issue_number', async (request, reply) => {
    const repo = context.repository(request, 'read', DOCS.get);
    const pull = findPull(repo, issueNumber(request.params), DOCS.get);
    await refresh(repo, pull);
    const comments = repo.comments.filter((comment) => comment.issueNumber === pull.number).length;
    return json(reply, 200, issue(context.pullContext(repo), pull, comments));
  });

  app.post('/repos/:owner/:repo/issues/:issue_number/labels', async (request, reply) => {
    const repo = context.repository(request, 'triage', DOCS.addLabels);
    const pull = findPull(repo, issueNumber(request.params), DOCS.addLabels);
    const names = labelNames(request.body);
    if (names === undefined) throw validationFailed(DOCS.addLabels, { resource: 'Label', field: 'labels', code: 'invalid' });
    for (const name of names) {
      if (name.trim() === '' || name.length > LABEL_NAME_LIMIT) {
        throw validationFailed(DOCS.addLabels, { value: name, resource: 'Label', field: 'name', code: 'invalid' });
      }
    }
    for (const name of names) {
      const key = name.toLowerCase();
      // Adding a label the repository lacks creates it, as GitHub does. The description is ''
      // rather than null: pull-request-simple's labels declare a non-nullable description.
      if (!repo.labels.has(key)) repo.labels.set(key, { id: context.state.newId(), name, color: 'ededed', description: '' });
      const canonical = repo.labels.get(key)!.name;
      if (!pull.labels.some((existing) => existing.toLowerCase() === key)) pull.labels.push(canonical);
    }
    pull.updatedAt = iso(context.now());
    return json(reply, 200, pull.labels.map((name) => label(context.site, repo, repo.labels.get(name.toLowerCase())!)));
  });

  app.get('/repos/:owner/:repo/issues/:issue_number/labels', async (request, reply) => {
    const repo = context.repository(request, 'read', DOCS.listLabels);
    const pull = findPull(repo, issueNumber(request.params), DOCS.listLabels);
    const page = paginate(request, reply, context.site, pull.labels, DOCS.listLabels);
    return json(reply, 200, page.map((name) => label(context.site, repo, repo.labels.get(name.toLowerCase())!)));
  });

  app.post('/repos/:owner/:repo/issues/:issue_number/comments', async (request, reply) => {
    const repo = context.repository(request, 'read', DOCS.createComment);
    const pull = findPull(repo, issueNumber(request.params), DOCS.createComment);
    const body = stringField(request.body, 'body');
    if (body === undefined || body === '') throw validationFailed(DOCS.createComment, { resource: 'IssueComment', field: 'body', code: 'missing_field' });
    const now = iso(context.now());
    const comment: CommentRecord = { id: context.state.newId(), issueNumber: pull.number, author: context.caller(request).login, body, createdAt: now, updatedAt: now };
    repo.comments.push(comment);
    pull.updatedAt = now;
    reply.header('location', `${context.site.api}/repos/${repo.owner}/${repo.name}/issues/comments/${comment.id}`);
    return json(reply, 201, issueComment(context.pullContext(repo), comment));
  });

  app.get('/repos/:owner/:repo/issues/:issue_number/comments', async (request, reply) => {
    const repo = context.repository(request, 'read', DOCS.listComments);
    const pull = findPull(repo, issueNumber(request.params), DOCS.listComments);
    const comments = repo.comments.filter((comment) => comment.issueNumber === pull.number);
    const page = paginate(request, reply, context.site, comments, DOCS.listComments);
    return json(reply, 200, page.map((comment) => issueComment(context.pullContext(repo), comment)));
  });

  app.patch('/repos/:owner/:repo/issues/comments/:comment_id', async (request, reply) => {
    const repo = context.repository(request, 'read', DOCS.updateComment);
    const caller = context.caller(request);
    const id = Number((request.params as { comment_id: string }).comment_id);
    const comment = repo.comments.find((candidate) => candidate.id === id);
    if (comment === undefined) throw notFound(DOCS.updateComment);
    const mayEdit = comment.author.toLowerCase() === caller.login.toLowerCase() || atLeast(context.state.permission(repo, caller.login), 'write');
    if (!mayEdit) throw new ApiError(403, 'Must have write access to edit comments of other users.', DOCS.updateComment);
    const body = stringField(request.body, 'body');
    if (body === undefined || body === '') throw validationFailed(DOCS.updateComment, { resource: 'IssueComment', field: 'body', code: 'missing_field' });
    comment.body = body;
    comment.updatedAt = iso(context.now());
    return json(reply, 200, issueComment(context.pullContext(repo), comment));
  });
}
