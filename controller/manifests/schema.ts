// Shape validation: one ajv instance, every kind's schema compiled once, when this module loads.
import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';
import { MAX_ENTRIES } from './limits.ts';
import { KINDS, type Kind, type Pointer } from './model.ts';
import type { LocatedProblem } from './parse.ts';
import { display, schemaProblems } from './schema-messages.ts';
import type { Locator } from './source.ts';

const SCHEMA_FILES: Readonly<Record<Kind, string>> = {
  Settings: 'settings.schema.json',
  Application: 'application.schema.json',
  Api: 'api.schema.json',
  Plan: 'plan.schema.json',
  User: 'user.schema.json',
};

function readSchema(file: string): object {
  return JSON.parse(readFileSync(new URL(`../../schemas/${file}`, import.meta.url), 'utf8')) as object;
}

const ajv = new Ajv2020({
  allErrors: true,
  // Defaults live in the schemas (scopes [open], state active, ...), and are applied here only.
  useDefaults: true,
  strict: true,
  // `yes` stays a string and `0123` stays a number: a wrong type is reported, never repaired.
  coerceTypes: false,
  $data: false,
  // Messages quote the failing value and read the surrounding schema (see schema-messages.ts).
  verbose: true,
});
ajvFormats.default(ajv);
ajv.addSchema(readSchema('common.schema.json'));

const validators = new Map<Kind, ValidateFunction>(KINDS.map((kind) => [kind, ajv.compile(readSchema(SCHEMA_FILES[kind]))]));

export interface ShapeResult {
  /** The manifest's kind, when its `kind` field names one. */
  kind?: Kind;
  problems: LocatedProblem[];
}

/**
 * Checks a parsed manifest against its kind's schema, applying the schema's defaults to `value`
 * in place. The kind comes from the `kind` field.
 */
export function validateShape(value: unknown, source: Locator): ShapeResult {
  const kinds = KINDS.join(', ');
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const found = Array.isArray(value) ? 'a list' : `a single value`;
    return {
      problems: [{ ...source.locate([]), code: 'schema.type', message: `a manifest is a mapping with apiVersion, kind, metadata and spec, not ${found}` }],
    };
  }
  const kind = (value as { kind?: unknown }).kind;
  if (kind === undefined) {
    return { problems: [{ ...source.locate([]), code: 'schema.kind', message: `missing required field "kind": one of ${kinds}` }] };
  }
  const validate = typeof kind === 'string' ? validators.get(kind as Kind) : undefined;
  if (validate === undefined) {
    const shown = typeof kind === 'string' ? JSON.stringify(kind) : String(kind);
    return { problems: [{ ...source.locate(['kind']), code: 'schema.kind', message: `kind: unknown kind ${shown}: use one of ${kinds}` }] };
  }
  const oversized = oversizedCollections(value);
  if (oversized.length > 0) {
    return {
      kind: kind as Kind,
      problems: oversized.map(({ pointer, entries }) => ({
        ...source.locate(pointer),
        code: 'schema.size' as const,
        message: `${display(pointer)}: holds ${entries} entries; no list or mapping in a manifest may hold more than ${MAX_ENTRIES} (the file is not checked further)`,
      })),
    };
  }
  if (validate(value)) return { kind: kind as Kind, problems: [] };
  return { kind: kind as Kind, problems: schemaProblems(validate.errors ?? [], value, source) };
}

/**
 * Lists and mappings over MAX_ENTRIES, in document order, found iteratively (the value is at most
 * MAX_DEPTH deep, but a walk that cannot overflow costs nothing more). Their contents are not
 * walked: one problem per oversized collection.
 */
function oversizedCollections(value: unknown): { pointer: Pointer; entries: number }[] {
  const found: { pointer: Pointer; entries: number }[] = [];
  const stack: [unknown, Pointer][] = [[value, []]];
  while (stack.length > 0) {
    const [node, pointer] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    const entries: [string | number, unknown][] = Array.isArray(node) ? node.map((item, index) => [index, item]) : Object.entries(node);
    if (entries.length > MAX_ENTRIES) {
      found.push({ pointer, entries: entries.length });
      continue;
    }
    for (let index = entries.length - 1; index >= 0; index -= 1) stack.push([entries[index]![1], [...pointer, entries[index]![0]]]);
  }
  return found;
}
