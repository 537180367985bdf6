// Manifest fixtures for the lifecycle tests: valid objects with the schema defaults applied.
import type { Api, Application } from '../../controller/manifests/types.generated.ts';
import type { Manifest, PlainManifestObjectOf } from '../../controller/manifests/model.ts';
import type { RequestKind, RequestSummary } from '../../controller/requests/requests.ts';

const SEALED = 'eyJhbGciOiJFQ0RILUVTK0EyNTZLVyJ9.a2V5.aXY.Y2lwaGVydGV4dA.dGFn';

export function app(name: string, spec: Partial<Application['spec']> = {}): Application {
  return {
    apiVersion: 'mergekey/v1',
    kind: 'Application',
    metadata: { name },
    spec: {
      description: `The ${name} service`,
      owners: ['alice'],
      clientId: `${name}-0123456789`,
      state: 'active',
      scopes: ['open'],
      grantTypes: ['client_credentials'],
      tokenEndpointAuthMethod: 'client_secret_basic',
      credentials: { secrets: [{ sealed: SEALED }] },
      ...spec,
    },
  };
}

export function api(name: string, scopes: string[], audience = `https://${name}.example.com`): Api {
  return {
    apiVersion: 'mergekey/v1',
    kind: 'Api',
    metadata: { name },
    spec: { description: `The ${name} API`, audience, scopes: scopes.map((scope) => ({ name: scope, description: scope })) },
  };
}

/** The object at the manifest's usual path, as the lifecycle's classify takes it. */
export function entry<M extends Manifest>(manifest: M): PlainManifestObjectOf<M> {
  const folder = { Application: 'apps', Api: 'apis', Plan: 'plans', User: 'users', Settings: '' }[manifest.kind];
  const path = folder === '' ? 'mergekey.yaml' : `${folder}/${manifest.metadata.name}.yaml`;
  return { path, kind: manifest.kind, name: manifest.metadata.name, manifest };
}

let counter = 0;

/** A request summary; `number` grows with each call so later requests are newer. */
export function request(
  kind: RequestKind,
  appName: string,
  outcome: 'open' | 'merged' | { closedBy: string | null },
  author = 'alice',
): RequestSummary {
  counter += 1;
  const base = {
    number: counter,
    kind,
    app: appName,
    author,
    title: `${kind} ${appName}`,
    createdAt: `2025-01-01T00:00:${String(counter % 60).padStart(2, '0')}Z`,
    updatedAt: '2025-01-02T00:00:00Z',
    headSha: 'a'.repeat(40),
  };
  if (outcome === 'open') return { ...base, state: 'open' };
  if (outcome === 'merged') return { ...base, state: 'merged', mergedAt: '2025-01-02T00:00:00Z', mergedBy: 'pat', mergeCommitSha: 'b'.repeat(40) };
  return { ...base, state: 'closed', closedAt: '2025-01-02T00:00:00Z', closedBy: outcome.closedBy };
}
