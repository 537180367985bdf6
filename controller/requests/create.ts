// A create request: a new application manifest with a fresh client id and a generated client
// secret sealed to the controller's key (none for private_key_jwt, which lists public keys, nor
// for a public client, which has no credentials at all), opened as a pull request. Shared by
// `mergekey app create` (which then keeps the secret in the developer's credentials file) and the
// portal (which shows it once and keeps it nowhere).
import { parse as parseYaml } from 'yaml';
import type { RepoFile } from '../manifests/index.ts';
import type { Application, Jwks } from '../manifests/types.generated.ts';
import { DEFAULT_GRANT_TYPES, foldClientId, PUBLIC_CLIENT_GRANT_TYPES, PUBLIC_CLIENT_METHOD, type AuthMethod, type GrantType } from '../manifests/vocabulary.ts';
import { generateClientId } from '../sealing/generate.ts';
import { renderNewApplication } from './manifest.ts';
import { openRequest, type OpenedRequest, type RequestChange } from './open.ts';
import { newSealedSecret } from './secrets.ts';
import type { Session } from './session.ts';
import type { MainState } from './state.ts';

export interface NewApplication {
  name: string;
  description: string;
  displayName?: string | undefined;
  /** None: `open`. */
  scopes?: readonly string[] | undefined;
  /** None: the schema's default, or authorization_code and refresh_token for a public client. */
  grantTypes?: readonly GrantType[] | undefined;
  redirectUris?: readonly string[] | undefined;
  plan?: string | undefined;
  owners: readonly string[];
  authMethod: AuthMethod;
  /** For private_key_jwt: the public keys. No secret is generated for it, nor for none (a public client). */
  jwks?: Jwks | undefined;
  /** The User a shared token asks for (the portal), with the server's key to sign the marker. */
  requestedBy?: RequestChange['requestedBy'] | undefined;
}

export interface OpenedCreate {
  opened: OpenedRequest;
  clientId: string;
  /** The generated secret, to be shown once; absent for private_key_jwt and public clients. */
  clientSecret?: string;
}

/** Builds the manifest and opens the request; the caller has checked `requireAllowed(…, 'create')`. */
export async function openCreateRequest(session: Session, main: MainState, input: NewApplication): Promise<OpenedCreate> {
  const clientId = uniqueClientId(main.files);
  const secret = secretIsGenerated(input.authMethod) ? await newSealedSecret(main.settings, input.name) : undefined;
  const credentials: Application['spec']['credentials'] =
    input.jwks !== undefined ? { jwks: input.jwks } : secret !== undefined ? { secrets: [{ sealed: secret.sealed }] } : undefined;
  const app: Application = {
    apiVersion: 'mergekey/v1',
    kind: 'Application',
    metadata: { name: input.name },
    spec: {
      ...(input.displayName === undefined || input.displayName === '' ? {} : { displayName: input.displayName }),
      description: input.description,
      owners: [...input.owners],
      clientId,
      state: 'active',
      scopes: input.scopes === undefined || input.scopes.length === 0 ? ['open'] : [...input.scopes],
      grantTypes: [...(input.grantTypes ?? defaultGrantTypes(input.authMethod))],
      ...(input.redirectUris === undefined || input.redirectUris.length === 0 ? {} : { redirectUris: [...input.redirectUris] }),
      ...(input.plan === undefined ? {} : { plan: input.plan }),
      tokenEndpointAuthMethod: input.authMethod,
      ...(credentials === undefined ? {} : { credentials }),
    },
  };
  const opened = await openRequest(session, main, {
    kind: 'create',
    app: input.name,
    content: renderNewApplication(app),
    ...(input.requestedBy === undefined ? {} : { requestedBy: input.requestedBy }),
  });
  return { opened, clientId, ...(secret === undefined ? {} : { clientSecret: secret.secret }) };
}

/**
 * Whether an application of this method gets a generated client secret: private_key_jwt signs
 * with its own key pair, and a public client (none: an SPA or a mobile app) could not keep a
 * secret, so PKCE protects its codes instead (RFC 7636, RFC 8252 section 8.1).
 */
export function secretIsGenerated(method: AuthMethod): boolean {
  return method !== 'private_key_jwt' && method !== 'none';
}

/** What an application is created with when no grant type is named: a public client can use only the code flow. */
export function defaultGrantTypes(method: AuthMethod): readonly GrantType[] {
  return method === PUBLIC_CLIENT_METHOD ? PUBLIC_CLIENT_GRANT_TYPES : DEFAULT_GRANT_TYPES;
}

/** A client id no application of the repository uses, in any case (valid manifest or not). */
export function uniqueClientId(files: readonly RepoFile[], generate: () => string = generateClientId): string {
  const taken = new Set<string>();
  for (const file of files) {
    if (!file.path.startsWith('apps/')) continue;
    try {
      const id = (parseYaml(Buffer.from(file.content).toString('utf8')) as { spec?: { clientId?: unknown } } | null)?.spec?.clientId;
      if (typeof id === 'string') taken.add(foldClientId(id));
    } catch {
      // An unparsable manifest holds no client id the controller could apply.
    }
  }
  for (;;) {
    const id = generate();
    if (!taken.has(foldClientId(id))) return id;
  }
}
