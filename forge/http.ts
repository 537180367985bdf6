// The HTTP conventions GitHub's REST API follows, in one place: error bodies, validation errors,
// pagination with Link headers, and the request context route modules share.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { StandInState, Permission, RepoRecord, UserRecord } from './model.ts';
import type { PullContext, Site } from './shapes.ts';

const DOCS = 'https://docs.github.com/rest';

/** A GitHub error response: `{ message, documentation_url, status }` (plus `errors` for 422). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly documentationUrl: string = DOCS,
    readonly errors?: unknown[],
  ) {
    super(message);
  }

  /**
   * GitHub's "Basic Error" carries `status` as a string; the description's validation errors
   * (422 with `errors`) and the merge endpoint's 405 and 409 bodies do not, so neither do ours.
   */
  body(): Record<string, unknown> {
    const basic = this.errors === undefined && this.status !== 405 && this.status !== 409;
    return {
      message: this.message,
      ...(this.errors === undefined ? {} : { errors: this.errors }),
      documentation_url: this.documentationUrl,
      ...(basic ? { status: String(this.status) } : {}),
    };
  }
}

export const notFound = (docs?: string) => new ApiError(404, 'Not Found', docs);

/** 422 with field errors, e.g. `{ resource: 'PullRequest', field: 'head', code: 'invalid' }`. */
export function validationFailed(docs: string, ...errors: Record<string, unknown>[]): ApiError {
  return new ApiError(422, 'Validation Failed', docs, errors);
}

/** 422 in the "validation-error-simple" shape: errors are sentences. */
export function unprocessable(docs: string, ...errors: string[]): ApiError {
  return new ApiError(422, 'Unprocessable Entity', docs, errors);
}

export interface RouteContext {
  state: StandInState;
  site: Site;
  now(): number;
  /** The authenticated user of this request (the auth hook refused everyone else). */
  caller(request: FastifyRequest): UserRecord;
  /**
   * The repository named in the URL, if the caller may see it (404 otherwise, as GitHub hides
   * private repositories) and holds `needed` (403 otherwise).
   */
  repository(request: FastifyRequest, needed: Permission, docs: string): RepoRecord;
  pullContext(repo: RepoRecord): PullContext;
  /** Runs `work` after any earlier mutation of the same repository has finished. */
  serialize<T>(repo: RepoRecord, work: () => Promise<T>): Promise<T>;
}

export function json(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send(body);
}

function positiveInt(value: unknown, fallback: number, docs: string, name: string): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw validationFailed(docs, { resource: 'Search', field: name, code: 'invalid' });
  return number;
}

/**
 * One page of `items` by `per_page` (default 30, at most 100) and `page`, with GitHub's Link
 * header (`first`, `prev`, `next`, `last`), which is what Octokit's `paginate` follows.
 */
export function paginate<T>(request: FastifyRequest, reply: FastifyReply, site: Site, items: readonly T[], docs: string): T[] {
  const query = request.query as Record<string, string | undefined>;
  const perPage = Math.min(100, positiveInt(query.per_page, 30, docs, 'per_page'));
  const page = positiveInt(query.page, 1, docs, 'page');
  const last = Math.max(1, Math.ceil(items.length / perPage));
  const link = (target: number, rel: string) => {
    const url = new URL(request.url, site.api);
    url.searchParams.set('per_page', String(perPage));
    url.searchParams.set('page', String(target));
    return `<${url.toString()}>; rel="${rel}"`;
  };
  const links: string[] = [];
  if (page > 1) links.push(link(page - 1, 'prev'));
  if (page < last) links.push(link(page + 1, 'next'), link(last, 'last'));
  if (page > 1) links.push(link(1, 'first'));
  if (links.length > 0) reply.header('link', links.join(', '));
  return items.slice((page - 1) * perPage, page * perPage);
}

export function stringField(body: unknown, name: string): string | undefined {
  const value = (body as Record<string, unknown> | null | undefined)?.[name];
  return typeof value === 'string' ? value : undefined;
}
