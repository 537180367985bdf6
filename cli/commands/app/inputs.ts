// Parsing the values developers type for application fields, with usage errors that name the option.
import { redirectUriProblem, type ManifestObject } from '../../../controller/manifests/index.ts';
import { BUILT_IN_SCOPES, GRANT_TYPES, isGrantType, type GrantType } from '../../../controller/manifests/vocabulary.ts';
import { usageError } from '../../errors.ts';
import { requireKnownScopes } from '../../suggest.ts';

/** `a,b c` → ['a', 'b', 'c']: commas or spaces, duplicates dropped. */
export function parseList(option: string, value: string): string[] {
  const items = [...new Set(value.split(/[\s,]+/).filter((item) => item !== ''))];
  if (items.length === 0) throw usageError(`option '--${option}' needs at least one value`);
  return items;
}

export function parseGrantTypes(value: string): GrantType[] {
  const items = parseList('grant-types', value);
  const unknown = items.find((item) => !isGrantType(item));
  if (unknown !== undefined) throw usageError(`option '--grant-types': unknown grant type '${unknown}' (use ${GRANT_TYPES.join(', ')})`);
  return items.filter(isGrantType);
}

/** The scopes an application may list beside `objects`: the built-in ones, then those their Apis publish. */
export function knownScopes(objects: readonly ManifestObject[]): string[] {
  const published = objects.flatMap((object) => (object.kind === 'Api' ? object.manifest.spec.scopes.map((scope) => scope.name) : []));
  return [...new Set([...BUILT_IN_SCOPES, ...published])];
}

/**
 * Refuses, before anything is written or a request opened, a scope the repository does not
 * define, with the closest it does ("did you mean"); its rules would refuse it anyway
 * (rules.unknown-scope), in words that cannot guess what was meant.
 */
export function requireScopesDefined(scopes: readonly string[] | undefined, objects: readonly ManifestObject[]): void {
  if (scopes !== undefined) requireKnownScopes('scopes', scopes, knownScopes(objects));
}

/** Redirect URIs, each checked as the manifest checks it (the schema and redirect-uris.ts). */
export function parseRedirectUris(values: readonly string[]): string[] {
  for (const uri of values) {
    const problem = redirectUriProblem(uri);
    if (problem !== undefined) throw usageError(`option '--redirect-uri' refuses '${uri}': ${problem}`);
  }
  return [...new Set(values)];
}

/** The help of `--redirect-uri`, as app create, app new and app edit take it. */
export const REDIRECT_URI_HELP =
  'A redirect URI for the authorization_code grant, matched exactly: https://…, or http://127.0.0.1 or http://[::1] (any port at sign-in) for a native app; no fragment. Repeat for several.';

/** The help of `--auth-method`. */
export const AUTH_METHOD_HELP = 'How the client authenticates at the token endpoint; none: a public client (a single-page or mobile app) with no secret, protected by PKCE.';

/** What a new public client is told instead of a secret. */
export const PUBLIC_CLIENT_NOTE = 'A public client: no client secret. It signs people in with the authorization_code grant and PKCE (S256).';

const UNITS: Readonly<Record<string, number>> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `7d`, `36h`, `90m`, `0s` → milliseconds. */
export function parseDuration(option: string, value: string): number {
  const match = /^(\d{1,6})([smhd])$/.exec(value.trim());
  if (match === null) throw usageError(`option '--${option}' must be a duration like 7d, 36h or 90m (got '${value}')`);
  return Number(match[1]) * UNITS[match[2]!]!;
}
