// "Ask again" after a rejection: which request may be asked for again is the lifecycle's rule
// (`askAgainOf` in allowed.ts); this reads what that request asked for from its branch, for the
// CLI (`mergekey app ask-again`) and the portal alike.
import type { Application } from '../manifests/types.generated.ts';
import { askAgainOf } from './allowed.ts';
import { withGitHubErrors, RequestError } from './errors.ts';
import { appPath, type RequestSummary } from './requests.ts';
import { loadApplication, type ApplicationEdits } from './manifest.ts';
import type { Session } from './session.ts';
import { listRequests, statusOf, type MainState } from './state.ts';

export interface RejectedRequest {
  request: RequestSummary;
  /** The manifest it asked for (a create or an edit); undefined for a state change. */
  asked?: { text: string; app: Application };
}

/** The rejected request `app` may ask for again, with what it asked; a `nothing-to-ask-again` RequestError otherwise. */
export async function rejectedRequestOf(session: Session, main: MainState, app: string): Promise<RejectedRequest> {
  const backend = session.github.backend;
  const requests = await withGitHubErrors(() => listRequests(backend, { app }));
  const view = statusOf(main, app, requests);
  const request = view === undefined ? undefined : askAgainOf(view);
  if (request === undefined) {
    throw new RequestError('nothing-to-ask-again', { app }, `${app} has no rejected request to ask for again: its latest request was not rejected, or one is open`, {
      hint: `Run 'mergekey app show ${app}' to see its requests.`,
    });
  }
  if (request.kind === 'deactivate' || request.kind === 'reactivate') return { request };
  const pull = await withGitHubErrors(() => backend.getPullRequest(request.number));
  let bytes: Uint8Array | undefined;
  try {
    bytes = await session.clone.readFile(await session.clone.fetchBranch(pull.headRef), appPath(app));
  } catch {
    bytes = undefined;
  }
  if (bytes === undefined) {
    throw new RequestError('nothing-to-ask-again', { app, request: request.number }, `what ${request.kind} request #${request.number} asked for cannot be read: its branch ${pull.headRef} is gone`, {
      hint: request.kind === 'create' ? `Ask with 'mergekey app create ${app}' instead.` : `Ask with 'mergekey app edit ${app}' instead.`,
    });
  }
  const text = new TextDecoder().decode(bytes);
  return { request, asked: { text, app: loadApplication(app, text) } };
}

/**
 * The fields a rejected edit asked for, as edits to apply to main today: what a developer can
 * change with an edit request. Its credentials are not among them: a rejected rotation is asked
 * again with a new rotation, so that no secret is used twice.
 */
export function fieldsAsked(app: Application): ApplicationEdits {
  const spec = app.spec;
  return {
    description: spec.description,
    displayName: spec.displayName ?? null,
    redirectUris: spec.redirectUris ?? null,
    scopes: [...spec.scopes],
    grantTypes: [...spec.grantTypes],
    plan: spec.plan ?? null,
  };
}
