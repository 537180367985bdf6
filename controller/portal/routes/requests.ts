// Requests about an application, each a pull request a publisher decides: register a new one
// (the form, then the secret shown once), edit (the form, then a confirmation with the plan),
// deactivate, reactivate, cancel the open request, and rotate the secret. Each route accepts only
// what the details page offers (policy.ts offersFor), refusing the rest in the page's words.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ACTION_WORDS, type Action } from '../../requests/index.ts';
import { redirectWith, user } from '../auth/signed-in.ts';
import type { PortalContext } from '../context.ts';
import { appName, body, field } from '../input.ts';
import { appFormPage, clientTypeOf, createdPage, EMPTY_FORM, editConfirmPage, formValues, rotatedPage, validateAppForm, valuesOf } from '../pages/app-form.ts';
import { confirmPage } from '../pages/confirm.ts';
import { BASE } from '../pages/layout.ts';
import { NO_FORGE, NO_FORGE_HINT, requireActor, requireDeveloper, requireOffered } from '../policy.ts';
import { sendPage } from '../responses.ts';
import { PortalError } from '../portal-errors.ts';
import type { AppDetail } from '../service.ts';

export function requestRoutes(app: FastifyInstance, ctx: PortalContext): void {
  const { service, auth } = ctx;

  /** The application's details, refusing what its page does not offer: not yours (403), no forge (503), not now (409). */
  async function requestable(request: FastifyRequest, name: string, action: Action): Promise<AppDetail> {
    const detail = await service.application(user(request), name);
    requireActor(user(request), name, detail.view, detail);
    requireForge();
    // What offersFor gives an owner on a server with a forge: the page's offers, checked again here.
    requireOffered(detail.view, action);
    return detail;
  }

  function requireForge(): void {
    if (!service.canMakeRequests) throw new PortalError(503, NO_FORGE, NO_FORGE_HINT);
  }

  // Register: the form, then the create request.

  app.get(`/apps/new`, auth, async (request, reply) => {
    requireDeveloper(user(request));
    requireForge();
    const { main } = await service.snapshot();
    return sendPage(reply, appFormPage(ctx.page(request), { kind: 'new' }, EMPTY_FORM, service.scopesOf(main)));
  });

  app.post(`/apps`, auth, async (request, reply) => {
    requireDeveloper(user(request));
    requireForge();
    const { main } = await service.snapshot();
    const scopes = service.scopesOf(main);
    const values = formValues(body(request));
    const { errors, valid } = validateAppForm(values, scopes.map((scope) => scope.name), { isNew: true });
    if (valid === undefined) return sendPage(reply, appFormPage(ctx.page(request), { kind: 'new' }, values, scopes, errors), 400);
    const created = await service.create(user(request), { ...valid, ...(valid.displayName === undefined ? {} : { displayName: valid.displayName }) });
    // Rendered, not redirected to: the secret exists only in this response.
    return sendPage(
      reply,
      createdPage(ctx.page(request), {
        name: valid.name,
        number: created.opened.number,
        url: created.opened.url,
        clientId: created.clientId,
        clientSecret: created.clientSecret,
        publicClient: valid.publicClient,
        warning: created.opened.warning,
      }),
    );
  });

  // Ask again, after a rejection: the same request, as the form (create, edit) or the confirmation
  // (deactivate, reactivate) it was made with, holding what it asked for.

  app.get<{ Params: { name: string } }>(`/apps/:name/ask-again`, auth, async (request, reply) => {
    const name = appName(request.params.name);
    const { detail, request: rejected, entry, manifest } = await service.askAgain(user(request), name);
    const scopes = service.scopesOf(detail.main);
    switch (rejected.kind) {
      case 'create':
        return sendPage(reply, appFormPage(ctx.page(request), { kind: 'new' }, manifest === undefined ? { ...EMPTY_FORM, name } : valuesOf(manifest), scopes, {}, entry));
      case 'edit':
        return sendPage(reply, appFormPage(ctx.page(request), { kind: 'edit', name }, valuesOf(manifest ?? detail.view.onMain!), scopes, {}, entry));
      case 'deactivate':
        return reply.redirect(`${BASE}/apps/${name}/deactivate`, 303);
      case 'reactivate':
        return reply.redirect(`${BASE}/apps/${name}/reactivate`, 303);
    }
  });

  // Edit: the form, then a confirmation with the plan, then the request.

  app.get<{ Params: { name: string } }>(`/apps/:name/edit`, auth, async (request, reply) => {
    const name = appName(request.params.name);
    const detail = await requestable(request, name, 'edit');
    return sendPage(reply, appFormPage(ctx.page(request), { kind: 'edit', name }, valuesOf(detail.view.onMain!), service.scopesOf(detail.main)));
  });

  app.post<{ Params: { name: string } }>(`/apps/:name/edit`, auth, async (request, reply) => {
    const name = appName(request.params.name);
    await requestable(request, name, 'edit');
    const { main } = await service.snapshot();
    const scopes = service.scopesOf(main);
    const current = main.apps.get(name);
    // The client type is not edited here: the form is checked against the application's own.
    const values = { ...formValues(body(request), name), ...(current === undefined ? {} : { clientType: clientTypeOf(current.manifest) }) };
    const { errors, valid } = validateAppForm(values, scopes.map((scope) => scope.name), { isNew: false });
    if (valid === undefined) return sendPage(reply, appFormPage(ctx.page(request), { kind: 'edit', name }, values, scopes, errors), 400);
    const edits = {
      description: valid.description,
      displayName: valid.displayName ?? null,
      redirectUris: valid.redirectUris.length === 0 ? null : valid.redirectUris,
      scopes: valid.scopes.length === 0 ? ['open'] : valid.scopes,
      grantTypes: valid.grantTypes,
    };
    if (field(request, 'confirm') !== 'yes') {
      const preview = await service.previewEdit(user(request), name, edits);
      if (preview.what.length === 0) throw new PortalError(400, 'Nothing changes: the form holds what the application already has.');
      return sendPage(reply, editConfirmPage(ctx.page(request), name, values, preview.plan, preview.what));
    }
    const opened = await service.edit(user(request), name, edits);
    return redirectWith(ctx, request, reply, `${BASE}/apps/${name}`, {
      kind: 'success',
      message: `Your update of ${name} was submitted for approval as edit request #${opened.number}. Until a publisher approves it, ${name} keeps its current settings.`,
    });
  });

  // Deactivate, reactivate, cancel and rotate: a confirmation page, then the request.

  const stateAction = (kind: 'deactivate' | 'reactivate') => {
    app.get<{ Params: { name: string } }>(`/apps/:name/${kind}`, auth, async (request, reply) => {
      const name = appName(request.params.name);
      await requestable(request, name, kind);
      const deactivate = kind === 'deactivate';
      return sendPage(
        reply,
        confirmPage(ctx.page(request), {
          title: `${ACTION_WORDS[kind]} ${name}?`,
          explanation: deactivate
            ? `This sends a deactivation request to the publishers. Once one approves it, ${name} gets no tokens and every token it holds stops working at once. Applications are never deleted: you can ask to reactivate it.`
            : `This sends a reactivation request to the publishers. Once one approves it, ${name} can get tokens again (tokens it held before stay revoked).`,
          action: `${BASE}/apps/${name}/${kind}`,
          button: ACTION_WORDS[kind],
          danger: deactivate,
          back: `${BASE}/apps/${name}`,
        }),
      );
    });
    app.post<{ Params: { name: string } }>(`/apps/:name/${kind}`, auth, async (request, reply) => {
      const name = appName(request.params.name);
      await requestable(request, name, kind);
      const opened = await service.changeState(user(request), name, kind);
      const verb = kind === 'deactivate' ? 'deactivation' : 'reactivation';
      return redirectWith(ctx, request, reply, `${BASE}/apps/${name}`, {
        kind: 'success',
        message: `The ${verb} of ${name} was submitted for approval as request #${opened.number}. Until a publisher approves it, ${name} stays ${kind === 'deactivate' ? 'active' : 'inactive'}.`,
      });
    });
  };
  stateAction('deactivate');
  stateAction('reactivate');

  app.get<{ Params: { name: string } }>(`/apps/:name/cancel`, auth, async (request, reply) => {
    const name = appName(request.params.name);
    const detail = await requestable(request, name, 'cancel-request');
    const open = detail.view.openRequest!;
    return sendPage(
      reply,
      confirmPage(ctx.page(request), {
        title: `Cancel ${open.kind} request #${open.number}?`,
        explanation: `The request is closed without a decision and counts as cancelled.${open.kind === 'create' ? ` ${name} is not registered, and the name is free again.` : ` ${name} stays as it is.`}`,
        action: `${BASE}/apps/${name}/cancel`,
        button: 'Cancel the request',
        danger: true,
        back: `${BASE}/apps/${name}`,
      }),
    );
  });

  app.post<{ Params: { name: string } }>(`/apps/:name/cancel`, auth, async (request, reply) => {
    const name = appName(request.params.name);
    const cancelled = await service.cancel(user(request), name);
    // A cancelled create leaves nothing to show but the list.
    return redirectWith(ctx, request, reply, cancelled.kind === 'create' ? `${BASE}/apps` : `${BASE}/apps/${name}`, {
      kind: 'success',
      message: `Your ${cancelled.kind} request #${cancelled.number} for ${name} was cancelled.`,
    });
  });

  app.get<{ Params: { name: string } }>(`/apps/:name/rotate`, auth, async (request, reply) => {
    const name = appName(request.params.name);
    await requestable(request, name, 'rotate-secret');
    return sendPage(
      reply,
      confirmPage(ctx.page(request), {
        title: `Rotate the client secret of ${name}?`,
        explanation: `This generates a new client secret, shows it to you once, and sends it sealed in an edit request. Once a publisher approves it, both secrets work; the current one stops working 7 days after now, time to move your application to the new one.`,
        action: `${BASE}/apps/${name}/rotate`,
        button: 'Rotate the secret',
        back: `${BASE}/apps/${name}#keys`,
      }),
    );
  });

  app.post<{ Params: { name: string } }>(`/apps/:name/rotate`, auth, async (request, reply) => {
    const name = appName(request.params.name);
    await requestable(request, name, 'rotate-secret');
    const rotated = await service.rotate(user(request), name);
    return sendPage(reply, rotatedPage(ctx.page(request), name, rotated.number, rotated.secret, rotated.oldExpiresAt));
  });
}
