// May a developer open this request now? The brief's rules, checked before the CLI makes a
// branch, so a refused request leaves nothing behind. The repo's check enforces the same rules on
// the pull request itself (classify.ts), for requests made without the CLI.
import { refusal, type Refusal } from './refusals.ts';
import { REQUEST_LABELS, requestOutcome, sameLogin, type RequestKind, type RequestSummary } from './requests.ts';
import type { AppStatus, AppStatusView } from './status.ts';

export type Decision = { allowed: true } | ({ allowed: false } & Refusal);

function refuse(...args: Parameters<typeof refusal>): Decision {
  return { allowed: false, ...refusal(...args) };
}

const ALLOWED_FROM: Readonly<Record<RequestKind, readonly (AppStatus | undefined)[]>> = {
  // A name that was rejected or cancelled is free again: it never reached main.
  create: [undefined, 'rejected', 'cancelled'],
  // "You cannot update an application with the Awaiting approval or Rejected statuses."
  edit: ['active', 'inactive'],
  // "The deactivate option will be available for all active applications."
  deactivate: ['active'],
  // "Inactive applications can be reactivated."
  reactivate: ['inactive'],
};

/**
 * Whether `kind` may be requested for `app`, whose current status is `status` (undefined when
 * neither main nor any create request knows it). `openRequests` may include other applications'
 * requests; only this app's count. One open request per application at a time.
 */
export function isRequestAllowed(
  app: string,
  status: AppStatus | undefined,
  kind: RequestKind,
  openRequests: readonly RequestSummary[],
): Decision {
  const open = openRequests.filter((request) => request.app === app && request.state === 'open');
  if (!ALLOWED_FROM[kind].includes(status)) return refuseFromStatus(app, status, kind, open[0]);
  const pending = open[0];
  if (pending !== undefined) {
    return refuse(
      'open-request-exists',
      `${app} already has an open ${pending.kind} request (#${pending.number}); one request per application at a time: ` +
        `wait until it is merged or closed, or cancel it with \`mergekey app cancel ${app}\``,
    );
  }
  return { allowed: true };
}

function refuseFromStatus(app: string, status: AppStatus | undefined, kind: RequestKind, pending: RequestSummary | undefined): Decision {
  const request = `a ${kind} request`;
  switch (status) {
    case undefined:
      return refuse('app-not-on-main', `cannot open ${request} for ${app}: it is not on the main branch; create it first with \`mergekey app create ${app}\``);
    case 'awaiting':
      return refuse(
        'awaiting-approval',
        `cannot open ${request} for ${app}: it is awaiting approval${pending === undefined ? '' : ` (create request #${pending.number})`}; ` +
          `wait for the publisher's decision or cancel it with \`mergekey app cancel ${app}\``,
      );
    case 'rejected':
      return refuse('rejected', `cannot open ${request} for ${app}: its create request was rejected; open a new create request instead`);
    case 'cancelled':
      return refuse('app-not-on-main', `cannot open ${request} for ${app}: its create request was cancelled, so it is not on the main branch`);
    case 'active':
      return kind === 'create'
        ? refuse('app-exists', `cannot create ${app}: an application of that name is already on the main branch (active); use \`mergekey app edit ${app}\``)
        : refuse('already-active', `cannot reactivate ${app}: it is already active`);
    case 'inactive':
      return kind === 'create'
        ? refuse('app-exists', `cannot create ${app}: an application of that name is already on the main branch (inactive); use \`mergekey app reactivate ${app}\``)
        : refuse('already-inactive', `cannot deactivate ${app}: it is already inactive`);
  }
}

/**
 * The request a developer may ask for again, reusing what it asked: the application's latest
 * request, when a publisher rejected it and the lifecycle allows a request of its kind now (a
 * rejected create leaves the name free; a rejected edit, deactivation or reactivation leaves the
 * application as it was). Undefined otherwise, and while any request is open.
 */
export function askAgainOf(view: Pick<AppStatusView, 'app' | 'status' | 'requests'>): RequestSummary | undefined {
  const latest = [...view.requests].sort((a, b) => b.number - a.number)[0];
  if (latest === undefined || requestOutcome(latest) !== 'rejected') return undefined;
  return isRequestAllowed(view.app, view.status, latest.kind, view.requests).allowed ? latest : undefined;
}

/**
 * Whether `actor` may cancel (close unmerged) the open request about `app`. Only its author
 * cancels: a close by anyone else is a rejection, which publishers make with `mergekey review
 * reject`. On success, returns the request to close.
 */
export function isCancelAllowed(
  app: string,
  actor: string,
  openRequests: readonly RequestSummary[],
): { allowed: true; request: RequestSummary } | ({ allowed: false } & Refusal) {
  const request = openRequests.find((candidate) => candidate.app === app && candidate.state === 'open');
  if (request === undefined) {
    return { allowed: false, ...refusal('no-open-request', `${app} has no open request to cancel`) };
  }
  if (!sameLogin(request.author, actor)) {
    return {
      allowed: false,
      ...refusal(
        'not-author',
        `only ${request.author}, who opened ${request.kind} request #${request.number} (${REQUEST_LABELS[request.kind]}), can cancel it; ` +
          `a publisher rejects it with \`mergekey review reject ${request.number} --reason …\``,
      ),
    };
  }
  return { allowed: true, request };
}
