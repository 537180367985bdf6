// Which scopes a token gets, and which audiences they mean.
//
// A token is issued only for scopes the application holds and that exist: `open`, or a scope an
// Api publishes now. No scope requested means all of them (RFC 6749 section 3.3 lets the server
// pick a default; the application's own list is the one its publisher approved).
import { BUILT_IN_SCOPES, isBuiltInScope } from '../manifests/vocabulary.ts';
import type { ApiRecord } from '../store/records.ts';
import { invalidScope } from './errors.ts';

export const OPEN_SCOPE = 'open';

/**
 * OpenID Connect's scopes (Core 1.0 sections 3.1.2.1 and 5.4): `openid` asks for an ID token, and
 * `profile` and `email` for those claims at the userinfo endpoint. Like `open` they are this
 * server's own (`BUILT_IN_SCOPES`, manifests/vocabulary.ts), granted only to an application whose
 * manifest lists them, never an Api's: they add no audience to an access token, and no cut-off
 * withdraws them.
 */
export const OPENID_SCOPE = 'openid';
export { BUILT_IN_SCOPES, isBuiltInScope };

// RFC 6749 section 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), delimited by one space.
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/** The scopes of a `scope` parameter, in order, without repeats; undefined when absent. */
export function parseScope(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const scopes = value.split(' ');
  for (const scope of scopes) {
    if (!SCOPE_TOKEN.test(scope)) throw invalidScope('the scope parameter is malformed');
  }
  return [...new Set(scopes)];
}

/** Scope → the audience of the Api that publishes it. */
export type ScopeAudiences = ReadonlyMap<string, string>;

export function scopeAudiences(apis: ApiRecord[]): ScopeAudiences {
  const map = new Map<string, string>();
  for (const api of apis) for (const scope of api.spec.scopes) map.set(scope.name, api.spec.audience);
  return map;
}

/**
 * The scopes to grant: the requested ones, each of which must be held, or all held ones.
 * `held` is what the application (or, on refresh, the original grant) holds; scopes no Api
 * publishes any more are not held.
 */
export function grantScopes(requested: string[] | undefined, held: readonly string[], published: ScopeAudiences): string[] {
  const grantable = held.filter((scope) => isBuiltInScope(scope) || published.has(scope));
  if (requested === undefined) {
    if (grantable.length === 0) throw invalidScope('the application holds no scope that can be granted');
    return grantable;
  }
  const refused = requested.filter((scope) => !grantable.includes(scope));
  // Described, never echoed: the scope is the caller's input, and an error page or log that shows
  // error_description must not carry what a caller chose to put there.
  if (refused.length > 0) throw invalidScope('a requested scope is not one this client may have');
  return requested;
}

/**
 * RFC 9068 section 3: the audiences of the Apis whose scopes were granted; a token with only
 * built-in scopes (`open`, `openid`, `profile`, `email`) is meant for the authorization server
 * itself (the userinfo endpoint among others), so its audience is the issuer.
 */
export function audiencesOf(scopes: readonly string[], published: ScopeAudiences, issuer: string): string[] {
  const audiences = new Set<string>();
  for (const scope of scopes) {
    if (isBuiltInScope(scope)) continue;
    const audience = published.get(scope);
    if (audience !== undefined) audiences.add(audience);
  }
  return audiences.size === 0 ? [issuer] : [...audiences];
}
