// The portal's static files (assets/: stylesheet, script, icon), read once at start and served
// under a URL that carries a hash of their content, so that browsers may cache them for good.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { BASE, type PageContext } from '../pages/layout.ts';
import { NOT_FOUND } from '../responses.ts';
import { PortalError } from '../portal-errors.ts';

export type Assets = Map<string, { body: Buffer; type: string; version: string }>;

/** The files under assets/, read once, with the content hash that versions their URL. */
export function loadAssets(): Assets {
  const assets: Assets = new Map();
  for (const [file, type] of [
    ['portal.css', 'text/css; charset=utf-8'],
    ['portal.js', 'text/javascript; charset=utf-8'],
    ['favicon.svg', 'image/svg+xml'],
  ] as const) {
    const body = readFileSync(fileURLToPath(new URL(`../assets/${file}`, import.meta.url)));
    assets.set(file, { body, type, version: createHash('sha256').update(body).digest('base64url').slice(0, 12) });
  }
  return assets;
}

/** The versioned URLs every page links to. */
export function assetUrls(assets: Assets): PageContext['assets'] {
  const url = (file: string) => `${BASE}/assets/${file}?v=${assets.get(file)!.version}`;
  return { css: url('portal.css'), js: url('portal.js'), icon: url('favicon.svg') };
}

export function assetRoutes(app: FastifyInstance, assets: Assets): void {
  app.get<{ Params: { file: string }; Querystring: { v?: string } }>(`/assets/:file`, async (request, reply) => {
    const asset = assets.get(request.params.file);
    if (asset === undefined) throw new PortalError(404, NOT_FOUND);
    reply.header('cache-control', request.query.v === asset.version ? 'public, max-age=31536000, immutable' : 'no-cache');
    return reply.type(asset.type).send(asset.body);
  });
}
