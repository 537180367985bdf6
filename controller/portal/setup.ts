// Builds the portal plugin for `mergekey serve` from the server's context: the same GitHub
// configuration as the confirmer (--github-token-file or GITHUB_TOKEN, --github-repo,
// --github-api-url), a clone in the data directory, and the store.
import { join } from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import { serverGitHubConfig } from '../confirm/setup.ts';
import { createGitHubClient } from '../github/index.ts';
import { markerKey } from '../sealing/markers.ts';
import type { ServerContext } from '../server/start.ts';
import { cachingBackend } from './github-cache.ts';
import { portalPlugin, type PortalDeps } from './plugin.ts';
import { Workspace } from './workspace.ts';

export function portalFor(context: ServerContext, options: { env?: NodeJS.ProcessEnv; overrides?: Partial<PortalDeps> } = {}): FastifyPluginAsync {
  const { config, store, logger } = context;
  const github = serverGitHubConfig(config, { ...(options.env === undefined ? {} : { env: options.env }), log: logger.child({ component: 'portal' }) });
  const workspace = new Workspace({
    repo: config.repo,
    branch: config.branch,
    dir: join(config.data, 'portal'),
    github: github === undefined ? undefined : { config: github, backend: cachingBackend(createGitHubClient(github)) },
  });
  const { peers } = context;
  return portalPlugin({
    store,
    workspace,
    // From the data directory's keys: it survives a store rebuild, and every replica has it.
    markers: markerKey(context.keys.secretHashKey),
    issuer: () => context.issuer,
    sync: (reason) => context.sync.sync(reason),
    ...(context.authorization === undefined ? {} : { authorization: context.authorization }),
    ...(peers === undefined ? {} : {
      signInPeers: { publish: (event) => peers.publish('portal-sign-in', event), subscribe: (receive) => peers.subscribe('portal-sign-in', receive) },
    }),
    ...options.overrides,
  });
}
