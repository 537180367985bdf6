// Checks responses against GitHub's published OpenAPI description (@octokit/openapi), so the
// stand-in answers in GitHub's shapes rather than in shapes we imagine. The description is
// OpenAPI 3.0: `nullable: true` is rewritten to JSON Schema, and objects are closed
// (`additionalProperties: false`) so a property GitHub does not document is caught too.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

type Schema = Record<string, unknown>;
interface Operation {
  operationId: string;
  responses: Record<string, { content?: Record<string, { schema?: Schema }> }>;
}

export interface ResponseCheck {
  /** e.g. `pulls/create`; undefined when no documented path matches. */
  operationId: string | undefined;
  /** The spec path template, e.g. `/repos/{owner}/{repo}/pulls`. */
  template: string | undefined;
  /** Whether the operation documents this status (otherwise a generic "Basic Error" is checked). */
  documented: boolean;
  /** Ajv's complaints, as `instancePath message`; empty when the body conforms. */
  errors: string[];
}

export interface OpenApiChecker {
  check(method: string, url: string, status: number, body: unknown): ResponseCheck;
}

const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

/**
 * OpenAPI 3.0 → JSON Schema for what Ajv checks: `nullable` becomes a `null` alternative, and
 * every object schema that lists its properties is closed, except inside `allOf` (where closing
 * each part would refuse the others' properties).
 */
export function toStrictJsonSchema(schema: unknown, insideAllOf = false): unknown {
  if (Array.isArray(schema)) return schema.map((item) => toStrictJsonSchema(item, insideAllOf));
  if (schema === null || typeof schema !== 'object') return schema;
  const source = schema as Schema;
  const out: Schema = {};
  for (const [key, value] of Object.entries(source)) {
    if (key === 'nullable' || key === 'example' || key === 'examples' || key === 'discriminator') continue;
    if (key === 'properties' && value !== null && typeof value === 'object') {
      out[key] = Object.fromEntries(Object.entries(value).map(([name, child]) => [name, toStrictJsonSchema(child)]));
    } else if (key === 'allOf') {
      out[key] = (value as unknown[]).map((item) => toStrictJsonSchema(item, true));
    } else {
      out[key] = toStrictJsonSchema(value);
    }
  }
  if (!insideAllOf && out.properties !== undefined && out.additionalProperties === undefined) out.additionalProperties = false;
  if (source.nullable !== true) return out;
  if (typeof out.type === 'string' && out.enum === undefined) return { ...out, type: [out.type, 'null'] };
  return { anyOf: [{ type: 'null' }, out] };
}

/** Loads the description once (it is large: about a second) and compiles schemas on demand. */
export function loadGitHubOpenApi(): OpenApiChecker {
  const require = createRequire(import.meta.url);
  const file = require.resolve('@octokit/openapi/generated/api.github.com.deref.json');
  const spec = JSON.parse(readFileSync(file, 'utf8')) as { paths: Record<string, Record<string, Operation>> };
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
  addFormats(ajv);
  ajv.addFormat('int64', { type: 'number', validate: (value: number) => Number.isSafeInteger(value) });

  const templates = Object.keys(spec.paths).map((template) => ({
    template,
    params: (template.match(/\{/g) ?? []).length,
    pattern: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`),
  }));
  // GitHub's generic error body, for statuses an operation does not list (401 everywhere, say).
  const basicError = spec.paths['/user']!.get!.responses['401']!.content!['application/json']!.schema!;
  const compiled = new Map<string, ValidateFunction>();
  const validator = (key: string, schema: Schema) => {
    let validate = compiled.get(key);
    if (validate === undefined) {
      validate = ajv.compile(toStrictJsonSchema(schema) as Schema);
      compiled.set(key, validate);
    }
    return validate;
  };

  return {
    check(method, url, status, body) {
      const path = new URL(url, 'http://stand-in').pathname;
      const match = templates.filter((candidate) => candidate.pattern.test(path)).sort((a, b) => a.params - b.params)[0];
      const operation = match === undefined ? undefined : spec.paths[match.template]![method.toLowerCase()];
      if (match === undefined || operation === undefined) {
        return { operationId: undefined, template: match?.template, documented: false, errors: [`no operation ${method} ${path} in the description`] };
      }
      const response = operation.responses[String(status)];
      const schema = response === undefined ? (status >= 400 ? basicError : undefined) : response.content?.['application/json']?.schema;
      if (schema === undefined) {
        const errors = response === undefined ? [`status ${status} is not documented for ${operation.operationId}`] : body === undefined || body === '' ? [] : ['a body where none is documented'];
        return { operationId: operation.operationId, template: match.template, documented: response !== undefined, errors };
      }
      const validate = validator(`${operation.operationId} ${response === undefined ? 'basic-error' : status}`, schema);
      const errors = validate(body) ? [] : (validate.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message ?? ''} ${JSON.stringify(error.params)}`);
      return { operationId: operation.operationId, template: match.template, documented: response !== undefined, errors };
    },
  };
}
