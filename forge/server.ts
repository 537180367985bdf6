// The local forge: GitHub's REST API as Mergekey uses it, for trying Mergekey and for tests. It
// answers in the shapes of GitHub's OpenAPI description and keeps git content in a real bare
// repository: pull requests are branches pushed there, and merging really merges into the base
// branch, so a controller following that repository then syncs what was merged.
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { BareRepository } from './git.ts';
import { ApiError, json, notFound, type RouteContext } from './http.ts';
import { atLeast, StandInState, type MergeMethod, type Permission, type RepoRecord, type UserRecord } from './model.ts';
import { iso, rateLimitOverview, type PullContext, type Site } from './shapes.ts';
import { registerIssues } from './routes/issues.ts';
import { registerPulls } from './routes/pulls.ts';
import { registerRepos } from './routes/repos.ts';
import { registerWeb, WEB_PREFIX } from './routes/web.ts';
import { loadState, saveState } from './saved-state.ts';

export interface StandInUser {
  login: string;
  /** The token this user authenticates with (`Authorization: token …` or `Bearer …`). */
  token: string;
  name?: string;
  email?: string;
}

export interface StandInRepository {
  owner: string;
  name: string;
  /** A bare git repository on disk; pull request branches are pushed here. */
  bareDir: string;
  defaultBranch?: string;
  /** Roles by login. The owner, if a user, is admin. Anyone else cannot see the repository. */
  permissions?: Record<string, Permission>;
  /** Branch protection on the default branch: approving reviews by writers needed to merge (0). */
  requiredApprovingReviews?: number;
  /** Allowed merge methods (both by default). Rebase merges are not implemented. */
  mergeMethods?: readonly Exclude<MergeMethod, 'rebase'>[];
  /**
   * Branch protection by branch name, in the shape of the body of GitHub's "Update branch
   * protection" (`PUT /repos/{owner}/{repo}/branches/{branch}/protection`), of which the forge
   * keeps `restrictions`: who may push to the branch, and so merge pull requests into it (a merge
   * is a push to the base branch). Users only: the forge has no teams or apps.
   */
  branchProtection?: Record<string, BranchProtection>;
}

/** The part of GitHub's branch protection the forge enforces. */
export interface BranchProtection {
  /** "Restrict who can push to the protected branch"; null for no restriction. */
  restrictions: { users: readonly string[]; teams: readonly string[]; apps?: readonly string[] } | null;
}

export interface StandInOptions {
  users: readonly StandInUser[];
  repositories: readonly StandInRepository[];
  /** Clock in milliseconds, for timestamps and rate-limit windows. */
  now?: () => number;
  /** Requests per user per hour before the real (not injected) rate limit answers 403. */
  rateLimit?: number;
  /** Keep every request answered in `requests` (true, for tests); the quickstart, which may run for days, keeps none. */
  recordRequests?: boolean;
  /**
   * A file keeping pull requests, comments, labels and statuses between runs (saved-state.ts):
   * read at start, rewritten after each change. Without it they live as long as the forge.
   */
  stateFile?: string;
}

export interface InjectedRateLimit {
  /** 403 (GitHub's usual answer) or 429. */
  status: 403 | 429;
  /** Primary limits say when the window resets; secondary ones say `retry-after`. */
  kind: 'primary' | 'secondary';
  /** How many of the next requests are refused (1). */
  times?: number;
  /** Seconds until `x-ratelimit-reset` (primary, 60). */
  resetInSeconds?: number;
  /** The `retry-after` header (secondary, 60). */
  retryAfterSeconds?: number;
}

export interface RecordedRequest {
  method: string;
  /** Path and query, e.g. `/repos/acme/manifests/pulls?state=all`. */
  url: string;
  status: number;
  login: string | undefined;
  /** The response body, parsed (undefined when empty). */
  body: unknown;
}

export interface GitHubStandIn {
  /** The API base URL (for Octokit's `baseUrl`), e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  /** Every request answered, in order (none when `recordRequests` is false). */
  readonly requests: readonly RecordedRequest[];
  /** Refuses the next request(s) with a rate-limit answer, to test a client's waiting and retry. */
  injectRateLimit(limit: InjectedRateLimit): void;
  close(): Promise<void>;
}

const WINDOW_SECONDS = 3600;

function pushRestrictions(spec: StandInRepository): Map<string, ReadonlySet<string>> {
  const restricted = new Map<string, ReadonlySet<string>>();
  for (const [branch, protection] of Object.entries(spec.branchProtection ?? {})) {
    const { restrictions } = protection;
    if (restrictions === null) continue;
    // Refused rather than ignored: a restriction the forge cannot keep must not look kept.
    if (restrictions.teams.length > 0 || (restrictions.apps ?? []).length > 0) {
      throw new Error(`${spec.owner}/${spec.name}: the forge restricts pushes to ${branch} by user only; it has no teams or apps`);
    }
    restricted.set(branch, new Set(restrictions.users.map((login) => login.toLowerCase())));
  }
  return restricted;
}

export async function startGitHubStandIn(options: StandInOptions): Promise<GitHubStandIn> {
  const now = options.now ?? Date.now;
  const limit = options.rateLimit ?? 5000;
  const state = new StandInState();
  const created = iso(now());
  for (const user of options.users) {
    state.users.set(user.login.toLowerCase(), {
      id: state.newId(),
      login: user.login,
      token: user.token,
      type: 'User',
      name: user.name ?? null,
      email: user.email ?? null,
      createdAt: created,
    });
  }
  for (const spec of options.repositories) {
    if (state.user(spec.owner) === undefined) {
      state.users.set(spec.owner.toLowerCase(), { id: state.newId(), login: spec.owner, token: undefined, type: 'Organization', name: null, email: null, createdAt: created });
    }
    const permissions = new Map(Object.entries(spec.permissions ?? {}).map(([login, role]) => [login.toLowerCase(), role]));
    if (state.user(spec.owner)?.type === 'User') permissions.set(spec.owner.toLowerCase(), 'admin');
    const repo: RepoRecord = {
      id: state.newId(),
      owner: spec.owner,
      name: spec.name,
      git: new BareRepository(spec.bareDir),
      defaultBranch: spec.defaultBranch ?? 'main',
      permissions,
      requiredApprovingReviews: spec.requiredApprovingReviews ?? 0,
      mergeMethods: new Set(spec.mergeMethods ?? ['merge', 'squash']),
      pushRestrictions: pushRestrictions(spec),
      createdAt: created,
      labels: new Map(),
      pulls: [],
      comments: [],
      statuses: [],
    };
    state.repos.set(`${spec.owner}/${spec.name}`.toLowerCase(), repo);
  }

  const { stateFile } = options;
  if (stateFile !== undefined) loadState(stateFile, state);

  const app: FastifyInstance = Fastify({ logger: false });
  const callers = new WeakMap<FastifyRequest, UserRecord>();
  const usage = new Map<string, { windowStart: number; used: number }>();
  const injected: Required<InjectedRateLimit>[] = [];
  const requests: RecordedRequest[] = [];
  const locks = new WeakMap<RepoRecord, Promise<unknown>>();
  let site: Site = { api: '', web: '' };

  const window = (login: string) => {
    const seconds = Math.floor(now() / 1000);
    let entry = usage.get(login);
    if (entry === undefined || seconds >= entry.windowStart + WINDOW_SECONDS) {
      entry = { windowStart: seconds, used: 0 };
      usage.set(login, entry);
    }
    return entry;
  };

  const context: RouteContext = {
    state,
    get site() {
      return site;
    },
    now,
    caller(request) {
      const user = callers.get(request);
      if (user === undefined) throw new ApiError(401, 'Requires authentication');
      return user;
    },
    repository(request, needed, docs) {
      const params = request.params as { owner: string; repo: string };
      const repo = state.repo(params.owner, params.repo);
      const held = repo === undefined ? undefined : state.permission(repo, context.caller(request).login);
      if (repo === undefined || held === undefined) throw notFound(docs);
      if (!atLeast(held, needed)) throw new ApiError(403, `Must have ${needed} access to the repository.`, docs);
      return repo;
    },
    pullContext(repo): PullContext {
      return {
        site,
        repo,
        owner: state.user(repo.owner)!,
        pushedAt: iso(now()),
        user: (login) => state.user(login) ?? { id: 0, login, token: undefined, type: 'User', name: null, email: null, createdAt: created },
        permission: (login) => state.permission(repo, login),
      };
    },
    serialize(repo, work) {
      const previous = locks.get(repo) ?? Promise.resolve();
      const next = previous.then(work, work);
      locks.set(repo, next.catch(() => undefined));
      return next;
    },
  };

  app.addHook('onRequest', async (request, reply) => {
    // Pull request pages are for a browser, which has no token (routes/web.ts). By the route
    // matched, not the URL as sent, so no path can reach the API through the prefix.
    if (request.routeOptions.url?.startsWith(WEB_PREFIX) === true) return;
    const header = request.headers.authorization;
    const match = header === undefined ? null : /^(?:token|bearer)\s+(\S+)$/i.exec(header);
    if (match === null) throw new ApiError(401, 'Requires authentication');
    const user = state.userByToken(match[1]!);
    if (user === undefined) throw new ApiError(401, 'Bad credentials');
    callers.set(request, user);
    const path = request.url.split('?')[0];
    // GET /rate_limit does not count against the limit, and is never limited.
    if (path === '/rate_limit') return;
    const entry = window(user.login);
    const pending = injected[0];
    if (pending !== undefined) {
      pending.times -= 1;
      if (pending.times <= 0) injected.shift();
      const reset = Math.floor(now() / 1000) + pending.resetInSeconds;
      if (pending.kind === 'primary') {
        reply.header('x-ratelimit-limit', String(limit)).header('x-ratelimit-remaining', '0').header('x-ratelimit-used', String(limit));
        reply.header('x-ratelimit-reset', String(reset)).header('x-ratelimit-resource', 'core');
        throw new ApiError(pending.status, `API rate limit exceeded for user ID ${user.id}.`, 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api');
      }
      reply.header('retry-after', String(pending.retryAfterSeconds));
      throw new ApiError(
        pending.status,
        'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
        'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits',
      );
    }
    if (entry.used >= limit) {
      reply.header('x-ratelimit-limit', String(limit)).header('x-ratelimit-remaining', '0').header('x-ratelimit-used', String(entry.used));
      reply.header('x-ratelimit-reset', String(entry.windowStart + WINDOW_SECONDS)).header('x-ratelimit-resource', 'core');
      throw new ApiError(403, `API rate limit exceeded for user ID ${user.id}.`, 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api');
    }
    entry.used += 1;
    reply.header('x-ratelimit-limit', String(limit)).header('x-ratelimit-remaining', String(limit - entry.used)).header('x-ratelimit-used', String(entry.used));
    reply.header('x-ratelimit-reset', String(entry.windowStart + WINDOW_SECONDS)).header('x-ratelimit-resource', 'core');
  });

  if (options.recordRequests ?? true) {
    const payloads = new WeakMap<FastifyRequest, unknown>();
    app.addHook('onSend', async (request, reply, payload) => {
      const json = String(reply.getHeader('content-type') ?? '').includes('json');
      payloads.set(request, json && typeof payload === 'string' && payload !== '' ? JSON.parse(payload) : undefined);
      return payload;
    });
    app.addHook('onResponse', async (request, reply) => {
      requests.push({ method: request.method, url: request.url, status: reply.statusCode, login: callers.get(request)?.login, body: payloads.get(request) });
    });
  }

  if (stateFile !== undefined) {
    app.addHook('onResponse', async (request) => {
      if (request.method !== 'GET' && request.method !== 'HEAD') saveState(stateFile, state);
    });
  }

  app.setErrorHandler((error, _request, reply) => {
    if (error instanceof ApiError) return json(reply, error.status, error.body());
    const status = (error as { statusCode?: number }).statusCode;
    if (status === 400 || (error as { code?: string }).code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return json(reply, 400, { message: 'Problems parsing JSON', documentation_url: 'https://docs.github.com/rest', status: '400' });
    }
    return json(reply, 500, { message: String((error as Error).message), documentation_url: 'https://docs.github.com/rest', status: '500' });
  });
  app.setNotFoundHandler((_request, reply) => json(reply, 404, notFound().body()));

  app.get('/rate_limit', async (request, reply) => {
    const entry = window(context.caller(request).login);
    return json(reply, 200, rateLimitOverview({ limit, used: entry.used, reset: entry.windowStart + WINDOW_SECONDS }));
  });
  registerRepos(app, context);
  registerPulls(app, context);
  registerIssues(app, context);
  registerWeb(app, context);

  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  site = { api: address, web: `${address}/web` };
  return {
    url: address,
    requests,
    injectRateLimit(limitToInject) {
      injected.push({ times: 1, resetInSeconds: 60, retryAfterSeconds: 60, ...limitToInject });
    },
    close: () => app.close(),
  };
}
