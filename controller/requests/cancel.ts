// Withdrawing a request: only the person who asked cancels it (a close by anyone else is a
// rejection). Shared by `mergekey app cancel` and the portal.
import { decisionMarker, isCancelAllowed, parseRequestBranch, refusal, type RequestSummary } from './index.ts';
import { RequestError, withGitHubErrors } from './errors.ts';
import { portalPerson, type Decider } from './review.ts';
import type { Session } from './session.ts';

export interface Withdrawn {
  request: RequestSummary;
  /** The request branch, deleted from origin once the request is closed. */
  deletedBranch?: string;
}

/**
 * The open request about `app` that `decider` may cancel; a RequestError with the refusal's code if none. From the CLI, its
 * GitHub author; from the portal, a request the server's token opened for that same User, as its
 * signed marker says (`requestedBy`, set only once verified: markers.ts `believeRequesters`).
 */
export function requireCancellable(app: string, decider: Decider, open: readonly RequestSummary[]): RequestSummary {
  const decision = isCancelAllowed(app, decider.tokenLogin, open);
  if (!decision.allowed) throw new RequestError(decision.code, { app }, decision.message);
  const user = decider.user;
  if (user !== undefined && decision.request.requestedBy !== user.name) {
    const { code, message } = refusal('not-author', `only the person who asked for ${decision.request.kind} request #${decision.request.number} can cancel it`);
    throw new RequestError(code, { app, request: decision.request.number }, message);
  }
  return decision.request;
}

/** Comments, closes the request unmerged, and deletes its branch when `mergekey app …` made it. */
export async function withdrawRequest(session: Session, request: RequestSummary, decider: Decider): Promise<Withdrawn> {
  const backend = session.github.backend;
  const text =
    decider.user === undefined
      ? `Cancelled by its author, @${decider.tokenLogin}, with \`mergekey app cancel ${request.app}\`.`
      : `${decisionMarker('cancelled', portalPerson(decider, request.headRef ?? '', 'cancelled'))}\nCancelled by **${decider.user.name}**, who asked for it, in the Mergekey portal.`;
  await withGitHubErrors(async () => {
    await backend.comment(request.number, text);
    await backend.closePullRequest(request.number);
  });
  const pull = await withGitHubErrors(() => backend.getPullRequest(request.number));
  // Only a branch made by `mergekey app …` or the portal: a branch someone named by hand may hold other work.
  if (parseRequestBranch(pull.headRef) === undefined) return { request };
  try {
    await session.clone.deleteRemoteBranch(pull.headRef);
    return { request, deletedBranch: pull.headRef };
  } catch {
    // The request is cancelled either way; a branch left over harms nothing.
    return { request };
  }
}
