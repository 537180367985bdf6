// Authorized applications, for every signed-in user: the consents they gave (consents.ts), and
// withdrawing one after a confirmation, which ends every token the application holds for them.
// A user sees and withdraws only their own: the name always comes from the session.
import type { FastifyInstance } from 'fastify';
import { redirectWith, user, withFlash } from '../auth/signed-in.ts';
import type { PortalContext } from '../context.ts';
import { html } from '../html.ts';
import { appName } from '../input.ts';
import { authorizedPage } from '../pages/authorized.ts';
import { confirmPage } from '../pages/confirm.ts';
import { BASE } from '../pages/layout.ts';
import { PortalError } from '../portal-errors.ts';
import { sendPage } from '../responses.ts';

const NOT_AUTHORIZED = 'You have not authorized an application of that name.';

export function authorizedRoutes(app: FastifyInstance, ctx: PortalContext): void {
  const { consents, auth, deps } = ctx;
  const displayName = (name: string) => deps.store.config.application(name)?.spec.displayName ?? name;

  app.get(`/authorized`, auth, async (request, reply) => {
    const records = await consents.list(user(request).name);
    const flash = await withFlash(ctx, request);
    const entries = records.map((record) => ({
      app: record.app,
      displayName: displayName(record.app),
      scopes: record.scopes,
      grantedAt: new Date(record.grantedAt).toISOString(),
    }));
    return sendPage(reply, authorizedPage(ctx.page(request, flash === undefined ? {} : { flash }), entries));
  });

  app.get<{ Params: { app: string } }>(`/authorized/:app/withdraw`, auth, async (request, reply) => {
    const name = appName(request.params.app);
    const consent = await consents.get(user(request).name, name);
    if (consent === undefined) throw new PortalError(404, NOT_AUTHORIZED);
    return sendPage(
      reply,
      confirmPage(ctx.page(request), {
        title: `Withdraw ${displayName(name)}?`,
        explanation: html`${displayName(name)} (<code>${name}</code>) loses what you allowed it (${consent.scopes.join(', ')}): every token it holds for you stops working at once, and it asks you again the next time it signs you in.`,
        action: `${BASE}/authorized/${name}/withdraw`,
        button: 'Withdraw',
        danger: true,
        back: `${BASE}/authorized`,
      }, 'authorized'),
    );
  });

  app.post<{ Params: { app: string } }>(`/authorized/:app/withdraw`, auth, async (request, reply) => {
    const name = appName(request.params.app);
    const withdrawn = await consents.withdraw(user(request).name, name);
    if (!withdrawn) throw new PortalError(404, NOT_AUTHORIZED);
    return redirectWith(ctx, request, reply, `${BASE}/authorized`, { kind: 'success', message: `${displayName(name)} no longer has access: its tokens for you were revoked.` });
  });
}
