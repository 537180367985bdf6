// The developer portal as a Fastify plugin, served by `mergekey serve` under /portal:
//
//   await app.register(portalPlugin({ store, workspace, issuer: () => issuer }));
//
// Server-rendered pages (see README.md for why), signed-in through the User manifests, with
// every form protected by a synchronizer token and every response by a strict CSP. This file only
// wires the parts: the context (context.ts), the headers and error pages (responses.ts), sessions
// and CSRF (auth/), and one file per group of routes (routes/). Register it without
// fastify-plugin: its body parser, cookie handling, hooks and error handler stay inside.
import fastifyCookie from '@fastify/cookie';
import fastifyFormbody from '@fastify/formbody';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { createContext, type PortalDeps } from './context.ts';
import { parseForm } from './input.ts';
import { BASE } from './pages/layout.ts';
import { errorPages, securityHeaders } from './responses.ts';
import { appRoutes } from './routes/apps.ts';
import { assetRoutes } from './routes/assets.ts';
import { authorizeRoutes } from './routes/authorize.ts';
import { authorizedRoutes } from './routes/authorized.ts';
import { requestRoutes } from './routes/requests.ts';
import { reviewRoutes } from './routes/review.ts';
import { signInRoutes } from './routes/sign-in.ts';
import { tokenRoutes } from './routes/tokens.ts';
import { trySignInRoutes } from './routes/try-sign-in.ts';

export type { PortalDeps } from './context.ts';

export function portalPlugin(deps: PortalDeps): FastifyPluginAsync {
  // Everything lives in one context prefixed with /portal, so that its hooks, error handler and
  // not-found handler answer every request under /portal (an unknown path or method included),
  // and nothing outside it.
  return async function portal(root: FastifyInstance): Promise<void> {
    await root.register(async (app) => register(app, deps), { prefix: BASE });
  };
}

async function register(app: FastifyInstance, deps: PortalDeps): Promise<void> {
  const ctx = createContext(deps);
  app.addHook('onClose', async () => ctx.throttles.close());

  await app.register(fastifyCookie);
  await app.register(fastifyFormbody, { bodyLimit: 64 * 1024, parser: parseForm });
  app.decorateRequest('portal', null);
  // Before the routes: the 405 page learns each path's methods as routes are added.
  errorPages(app, ctx);
  securityHeaders(app);

  assetRoutes(app, ctx.assets);
  signInRoutes(app, ctx);
  appRoutes(app, ctx);
  requestRoutes(app, ctx);
  tokenRoutes(app, ctx);
  reviewRoutes(app, ctx);
  authorizeRoutes(app, ctx);
  authorizedRoutes(app, ctx);
  trySignInRoutes(app, ctx);
}
