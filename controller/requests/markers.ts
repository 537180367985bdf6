// Who the portal's markers name, believed only when the server signed them. The portal opens and
// closes pull requests with one bot token and records the person in the body marker
// (`requested-by=`) and in decision comments (`by=`). Anyone with triage or write access may edit a
// pull request's body (and, on GitHub, the bot's comments), so a name there proves nothing by
// itself: the portal signs each one with a MAC under a key only the server holds
// (../sealing/markers.ts), bound to the request's head branch (which the portal chose) and the
// person, and a decision's also to its outcome. A marker moved to another request, or naming
// someone else, does not verify.
//
// An unsigned marker (the portal's before it signed them, or anyone's) is not believed: the
// request is then the bot's, which no User owns; the CLI, which holds no key, shows the recorded
// name as what the portal recorded and never decides anything on it.
import type { MarkerKey } from '../sealing/markers.ts';
import { sameLogin, type DecidedOutcome, type RecordedPerson, type RequestSummary } from './requests.ts';

export type { MarkerKey } from '../sealing/markers.ts';

/** What a believer needs: the server's key, and the login of the account the portal acts as. */
export interface MarkerTrust {
  key: MarkerKey;
  portalLogin: string | undefined;
}

function requesterFields(branch: string, name: string): string[] {
  return ['mergekey:request', branch, name];
}

function decisionFields(branch: string, outcome: DecidedOutcome, name: string): string[] {
  return ['mergekey:decision', branch, outcome, name];
}

/** The person for a request marker on the pull request from `branch`, signed. */
export function signedRequester(key: MarkerKey, branch: string, name: string): RecordedPerson {
  return { name, mac: key.mac(requesterFields(branch, name)) };
}

/** The person for a decision comment on the pull request from `branch`, signed. */
export function signedDecider(key: MarkerKey, branch: string, outcome: DecidedOutcome, name: string): RecordedPerson {
  return { name, mac: key.mac(decisionFields(branch, outcome, name)) };
}

/**
 * The User the portal opened `pull` for: its account opened it and the marker's MAC verifies
 * for this branch and this name. Undefined otherwise, whatever the body says.
 */
export function verifiedRequester(pull: { author: string; headRef?: string | undefined; recordedRequester?: RecordedPerson | undefined }, trust: MarkerTrust): string | undefined {
  const recorded = pull.recordedRequester;
  if (trust.portalLogin === undefined || !sameLogin(pull.author, trust.portalLogin)) return undefined;
  if (recorded?.mac === undefined || pull.headRef === undefined) return undefined;
  return trust.key.verifies(requesterFields(pull.headRef, recorded.name), recorded.mac) ? recorded.name : undefined;
}

/** The person a decision comment names, when its MAC verifies for this branch and outcome. */
export function verifiedDecider(branch: string | undefined, marker: { outcome: DecidedOutcome; by?: RecordedPerson }, key: MarkerKey): string | undefined {
  const by = marker.by;
  if (by?.mac === undefined || branch === undefined) return undefined;
  return key.verifies(decisionFields(branch, marker.outcome, by.name), by.mac) ? by.name : undefined;
}

/** The requests with `requestedBy` set where the marker verifies (and only there). */
export function believeRequesters(requests: readonly RequestSummary[], trust: MarkerTrust): RequestSummary[] {
  return requests.map((request) => {
    const { requestedBy: _ignored, ...rest } = request;
    const person = verifiedRequester(request, trust);
    return (person === undefined ? rest : { ...rest, requestedBy: person }) as RequestSummary;
  });
}
