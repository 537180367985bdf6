// Rules about one file that a schema cannot say: the name and folder agree with the path, and
// sealed values are well formed and bound to this very object, and an application's public keys
// are keys the token endpoint can verify with (client-keys.ts). They read the manifest
// defensively, so they still report what they can when the schema has found other problems.
import type { LocatedProblem } from './parse.ts';
import type { Kind, Pointer } from './model.ts';
import { KIND_FOLDERS, SETTINGS_NAME, SETTINGS_PATH, type ManifestPath } from './paths.ts';
import { checkClientKeys } from './client-keys.ts';
import { checkSealed, findSealed } from './sealed.ts';
import { checkSealingKey } from './sealing-key.ts';
import { display } from './schema-messages.ts';
import type { Locator } from './source.ts';
import { MAX_ACCESS_TOKEN_TTL_SECONDS, MAX_REFRESH_TOKEN_TTL_SECONDS } from './limits.ts';
import { redirectUriRuleProblem } from './redirect-uris.ts';
import { ambiguousUrlProblem } from './urls.ts';
import { PUBLIC_CLIENT_GRANT_TYPES, PUBLIC_CLIENT_METHOD } from './vocabulary.ts';

export function fileRules(
  where: ManifestPath,
  kind: Kind,
  manifest: unknown,
  source: Locator,
): LocatedProblem[] {
  const problems: LocatedProblem[] = [];
  function report(pointer: Pointer, code: LocatedProblem['code'], message: string): void {
    problems.push({ ...source.locate(pointer), code, message: `${display(pointer)}: ${message}` });
  }

  if (kind !== where.kind) {
    const home = kind === 'Settings' ? `${SETTINGS_PATH} at the repository root` : `${KIND_FOLDERS[kind]}/`;
    const here = where.kind === 'Settings' ? SETTINGS_PATH : `${KIND_FOLDERS[where.kind]}/`;
    report(['kind'], 'rules.kind-folder', `${kind} belongs in ${home}, not in ${here}`);
  }

  const name = (manifest as { metadata?: { name?: unknown } }).metadata?.name;
  if (typeof name === 'string') {
    if (kind === 'Settings' && where.kind === 'Settings' && name !== SETTINGS_NAME) {
      report(['metadata', 'name'], 'rules.name-mismatch', `the settings in ${SETTINGS_PATH} are named ${SETTINGS_NAME}, not ${JSON.stringify(name)}`);
    } else if (where.kind !== 'Settings' && name !== where.name) {
      report(['metadata', 'name'], 'rules.name-mismatch', `${JSON.stringify(name)} differs from the file name ${where.name}.yaml: an object's name is its file's base name`);
    }
    const binding = `${kind}/${name}`;
    for (const sealed of findSealed((manifest as { spec?: unknown }).spec)) {
      // A value that is not even five dot-separated parts fails the schema's pattern already.
      if (sealed.value.split('.').length !== 5) continue;
      const problem = checkSealed(sealed, binding);
      if (problem !== undefined) report(['spec', ...sealed.pointer], problem.code, problem.message);
    }
  }
  for (const pointer of urlFields(kind, manifest)) {
    const value = pointer.reduce<unknown>((node, key) => (node as Record<string | number, unknown>)[key], manifest);
    const problem = typeof value === 'string' ? ambiguousUrlProblem(value) : undefined;
    if (problem !== undefined) report(pointer, 'rules.url-ambiguous', `${JSON.stringify(value)} ${problem}`);
    else if (typeof value === 'string' && pointer[1] === 'redirectUris') {
      const rule = redirectUriRuleProblem(value);
      if (rule !== undefined) report(pointer, 'rules.redirect-uri', `${JSON.stringify(value)} ${rule}`);
    }
  }
  if (kind === 'Plan') {
    const spec = (manifest as { spec?: Record<string, unknown> }).spec;
    const bounds = [['accessTokenTtl', MAX_ACCESS_TOKEN_TTL_SECONDS, '24h'], ['refreshTokenTtl', MAX_REFRESH_TOKEN_TTL_SECONDS, '366d']] as const;
    for (const [field, max, shown] of bounds) {
      const seconds = typeof spec?.[field] === 'string' ? durationInSeconds(spec[field]) : undefined;
      if (seconds !== undefined && seconds > max) {
        report(['spec', field], 'schema.range', `must be at most ${shown} (${max} seconds), not ${String(spec![field])}`);
      }
    }
  }
  if (kind === 'Settings') {
    const problem = checkSealingKey((manifest as { spec?: unknown }).spec);
    if (problem !== undefined) report(['spec', ...problem.pointer], problem.code, problem.message);
  }
  if (kind === 'Application') {
    const spec = (manifest as { spec?: unknown }).spec;
    for (const problem of checkClientKeys(spec)) report(['spec', ...problem.pointer], problem.code, problem.message);
    checkGrants(spec, report);
  }
  return problems;
}

/**
 * What an application's grant types ask of the rest of its manifest: the authorization_code
 * grant sends the user back to a registered redirect URI (RFC 6749 section 3.1.2.2: the server
 * MUST require registration of it from public clients and confidential clients alike), and a
 * public client, holding no secret, may use only the grants its PKCE verifier protects.
 */
function checkGrants(spec: unknown, report: (pointer: Pointer, code: LocatedProblem['code'], message: string) => void): void {
  if (spec === null || typeof spec !== 'object') return;
  const { grantTypes, redirectUris, tokenEndpointAuthMethod } = spec as Record<string, unknown>;
  if (!Array.isArray(grantTypes)) return;
  for (const [index, grant] of grantTypes.entries()) {
    if (grant === 'authorization_code' && (!Array.isArray(redirectUris) || redirectUris.length === 0)) {
      report(['spec', 'grantTypes', index], 'rules.redirect-uri-missing', 'authorization_code sends the user back to a registered redirect URI, and this application lists none: add spec.redirectUris');
    }
    if (tokenEndpointAuthMethod === PUBLIC_CLIENT_METHOD && typeof grant === 'string' && !(PUBLIC_CLIENT_GRANT_TYPES as readonly string[]).includes(grant)) {
      report(['spec', 'grantTypes', index], 'rules.public-client-grant', `a public client (tokenEndpointAuthMethod none) has no secret to prove who asks, so it may use only ${PUBLIC_CLIENT_GRANT_TYPES.join(' and ')} (with PKCE), not ${grant}`);
    }
  }
}

/** Where each kind holds URLs that send someone somewhere: redirect URIs, the issuer, an audience. */
function urlFields(kind: Kind, manifest: unknown): Pointer[] {
  const spec = (manifest as { spec?: Record<string, unknown> }).spec;
  if (spec === null || typeof spec !== 'object') return [];
  if (kind === 'Settings') return ['issuer' in spec ? [['spec', 'issuer']] : []].flat();
  if (kind === 'Api') return ['audience' in spec ? [['spec', 'audience']] : []].flat();
  if (kind === 'Application' && Array.isArray(spec.redirectUris)) return spec.redirectUris.map((_, index) => ['spec', 'redirectUris', index]);
  return [];
}

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;

/** Seconds in a duration of the schema's form (`15m`); undefined for any other string, which the schema reports. */
function durationInSeconds(text: string): number | undefined {
  const match = /^([1-9][0-9]{0,8})([smhd])$/.exec(text);
  return match === null ? undefined : Number(match[1]) * UNIT_SECONDS[match[2] as keyof typeof UNIT_SECONDS];
}
