// The actions a developer may be offered on an application, and why one cannot be taken now:
// decided once, from the lifecycle's rules (allowed.ts), so that the portal's pages and routes and
// the CLI's suggestions agree and nothing is offered that the workflow would refuse. Pure.
import { askAgainOf, isRequestAllowed } from './allowed.ts';
import type { RequestKind } from './requests.ts';
import type { AppStatusView } from './status.ts';

export const ACTIONS = ['edit', 'deactivate', 'reactivate', 'rotate-secret', 'cancel-request', 'ask-again'] as const;
export type Action = (typeof ACTIONS)[number];

/** The shared words for the actions, on buttons and in the CLI's suggestions. */
export const ACTION_WORDS: Readonly<Record<Action, string>> = {
  edit: 'Edit',
  deactivate: 'Deactivate',
  reactivate: 'Reactivate',
  'rotate-secret': 'Rotate secret',
  'cancel-request': 'Cancel request',
  'ask-again': 'Ask again',
};

/** A request of each kind, as the reasons name it: "Edit request #4". */
export const REQUEST_WORDS: Readonly<Record<RequestKind, string>> = {
  create: 'Create request',
  edit: 'Edit request',
  deactivate: 'Deactivate request',
  reactivate: 'Reactivate request',
};

/**
 * One action on one application. `shown`: whether it belongs on the application in its status
 * at all (Deactivate on an active one, never on an inactive one); `reason`: why it cannot be
 * taken now, in one sentence without a full stop ("Edit request #4 awaits approval"); absent
 * when it can. A shown action with a reason is offered disabled, with the reason beside it.
 */
export interface Offer {
  shown: boolean;
  reason?: string;
}

export type Offers = Readonly<Record<Action, Offer>>;

/** What the lifecycle allows on `view` now, each action shown or not, with its reason when refused. */
export function lifecycleOffers(view: AppStatusView): Offers {
  const { app, status, openRequest } = view;
  const method = view.onMain?.spec.tokenEndpointAuthMethod;
  // Only a client secret rotates: a public client has none, a private_key_jwt client a key pair.
  const secretless = method === 'none' || method === 'private_key_jwt';
  const offer = (shown: boolean, reason: string | undefined): Offer => (reason === undefined ? { shown } : { shown, reason });
  return {
    // Nothing to edit once a create request was cancelled: the name is free again.
    edit: offer(status !== 'cancelled', refusal(view, 'edit')),
    deactivate: offer(status === 'active', refusal(view, 'deactivate')),
    reactivate: offer(status === 'inactive', refusal(view, 'reactivate')),
    // A rotation is an edit request that adds a secret.
    'rotate-secret': offer(view.onMain !== undefined && !secretless, secretless ? `${app} has no client secret to rotate` : refusal(view, 'edit')),
    'cancel-request': offer(openRequest !== undefined, openRequest === undefined ? `${app} has no open request` : undefined),
    // Only after a rejection, and only what the lifecycle allows again (askAgainOf): never offered disabled.
    'ask-again': offer(askAgainOf(view) !== undefined, undefined),
  };
}

/** Why the lifecycle refuses a `kind` request now, in the shared words; undefined when it allows it. */
function refusal(view: AppStatusView, kind: RequestKind): string | undefined {
  const open = view.openRequest;
  const create = view.requests.find((request) => request.kind === 'create');
  if (isRequestAllowed(view.app, view.status, kind, view.requests).allowed) {
    // Approved, then its manifest removed from main (the controller treats it as inactive): there
    // is no manifest left to change, so every request about it would be refused.
    return view.onMain === undefined ? `${view.app} is no longer on the main branch` : undefined;
  }
  if (open !== undefined) return `${REQUEST_WORDS[open.kind]} #${open.number} awaits approval`;
  switch (view.status) {
    case 'awaiting':
      return `${view.app} is awaiting approval`;
    case 'rejected':
      return `${REQUEST_WORDS.create} #${create?.number} was rejected`;
    case 'cancelled':
      return `${REQUEST_WORDS.create} #${create?.number} was cancelled`;
    case 'active':
      return `${view.app} is already active`;
    case 'inactive':
      return `${view.app} is already inactive`;
  }
}
