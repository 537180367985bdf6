// Repositories, users, commit statuses and the rate limit.
import type { FastifyInstance } from 'fastify';
import { ApiError, json, notFound, paginate, stringField, type RouteContext } from '../http.ts';
import type { StatusRecord } from '../model.ts';
import { combinedStatus, fullRepository, iso, privateUser, publicUser, status } from '../shapes.ts';

const DOCS = {
  repo: 'https://docs.github.com/rest/repos/repos#get-a-repository',
  user: 'https://docs.github.com/rest/users/users#get-the-authenticated-user',
  userByName: 'https://docs.github.com/rest/users/users#get-a-user',
  createStatus: 'https://docs.github.com/rest/commits/statuses#create-a-commit-status',
  listStatuses: 'https://docs.github.com/rest/commits/statuses#list-commit-statuses-for-a-reference',
  combined: 'https://docs.github.com/rest/commits/statuses#get-the-combined-status-for-a-specific-reference',
};

const STATUS_STATES = ['error', 'failure', 'pending', 'success'] as const;

export function registerRepos(app: FastifyInstance, context: RouteContext): void {
  app.get('/repos/:owner/:repo', async (request, reply) => {
    const repo = context.repository(request, 'read', DOCS.repo);
    const { pushedAt, owner } = context.pullContext(repo);
    return json(reply, 200, fullRepository(context.site, repo, owner, pushedAt, context.state.permission(repo, context.caller(request).login)));
  });

  app.get('/user', async (request, reply) => {
    const user = context.caller(request);
    const owned = [...context.state.repos.values()].filter((repo) => repo.owner.toLowerCase() === user.login.toLowerCase()).length;
    return json(reply, 200, privateUser(context.site, user, owned));
  });

  app.get('/users/:username', async (request, reply) => {
    const user = context.state.user((request.params as { username: string }).username);
    if (user === undefined) throw notFound(DOCS.userByName);
    return json(reply, 200, publicUser(context.site, user, 0));
  });

  app.post('/repos/:owner/:repo/statuses/:sha', async (request, reply) => {
    const repo = context.repository(request, 'write', DOCS.createStatus);
    const raw = (request.params as { sha: string }).sha;
    const sha = /^[0-9a-f]{40}$/.test(raw) ? await repo.git.resolve(raw) : undefined;
    // The description documents no 422 for this operation, so these are GitHub's basic errors.
    if (sha === undefined) throw new ApiError(422, `No commit found for SHA: ${raw}`, DOCS.createStatus);
    const state = stringField(request.body, 'state');
    if (state === undefined || !(STATUS_STATES as readonly string[]).includes(state)) {
      throw new ApiError(422, `Validation Failed: state must be one of ${STATUS_STATES.join(', ')}`, DOCS.createStatus);
    }
    const now = iso(context.now());
    const record: StatusRecord = {
      id: context.state.newId(),
      sha,
      state: state as StatusRecord['state'],
      targetUrl: stringField(request.body, 'target_url') ?? null,
      description: stringField(request.body, 'description') ?? null,
      context: stringField(request.body, 'context') ?? 'default',
      creator: context.caller(request).login,
      createdAt: now,
      updatedAt: now,
    };
    repo.statuses.push(record);
    reply.header('location', `${context.site.api}/repos/${repo.owner}/${repo.name}/statuses/${sha}`);
    return json(reply, 201, status(context.pullContext(repo), record));
  });

  const statusesFor = async (request: Parameters<RouteContext['caller']>[0], docs: string) => {
    const repo = context.repository(request, 'read', docs);
    const sha = await repo.git.resolve((request.params as { ref: string }).ref);
    if (sha === undefined) throw notFound(docs);
    // Newest first, as GitHub lists them.
    return { repo, sha, statuses: repo.statuses.filter((record) => record.sha === sha).reverse() };
  };

  app.get('/repos/:owner/:repo/commits/:ref/statuses', async (request, reply) => {
    const { repo, statuses } = await statusesFor(request, DOCS.listStatuses);
    const page = paginate(request, reply, context.site, statuses, DOCS.listStatuses);
    return json(reply, 200, page.map((record) => status(context.pullContext(repo), record)));
  });

  app.get('/repos/:owner/:repo/commits/:ref/status', async (request, reply) => {
    const { repo, sha, statuses } = await statusesFor(request, DOCS.combined);
    const latest = new Map<string, StatusRecord>();
    for (const record of statuses) if (!latest.has(record.context)) latest.set(record.context, record);
    return json(reply, 200, combinedStatus(context.pullContext(repo), sha, [...latest.values()]));
  });
}
