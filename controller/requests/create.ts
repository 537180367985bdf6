// A create request: a new application manifest with a fresh client id and a generated client
// secret sealed to the controller's key, opened as a pull request. Shared by `mergekey app create`
// (which then keeps the secret in the developer's credentials file) and the portal (which shows it
// once and keeps it nowhere).
import type { Application, Jwks } from '../manifests/types.generated.ts';
import { uniqueClientId } from '../../cli/commands/app-new.ts';
import type { AuthMethod, GrantType } from './inputs.ts';
import { renderNewApplication } from './manifest.ts';
import { openRequest, type OpenedRequest } from './open.ts';
import { newSealedSecret } from './secrets.ts';
import type { Session } from './session.ts';
import type { MainState } from './state.ts';

export interface NewApplication {
  name: string;
  description: string;
  displayName?: string | undefined;
  /** None: `open`. */
  scopes?: readonly string[] | undefined;
  grantTypes?: readonly GrantType[] | undefined;
  redirectUris?: readonly string[] | undefined;
  plan?: string | undefined;
  owners: readonly string[];
  authMethod: AuthMethod;
  /** For private_key_jwt: the public keys; no secret is generated. */
  jwks?: Jwks | undefined;
  /** The User a shared token asks for (the portal). */
  requestedBy?: string | undefined;
}

export interface OpenedCreate {
  opened: OpenedRequest;
  clientId: string;
  /** The generated secret, to be shown once; absent for private_key_jwt. */
  clientSecret?: string;
}

/** Builds the manifest and opens the request; the caller has checked `requireAllowed(…, 'create')`. */
export async function openCreateRequest(session: Session, main: MainState, input: NewApplication): Promise<OpenedCreate> {
  const clientId = uniqueClientId(main.files);
  const secret = input.jwks === undefined ? await newSealedSecret(main.settings, input.name) : undefined;
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
      grantTypes: input.grantTypes === undefined ? ['client_credentials'] : [...input.grantTypes],
      ...(input.redirectUris === undefined || input.redirectUris.length === 0 ? {} : { redirectUris: [...input.redirectUris] }),
      ...(input.plan === undefined ? {} : { plan: input.plan }),
      tokenEndpointAuthMethod: input.authMethod,
      credentials: input.jwks === undefined ? { secrets: [{ sealed: secret!.sealed }] } : { jwks: input.jwks },
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
