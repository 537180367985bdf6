// Publishers: the queue of open requests, and approving (merging exactly the head commit the queue
// showed) or rejecting (with a reason the developer reads) one of them.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { redirectWith, user, withFlash } from '../auth/signed-in.ts';
import type { PortalContext } from '../context.ts';
import { html } from '../html.ts';
import { field, pullNumber } from '../input.ts';
import { confirmPage } from '../pages/confirm.ts';
import { BASE } from '../pages/layout.ts';
import { reviewPage } from '../pages/review.ts';
import { sendPage } from '../responses.ts';
import { PortalError } from '../portal-errors.ts';

/** The longest approval comment or rejection reason taken, as the forms say (maxlength). */
const MAX_COMMENT = 2000;

/** A git commit id, SHA-1 or SHA-256. */
const COMMIT = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

export function reviewRoutes(app: FastifyInstance, ctx: PortalContext): void {
  const { deps, service, auth } = ctx;

  app.get(`/review`, auth, async (request, reply) => {
    const { entries, snapshot } = await service.queue(user(request));
    const flash = await withFlash(ctx, request);
    return sendPage(reply, reviewPage(ctx.page(request, flash === undefined ? {} : { flash }), entries, snapshot));
  });

  app.post<{ Params: { number: string } }>(`/review/:number/approve`, auth, async (request, reply) => {
    const number = pullNumber(request.params.number);
    // The head commit the queue showed: what the publisher reviewed is what gets merged.
    const head = field(request, 'head');
    // Optional: a note for the developer, recorded with the approval.
    const comment = (field(request, 'comment') ?? '').trim();
    if (comment.length > MAX_COMMENT) throw new PortalError(400, `The comment is ${comment.length} characters long; at most ${MAX_COMMENT} are kept.`);
    const approved = await service.approve(user(request), number, head !== undefined && COMMIT.test(head) ? head : undefined, comment === '' ? undefined : comment);
    void Promise.resolve(deps.sync?.('portal approval')).catch((err: unknown) => request.log.warn({ err }, 'sync after approval failed'));
    return redirectWith(ctx, request, reply, `${BASE}/review`, {
      kind: 'success',
      message: `Approved #${approved.number} (${approved.title}): merged as ${approved.mergeCommit.slice(0, 12)}. The controller applies it at its next sync.`,
    });
  });

  app.get<{ Params: { number: string } }>(`/review/:number/reject`, auth, async (request, reply) => {
    const number = pullNumber(request.params.number);
    await service.reviewable(user(request), number);
    return sendPage(reply, rejectPage(request, number), 200);
  });

  const rejectPage = (request: FastifyRequest, number: number, error?: string) =>
    confirmPage(
      ctx.page(request, error === undefined ? {} : { flash: { kind: 'error', message: error } }),
      {
        title: `Reject request #${number}?`,
        explanation: 'The developer reads your reason in the request. A rejected create request leaves the application rejected; a rejected edit, deactivation or reactivation leaves it unchanged.',
        action: `${BASE}/review/${number}/reject`,
        button: 'Reject',
        danger: true,
        back: `${BASE}/review`,
        fields: html`<div class="field">
          <label for="reason">Reason <span class="required">(required)</span></label>
          <textarea id="reason" name="reason" rows="3" required maxlength="2000"${error === undefined ? undefined : html` aria-invalid="true"`}></textarea>
        </div>`,
      },
      'review',
    );

  app.post<{ Params: { number: string } }>(`/review/:number/reject`, auth, async (request, reply) => {
    const number = pullNumber(request.params.number);
    const reason = (field(request, 'reason') ?? '').trim();
    if (reason === '') return sendPage(reply, rejectPage(request, number, 'Give a reason: the developer needs to know why.'), 400);
    if (reason.length > MAX_COMMENT) return sendPage(reply, rejectPage(request, number, `The reason is ${reason.length} characters long; at most ${MAX_COMMENT} are kept.`), 400);
    const rejected = await service.reject(user(request), number, reason);
    return redirectWith(ctx, request, reply, `${BASE}/review`, { kind: 'success', message: `Rejected #${rejected.number} (${rejected.title}).` });
  });
}
