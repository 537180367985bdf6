// Each request's story as a developer reads it: who asked, who decided, when, and why a rejection
// was made, read back from GitHub and git. Shared by `mergekey app show` and the portal's details
// page, so both name the same people.
//
// GitHub names the account that acted. For whatever the portal did, that is its one token's
// account, not the person: the portal records the person in its request marker, its decision
// comments and the merge commit's Approved-by trailer. Those records are believed only from that
// account (`portalLogin`), since anyone can type them in a pull request or comment of their own;
// and a marker only with a MAC that verifies under the server's key (`markers`, markers.ts), since
// anyone with triage or write access can edit that account's pull request bodies (and, on GitHub,
// its comments). Without the key (the CLI), a marker's name is kept apart as what the portal
// recorded (`recordedRequester`, `recordedDecider`), to be shown as such and never acted on.
import type { Comment, RequestsBackend, Review } from '../github/index.ts';
import { CHECK_COMMENT_MARKER } from './check-result.ts';
import type { Clone } from './git.ts';
import { verifiedDecider, verifiedRequester, type MarkerKey } from './markers.ts';
import { isoTime } from './time.ts';
import { parseDecisionMarker, requestOutcome, sameLogin, TRAILERS, type RequestKind, type RequestOutcome, type RequestSummary } from './requests.ts';

export interface RequestRecord {
  number: number;
  kind: RequestKind;
  outcome: RequestOutcome;
  /** Who asked: the person the portal recorded for a request its account opened, its marker verified; else the GitHub author. */
  requestedBy: string;
  /** Without the server's key (the CLI): the person the portal's marker names, unverified; shown as recorded, never acted on. */
  recordedRequester?: string;
  /** The GitHub account that opened the pull request. */
  author: string;
  openedAt: string;
  /** Who approved, rejected or cancelled it; undefined while open, or when GitHub no longer knows the account. */
  decidedBy?: string;
  /** Without the server's key (the CLI): the person the portal's decision comment names, unverified. */
  recordedDecider?: string;
  decidedAt?: string;
  /** A rejection's reason, as the publisher wrote it; undefined when they gave none. */
  reason?: string;
  /** An approval's comment, when the publisher gave one. */
  comment?: string;
  /** The merge commit of an approved request; else the request's own head commit. */
  commit: string;
  url?: string;
}

/** What a closed request's decision is, once read: fixed from then on. */
interface ClosedDecision {
  by: string | undefined;
  recorded?: string | undefined;
  reason: string | undefined;
}

export interface DecisionSources {
  backend: RequestsBackend;
  /** The GitHub login of the portal's token; markers and trailers are believed only from it. */
  portalLogin: string | undefined;
  /** The server's key for the portal's markers (the portal has it; the CLI does not): a marker is believed only when its MAC verifies. */
  markers?: MarkerKey | undefined;
  /** The Approved-by trailer and note of a merge commit, read from git (`approvalOf` over a clone). */
  approval(commit: string): Promise<Approval | undefined>;
  /** Decisions of closed requests already read, by number and close time (they never change). */
  memo?: Map<string, ClosedDecision>;
}

/** The most closed requests a memo keeps; it starts over beyond that. */
const MAX_MEMO = 10_000;

/** Each request (newest first, as given) with who asked, who decided it, when and why. */
export async function requestRecords(requests: readonly RequestSummary[], sources: DecisionSources): Promise<RequestRecord[]> {
  const records: RequestRecord[] = [];
  for (const request of requests) records.push(await recordOf(request, sources));
  return records;
}

async function recordOf(request: RequestSummary, sources: DecisionSources): Promise<RequestRecord> {
  const byPortal = (login: string | null | undefined) => sources.portalLogin !== undefined && login != null && sameLogin(login, sources.portalLogin);
  const recorded = byPortal(request.author) ? request.recordedRequester?.name : undefined;
  const verified = sources.markers === undefined ? undefined : verifiedRequester(request, { key: sources.markers, portalLogin: sources.portalLogin });
  const record: RequestRecord = {
    number: request.number,
    kind: request.kind,
    outcome: requestOutcome(request),
    requestedBy: verified ?? request.author,
    ...(sources.markers === undefined && recorded !== undefined ? { recordedRequester: recorded } : {}),
    author: request.author,
    openedAt: isoTime(request.createdAt),
    commit: request.headSha,
    ...(request.htmlUrl === undefined ? {} : { url: request.htmlUrl }),
  };
  if (request.state === 'merged') {
    record.decidedAt = isoTime(request.mergedAt);
    if (request.mergeCommitSha !== null) {
      record.commit = request.mergeCommitSha;
      const approval = await sources.approval(request.mergeCommitSha);
      // The trailer names the person only when the portal's account merged (or GitHub does not say who did).
      const trailer = byPortal(request.mergedBy) || request.mergedBy == null ? approval?.approvedBy : undefined;
      if (approval?.comment !== undefined) record.comment = approval.comment;
      const decidedBy = trailer ?? request.mergedBy ?? undefined;
      if (decidedBy !== undefined) record.decidedBy = decidedBy;
    } else if (request.mergedBy != null) {
      record.decidedBy = request.mergedBy;
    }
  } else if (request.state === 'closed') {
    record.decidedAt = isoTime(request.closedAt);
    const decision = await closedDecision(request, sources, byPortal(request.closedBy));
    if (decision.by !== undefined) record.decidedBy = decision.by;
    if (decision.recorded !== undefined) record.recordedDecider = decision.recorded;
    if (decision.reason !== undefined && record.outcome === 'rejected') record.reason = decision.reason;
  }
  return record;
}

/**
 * Who closed a request and what they wrote. The reason is the closer's decision comment (the one
 * `mergekey review reject` and the portal write), else their latest word on it: a review
 * requesting changes (GitHub's own way to reject) or a comment, whichever came last. When the
 * portal's account closed it, the person is the one its decision comment names.
 */
async function closedDecision(request: Extract<RequestSummary, { state: 'closed' }>, sources: DecisionSources, byPortal: boolean): Promise<ClosedDecision> {
  const closer = request.closedBy;
  if (closer === null) return { by: undefined, reason: undefined };
  const key = `${request.number}@${request.closedAt}`;
  const known = sources.memo?.get(key);
  if (known !== undefined) return known;
  let comments: Comment[];
  let reviews: Review[];
  try {
    [comments, reviews] = await Promise.all([sources.backend.listComments(request.number), sources.backend.listReviews(request.number)]);
  } catch {
    // GitHub failed after listing the request: its outcome and closer still show; nothing is remembered.
    return { by: closer, reason: undefined };
  }
  const words = [
    ...reviews
      .filter((review) => review.state === 'CHANGES_REQUESTED' && review.author !== null && sameLogin(review.author, closer) && review.body.trim() !== '')
      .map((review) => ({ at: review.submittedAt ?? '', body: review.body, marker: undefined as ReturnType<typeof parseDecisionMarker> })),
    ...comments
      .filter((comment) => comment.author !== null && sameLogin(comment.author, closer) && !comment.body.includes(`<!-- ${CHECK_COMMENT_MARKER} -->`))
      .map((comment) => ({ at: comment.createdAt, body: comment.body, marker: parseDecisionMarker(comment.body) })),
  ].sort((a, b) => a.at.localeCompare(b.at));
  // Mergekey's own decision comment when there is one; else the closer's last word.
  const decided = words.filter((word) => word.marker !== undefined).at(-1);
  const last = decided ?? words.at(-1);
  const marker = byPortal ? decided?.marker : undefined;
  // Believed only with a MAC that verifies for this request and outcome; without the key, kept as recorded.
  const person = marker === undefined || sources.markers === undefined ? undefined : verifiedDecider(request.headRef, marker, sources.markers);
  const recorded = sources.markers === undefined ? marker?.by?.name : undefined;
  const reason = last === undefined ? undefined : decisionText(last.body);
  const decision: ClosedDecision = { by: person ?? closer, ...(recorded === undefined ? {} : { recorded }), reason: reason === '' ? undefined : reason };
  if (sources.memo !== undefined) {
    if (sources.memo.size >= MAX_MEMO) sources.memo.clear();
    sources.memo.set(key, decision);
  }
  return decision;
}

/**
 * What a person wrote in a decision comment: Mergekey's comments open with a marker line and a
 * heading line ("Rejected by …:"), then a blank line, then the publisher's words verbatim.
 * Anyone else's comment is all their words.
 */
export function decisionText(body: string): string {
  const text = body.replaceAll('\r\n', '\n');
  if (parseDecisionMarker(text) === undefined) return text.trim();
  const gap = text.indexOf('\n\n');
  return gap === -1 ? '' : text.slice(gap + 2).trim();
}

export interface Approval {
  /** The person the portal approved for (the `Approved-by:` trailer). */
  approvedBy?: string;
  /** The publisher's comment, between the heading line and the trailers. */
  comment?: string;
}

/**
 * What an approval's merge commit says: `approveRequest` writes a heading line, the publisher's
 * comment when there is one, and trailers. Undefined when the commit cannot be read.
 */
export async function approvalOf(clone: Clone, commit: string): Promise<Approval | undefined> {
  try {
    const output = await clone.run(['log', '-1', `--format=%(trailers:key=${TRAILERS.approvedBy},valueonly)%x00%b`, commit]);
    const [trailer = '', body = ''] = output.toString('utf8').split('\0');
    const approvedBy = trailer.trim().split('\n')[0]?.trim();
    const comment = approvalComment(body);
    return { ...(approvedBy === undefined || approvedBy === '' ? {} : { approvedBy }), ...(comment === undefined ? {} : { comment }) };
  } catch {
    return undefined;
  }
}

/** The comment in an approval commit's body: what lies between the `Approved by …` line and the trailers. */
export function approvalComment(body: string): string | undefined {
  const paragraphs = body.replaceAll('\r\n', '\n').trim().split(/\n{2,}/);
  if (!/^Approved by .*\.$/.test(paragraphs[0] ?? '')) return undefined;
  const rest = paragraphs.slice(1);
  if (rest.length > 0 && rest.at(-1)!.split('\n').every((line) => line.startsWith(`${TRAILERS.approvedBy}: `))) rest.pop();
  const comment = rest.join('\n\n').trim();
  return comment === '' ? undefined : comment;
}
