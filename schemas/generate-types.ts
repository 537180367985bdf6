// Generates TypeScript types from the JSON Schemas, so each manifest field is defined once, in
// schemas/. `npm run gen:types` rewrites the file; types.test.ts fails when it has drifted.
//
// The types describe a manifest *after* validation: ajv has applied the schema's defaults, so a
// property with a default is required in the type and code never re-states the default.
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { compile, type JSONSchema } from 'json-schema-to-typescript';

export const KIND_SCHEMAS = ['settings', 'application', 'api', 'plan', 'user'] as const;

const schemasDir = fileURLToPath(new URL('.', import.meta.url));
export const typesFile = fileURLToPath(new URL('../controller/manifests/types.generated.ts', import.meta.url));

export async function generateTypes(): Promise<string> {
  const parts = ['/* Generated from schemas/*.schema.json by `npm run gen:types`. Do not edit. */\n'];
  const emitted = new Set<string>();
  for (const kind of KIND_SCHEMAS) {
    const schema = JSON.parse(await readFile(`${schemasDir}${kind}.schema.json`, 'utf8')) as JSONSchema;
    const ts = await compile(requireDefaulted(schema), kind, {
      cwd: schemasDir,
      ignoreMinAndMaxItems: true,
      bannerComment: '',
      additionalProperties: false,
      strictIndexSignatures: true,
      style: { singleQuote: true, printWidth: 100 },
    });
    // Shared definitions (common.schema.json) come out of every kind's compilation; keep the first.
    for (const block of ts.split(/\n(?=\/\*\*|export )/)) {
      const name = /^(?:\/\*\*[\s\S]*?\*\/\n)?export (?:interface|type) (\w+)/.exec(block)?.[1];
      if (name === undefined || emitted.has(name)) continue;
      emitted.add(name);
      parts.push(block.trimEnd() + '\n');
    }
  }
  return parts.join('\n');
}

/** Marks every property that has a default as required, recursively. */
function requireDefaulted(node: JSONSchema): JSONSchema {
  if (Array.isArray(node)) return node.map(requireDefaulted) as unknown as JSONSchema;
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    // An allOf of if/then/else conditions only (the application's credentials per auth method)
    // changes no type, but would turn the interface into an alias of a numbered copy.
    if (key === 'allOf' && Array.isArray(value) && value.every(isConditionOnly)) continue;
    out[key] = requireDefaulted(value as JSONSchema);
  }
  const properties = node.properties as Record<string, JSONSchema> | undefined;
  if (properties !== undefined) {
    const defaulted = Object.keys(properties).filter((key) => properties[key]?.default !== undefined);
    if (defaulted.length > 0) out.required = [...new Set([...(node.required as string[] ?? []), ...defaulted])];
  }
  return out as JSONSchema;
}

function isConditionOnly(node: unknown): boolean {
  return node !== null && typeof node === 'object' && Object.keys(node).every((key) => ['if', 'then', 'else'].includes(key));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await writeFile(typesFile, await generateTypes());
  console.log(`wrote ${typesFile}`);
}
