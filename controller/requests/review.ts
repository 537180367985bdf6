// What publishers review: the open pull requests that are requests or publisher changes, each
// with what it asks and the repo's check verdict on its latest commit; approving and rejecting them,
// shared by `mergekey review` and the portal.
import { GitHubError, type PullRequest, type RequestsBackend } from '../github/index.ts';
import {
  decisionMarker,
  isManifestLocation,
  parseRequestMarker,
  PUBLISHER_LABEL,
  REJECTED_LABEL,
  sameLogin,
  toRequestSummary,
  TRAILERS,
  type RequestKind,
} from './index.ts';
import { RequestError } from './errors.ts';
import { readCheckVerdict, type CheckVerdict } from './check-result.ts';
import { signedDecider, verifiedRequester, type MarkerKey } from './markers.ts';

export interface ReviewItem {
  number: number;
  /** A developer's request, a publisher change, or a manifest change nobody classified yet. */
  kind: RequestKind | 'publisher' | 'unclassified';
  app?: string;
  title: string;
  author: string;
  openedAt: string;
  headSha: string;
  url: string;
  check: CheckVerdict;
}

/** The item one open pull request is, or undefined when it changes no manifest. */
export async function reviewItem(backend: RequestsBackend, pull: PullRequest): Promise<ReviewItem | undefined> {
  let kind: ReviewItem['kind'] | undefined;
  let app: string | undefined;
  const summary = toRequestSummary(pull);
  if (summary !== undefined) {
    kind = summary.kind;
    app = summary.app;
  } else if (pull.labels.includes(PUBLISHER_LABEL)) {
    kind = 'publisher';
  } else {
    const files = await backend.listChangedFiles(pull.number);
    const fromFiles = toRequestSummary(pull, files.map((file) => file.path));
    if (fromFiles !== undefined) {
      kind = fromFiles.kind;
      app = fromFiles.app;
    } else if (files.some((file) => isManifestLocation(file.path) || (file.previousPath !== undefined && isManifestLocation(file.previousPath)))) {
      kind = 'unclassified';
    }
  }
  if (kind === undefined) return undefined;
  return {
    number: pull.number,
    kind,
    ...(app === undefined ? {} : { app }),
    title: pull.title,
    author: pull.author,
    openedAt: pull.createdAt,
    headSha: pull.headSha,
    url: pull.htmlUrl,
    check: await readCheckVerdict(backend, pull.number, pull.headSha),
  };
}

/** An open pull request, or a `request-closed` RequestError saying why it cannot be reviewed. */
export async function openPull(backend: RequestsBackend, number: number): Promise<PullRequest> {
  const pull = await backend.getPullRequest(number);
  if (pull.state !== 'open') {
    throw new RequestError('request-closed', { request: number }, `pull request #${number} is already ${pull.merged ? `merged${pull.mergedBy ? ` (by ${pull.mergedBy})` : ''}` : `closed${pull.closedBy ? ` (by ${pull.closedBy})` : ''}`}`);
  }
  return pull;
}

/**
 * Who makes a decision. From the CLI, the owner of the GitHub token. From the portal, a signed-in
 * User acting through the server's token: GitHub then sees the token's user, so the person is
 * recorded in the review, the merge commit (`Approved-by:`) and the comment.
 */
export interface Decider {
  /** The GitHub login of the token used. */
  tokenLogin: string;
  /** The User (users/NAME.yaml) deciding through a shared token, with their own GitHub login if they have one. */
  user?: { name: string; githubLogin?: string | undefined } | undefined;
  /**
   * The server's key for the portal's markers (markers.ts): signs the person in a decision
   * comment, and tells whom a request the shared token opened was made for.
   */
  markers?: MarkerKey | undefined;
}

/**
 * Whether `decider` asked for `pull` themselves: a publisher neither approves nor rejects their
 * own request. For a request the shared token opened, the marker's name counts whether or not it
 * verifies (refusing is the safe side); `requesterUnknown` covers a marker that names someone else
 * without verifying.
 */
export function isOwnRequest(pull: PullRequest, decider: Decider): boolean {
  if (decider.user === undefined) return sameLogin(pull.author, decider.tokenLogin);
  // A request the shared token opened was made for the User its marker names.
  if (sameLogin(pull.author, decider.tokenLogin)) return parseRequestMarker(pull.body)?.requestedBy?.name === decider.user.name;
  return decider.user.githubLogin !== undefined && sameLogin(pull.author, decider.user.githubLogin);
}

/**
 * Whether the portal cannot tell who asked for a request its token opened: the marker is missing,
 * unsigned (the portal's before it signed them) or does not verify (edited since). Its own
 * requester may be the decider, so the portal decides none of those; GitHub and `mergekey review`
 * still can, where GitHub names the person.
 */
export function requesterUnknown(pull: PullRequest, decider: Decider): boolean {
  if (decider.user === undefined || decider.markers === undefined || !sameLogin(pull.author, decider.tokenLogin)) return false;
  const recorded = parseRequestMarker(pull.body)?.requestedBy;
  return verifiedRequester({ author: pull.author, headRef: pull.headRef, recordedRequester: recorded }, { key: decider.markers, portalLogin: decider.tokenLogin }) === undefined;
}

/** Refuses a decision on one's own request, or on one whose requester the portal cannot tell. */
function requireNotOwn(pull: PullRequest, decider: Decider, action: 'approve' | 'reject'): void {
  if (isOwnRequest(pull, decider)) {
    const hint = action === 'approve' ? 'another publisher must approve it' : 'withdraw it with mergekey app cancel instead';
    throw new RequestError('own-request', { request: pull.number, action }, `you opened #${pull.number} yourself; ${hint}`);
  }
  if (requesterUnknown(pull, decider)) {
    throw new RequestError(
      'own-request',
      { request: pull.number, action },
      `the portal cannot tell who asked for #${pull.number}: its request marker is not one the portal signed (written before it signed them, or edited since), so it may be yours`,
      { hint: `Decide it on GitHub or with \`mergekey review ${action} ${pull.number}\`.` },
    );
  }
}

/** The person a portal decision comment names: signed when the decider holds the server's key. */
export function portalPerson(decider: Decider, branch: string, outcome: 'rejected' | 'cancelled'): { name: string; mac?: string } {
  const name = decider.user!.name;
  return decider.markers === undefined ? { name } : signedDecider(decider.markers, branch, outcome, name);
}

function who(decider: Decider): string {
  return decider.user === undefined ? `@${decider.tokenLogin}` : decider.user.name;
}

export interface ApproveResult {
  number: number;
  title: string;
  kind: string;
  app?: string;
  mergeCommit: string;
  /** The GitHub login (CLI) or the User (portal) who approved. */
  approvedBy: string;
  check: CheckVerdict;
  /** False when GitHub forbade an approving review (the token opened the request): the merge commit records the approval. */
  reviewed: boolean;
}

/**
 * Approves an open request: an approving review, then a merge commit, only if the head is still
 * the commit reviewed. Refused for one's own request and for a request the repository check
 * refused. GitHub forbids a token's user to approve a pull request it opened, which is the case
 * for every request the portal opened: the review is then left out and the approval is recorded
 * in the merge commit's `Approved-by:` trailer; merging then needs a repository that lets the
 * token merge without a review.
 */
/**
 * `expectedHeadSha`: the head commit the decider reviewed (the portal's queue, checked there; the
 * CLI's `--head`, as `mergekey review list` showed it, full or abbreviated to 7+ hex digits); a
 * branch that has moved on since is refused, so an approval given to one version never merges
 * another pushed in between.
 *
 * Without it, the head pinned is the one the check's verdict was read on: the approving review
 * names that commit (GitHub otherwise files it against whatever the head is when it arrives, which
 * would approve a push made after the check) and the merge asks GitHub for that same head. A push
 * in between is refused, nothing is merged, and no approval lands on the new commits.
 */
export async function approveRequest(backend: RequestsBackend, number: number, decider: Decider, comment?: string, expectedHeadSha?: string): Promise<ApproveResult> {
  const pull = await openPull(backend, number);
  const changed = () => new RequestError('head-moved', { request: pull.number }, `#${pull.number} changed since it was checked (its branch has new commits), so nothing was merged`, { hint: 'Review it again.' });
  if (expectedHeadSha !== undefined && !isHead(pull.headSha, expectedHeadSha)) throw changed();
  requireNotOwn(pull, decider, 'approve');
  const item = await reviewItem(backend, pull);
  if (item === undefined) throw new RequestError('not-a-request', { request: pull.number }, `#${pull.number} changes no manifest: it is not a Mergekey request`, { hint: 'Review it on GitHub.' });
  if (item.check.state === 'refused') {
    throw new RequestError('check-refused', { request: pull.number }, `the repository check refused #${pull.number}: ${item.check.summary}`, {
      hint: 'Its author must change it (or cancel it); reject it with mergekey review reject.',
    });
  }
  // The verdict above was read on pull.headSha: refuse before writing anything if the branch has
  // moved since (the pins below refuse a push that lands later).
  if ((await backend.getPullRequest(pull.number)).headSha !== pull.headSha) throw changed();
  const byPortal = decider.user !== undefined;
  const reviewed = !sameLogin(pull.author, decider.tokenLogin);
  if (reviewed) {
    const reviewBody = byPortal ? `Approved by ${who(decider)} in the Mergekey portal.${note(comment)}` : comment;
    try {
      await backend.approve(pull.number, reviewBody, pull.headSha);
    } catch (error) {
      // GitHub answers 422 for a commit_id a force push removed from the pull request.
      if (error instanceof GitHubError && (await backend.getPullRequest(pull.number)).headSha !== pull.headSha) throw changed();
      throw error;
    }
  }
  let merged: { sha: string };
  try {
    merged = await backend.mergePullRequest(pull.number, {
      method: 'merge',
      // Merge what was approved: if the branch moved since, GitHub refuses (409) and nothing merges.
      expectedHeadSha: pull.headSha,
      commitTitle: `Approve: ${pull.title} (#${pull.number})`,
      // The comment goes in the merge commit too: a request the portal opened gets no review to hold it.
      commitMessage: byPortal
        ? `Approved by ${who(decider)} in the Mergekey portal.${note(comment)}\n\n${TRAILERS.approvedBy}: ${decider.user!.name}`
        : `Approved by ${who(decider)} with mergekey review approve.${note(comment)}`,
    });
  } catch (error) {
    if (error instanceof GitHubError && error.code === 'HEAD_MODIFIED') throw changed();
    if (!reviewed && error instanceof GitHubError && error.code === 'NOT_MERGEABLE') {
      throw new RequestError(
        'merge-needs-review',
        { request: pull.number, github: error.code },
        `GitHub will not merge #${pull.number} without an approving review, and the server's token (${decider.tokenLogin}) opened it, so it cannot approve it: ${error.message}`,
        { hint: `Approve it on GitHub or with \`mergekey review approve ${pull.number}\`, or let the server's token merge without a review.`, cause: error },
      );
    }
    throw error;
  }
  return {
    number: pull.number,
    title: pull.title,
    kind: item.kind,
    ...(item.app === undefined ? {} : { app: item.app }),
    mergeCommit: merged.sha,
    approvedBy: decider.user?.name ?? decider.tokenLogin,
    check: item.check,
    reviewed,
  };
}

/** The publisher's comment as a paragraph of a commit message; `approvalComment` (decisions.ts) reads it back. */
function note(comment: string | undefined): string {
  return comment === undefined || comment.trim() === '' ? '' : `\n\n${comment.trim()}`;
}

/** Whether `expected` (a full or 7+ digit abbreviated commit id) names `headSha`. */
/** Whether `expected` (a full or abbreviated commit id, 7+ hex digits) names `headSha`. */
export function isHead(headSha: string, expected: string): boolean {
  return /^[0-9a-f]{7,64}$/i.test(expected) && headSha.toLowerCase().startsWith(expected.toLowerCase());
}

export interface RejectResult {
  number: number;
  title: string;
  rejectedBy: string;
  commentUrl: string;
}

/**
 * Rejects an open request: the rejection label, a comment with the reason, then the pull request
 * is closed unmerged. The label is what tells a rejection apart when the closing token also
 * opened the request (the portal's); there a failure to label stops the rejection.
 */
export async function rejectRequest(backend: RequestsBackend, number: number, decider: Decider, reason: string): Promise<RejectResult> {
  const pull = await openPull(backend, number);
  // Closing one's own request counts as cancelled, not rejected.
  requireNotOwn(pull, decider, 'reject');
  try {
    await backend.addLabels(pull.number, [REJECTED_LABEL]);
  } catch (error) {
    if (sameLogin(pull.author, decider.tokenLogin)) throw error;
    // Closed by someone other than its author, it counts as rejected without the label.
  }
  // The reason after a blank line, verbatim: `decisionText` (decisions.ts) reads it back.
  const text =
    decider.user === undefined
      ? `${decisionMarker('rejected')}\nRejected by ${who(decider)}:\n\n${reason}`
      : `${decisionMarker('rejected', portalPerson(decider, pull.headRef, 'rejected'))}\nRejected by **${decider.user.name}** in the Mergekey portal:\n\n${reason}`;
  const comment = await backend.comment(pull.number, text);
  await backend.closePullRequest(pull.number);
  return { number: pull.number, title: pull.title, rejectedBy: decider.user?.name ?? decider.tokenLogin, commentUrl: comment.htmlUrl };
}
