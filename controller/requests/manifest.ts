// Writing application manifests for requests. A new manifest is rendered in the repository's
// style (schema comment first, block YAML, state written out); an edit changes only the fields it
// names in the existing text, so comments and layout the developer or publisher wrote survive.
import { Document, isMap, isSeq, parseDocument } from 'yaml';
import { loadManifest, quoteAmbiguousStrings, type Problem } from '../manifests/index.ts';
import type { Application, ClientSecret } from '../manifests/types.generated.ts';
import { appPath } from './index.ts';
import { RequestError } from './errors.ts';

/** The schema comment editors read; apps/ sits one level below .mergekey/. */
const SCHEMA_COMMENT = '# yaml-language-server: $schema=../.mergekey/schemas/application.schema.json';

export function renderNewApplication(app: Application): string {
  const spec = app.spec;
  const ordered: Application = {
    apiVersion: app.apiVersion,
    kind: 'Application',
    metadata: { name: app.metadata.name },
    spec: {
      ...(spec.displayName === undefined ? {} : { displayName: spec.displayName }),
      description: spec.description,
      owners: spec.owners,
      clientId: spec.clientId,
      state: spec.state,
      scopes: spec.scopes,
      grantTypes: spec.grantTypes,
      ...(spec.redirectUris === undefined || spec.redirectUris.length === 0 ? {} : { redirectUris: spec.redirectUris }),
      ...(spec.plan === undefined ? {} : { plan: spec.plan }),
      tokenEndpointAuthMethod: spec.tokenEndpointAuthMethod,
      credentials: spec.credentials,
    },
  };
  return `${SCHEMA_COMMENT}\n${quoteAmbiguousStrings(new Document(ordered)).toString({ lineWidth: 0 })}`;
}

/** What an edit request changes; absent fields stay as they are, `null` removes an optional one. */
export interface ApplicationEdits {
  displayName?: string | null;
  description?: string;
  redirectUris?: string[] | null;
  scopes?: string[];
  grantTypes?: Application['spec']['grantTypes'];
  plan?: string | null;
  state?: 'active' | 'inactive';
  secrets?: ClientSecret[];
}

/** Applies `edits` to a manifest's text, keeping everything else (comments included) as written. */
export function editApplicationText(text: string, edits: ApplicationEdits): string {
  const doc = parseDocument(text);
  if (doc.errors.length > 0 || !isMap(doc.get('spec'))) {
    throw new RequestError('manifest-unparsable', {}, 'the application manifest on main does not parse; a publisher must fix it first');
  }
  const set = (key: string, value: unknown) => {
    if (value === undefined) return;
    if (value === null) {
      doc.deleteIn(['spec', key]);
      return;
    }
    const node = doc.createNode(value);
    // A list written `[a, b]` stays on one line.
    const before = doc.getIn(['spec', key], true);
    if (isSeq(node) && isSeq(before) && before.flow === true) node.flow = true;
    doc.setIn(['spec', key], node);
  };
  set('displayName', edits.displayName);
  set('description', edits.description);
  set('redirectUris', edits.redirectUris === null || edits.redirectUris?.length === 0 ? null : edits.redirectUris);
  set('scopes', edits.scopes);
  set('grantTypes', edits.grantTypes);
  set('plan', edits.plan);
  set('state', edits.state);
  if (edits.secrets !== undefined) doc.setIn(['spec', 'credentials', 'secrets'], doc.createNode(edits.secrets));
  return quoteAmbiguousStrings(doc).toString({ lineWidth: 0, flowCollectionPadding: false });
}

/**
 * Loads `text` as `apps/<name>.yaml` with the schema's defaults applied. Throws `request-invalid` naming
 * the first problem (file:line:column) when it does not load.
 */
/** The fields an edit may change, as a confirmation names them. */
const EDITABLE_FIELDS: readonly [keyof Application['spec'], string][] = [
  ['displayName', 'display name'],
  ['description', 'description'],
  ['redirectUris', 'redirect URIs'],
  ['scopes', 'scopes'],
  ['grantTypes', 'grant types'],
  ['plan', 'plan'],
];

/** Which editable fields differ between two versions of an application, in words ("scopes"). */
export function changedFields(before: Application, after: Application): string[] {
  return EDITABLE_FIELDS.filter(([key]) => JSON.stringify(before.spec[key] ?? null) !== JSON.stringify(after.spec[key] ?? null)).map(([, label]) => label);
}

export function loadApplication(name: string, text: string): Application {
  const path = appPath(name);
  const result = loadManifest({ path, content: new TextEncoder().encode(text) });
  if (result.object === undefined || result.object.kind !== 'Application') {
    throw new RequestError('request-invalid', { app: name, path }, `the requested ${path} would not be valid: ${describeProblems(result.problems)}`);
  }
  return result.object.manifest;
}

export function describeProblems(problems: readonly Problem[]): string {
  if (problems.length === 0) return 'it does not load as an Application';
  const shown = problems.slice(0, 3).map((p) => `${p.path}:${p.line}:${p.column}: ${p.message}`);
  return shown.join('; ') + (problems.length > 3 ? ` (and ${problems.length - 3} more)` : '');
}
