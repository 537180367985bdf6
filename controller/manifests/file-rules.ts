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
import { ambiguousUrlProblem } from './urls.ts';

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
  }
  if (kind === 'Settings') {
    const problem = checkSealingKey((manifest as { spec?: unknown }).spec);
    if (problem !== undefined) report(['spec', ...problem.pointer], problem.code, problem.message);
  }
  if (kind === 'Application') {
    const spec = (manifest as { spec?: unknown }).spec;
    for (const problem of checkClientKeys(spec)) report(['spec', ...problem.pointer], problem.code, problem.message);
  }
  return problems;
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
