// Reading applications: My Applications (every application, for a publisher), filtered by status,
// and one application's details with, for its owners, its live tokens.
import type { FastifyInstance } from 'fastify';
import { filterWords, parseStatusFilter, STATUS_FILTERS, type StatusFilter } from '../../requests/index.ts';
import { user, withFlash } from '../auth/signed-in.ts';
import type { PortalContext } from '../context.ts';
import { appName, queryText } from '../input.ts';
import { detailsPage } from '../pages/app-details.ts';
import { appsPage } from '../pages/apps.ts';
import { BASE } from '../pages/layout.ts';
import { PortalError } from '../portal-errors.ts';
import { sendPage } from '../responses.ts';

export function appRoutes(app: FastifyInstance, ctx: PortalContext): void {
  const { service, tokens, auth } = ctx;

  // With the prefix, '/' is both /portal and /portal/.
  app.get('/', async (_request, reply) => reply.redirect(`${BASE}/apps`, 303));

  app.get(`/apps`, auth, async (request, reply) => {
    const status = statusFilter(queryText(request, 'status'));
    const overview = await service.overview(user(request));
    const flash = await withFlash(ctx, request);
    return sendPage(reply, appsPage({ ...ctx.page(request, flash === undefined ? {} : { flash }), user: user(request) }, overview, status, service.canMakeRequests));
  });

  app.get<{ Params: { name: string } }>(`/apps/:name`, auth, async (request, reply) => {
    const name = appName(request.params.name);
    const detail = await service.application(user(request), name);
    const section = detail.canAct && detail.record !== undefined ? await tokens.list(detail.record) : undefined;
    const flash = await withFlash(ctx, request);
    return sendPage(reply, detailsPage(ctx.page(request, flash === undefined ? {} : { flash }), detail, section));
  });
}

/** `?status=`: empty for every application, else a status or state by name or in words ("awaiting approval"). */
function statusFilter(text: string | undefined): StatusFilter | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const filter = parseStatusFilter(text);
  if (filter === undefined) {
    throw new PortalError(400, 'There is no such status to filter by.', `Choose one of: ${STATUS_FILTERS.map(filterWords).join(', ')}.`);
  }
  return filter;
}
