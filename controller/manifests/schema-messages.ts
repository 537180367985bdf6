// Turns ajv's errors into problems a person can act on, at the line and column of the node.
// ajv must run with `verbose: true`: messages use the failing value (`data`) and, for unknown
// fields and if/then branches, the schema around it (`parentSchema`).
import type { ErrorObject } from 'ajv/dist/2020.js';
import type { ProblemCode } from './codes.ts';
import type { Pointer } from './model.ts';
import type { LocatedProblem } from './parse.ts';
import type { Locator } from './source.ts';
import { SECRET_FIELDS } from './secret-fields.ts';

/**
 * What each string pattern in schemas/ allows, in words. schema-messages.test.ts checks that
 * every pattern in the schemas is listed, so a new pattern cannot fall back to a regex silently.
 */
export const PATTERN_WORDS: Readonly<Record<string, string>> = {
  '^[a-z0-9][a-z0-9-]*[a-z0-9]$':
    "use a lowercase DNS label: 3 to 63 of a-z, 0-9 and '-', starting and ending with a letter or digit",
  '^[A-Za-z0-9][A-Za-z0-9._~-]*$': "use ASCII letters, digits, '.', '_', '~' and '-', starting with a letter or digit",
  '^[a-z0-9][a-z0-9._:/-]*$':
    "use lowercase ASCII letters, digits, '.', '_', ':', '/' and '-', starting with a letter or digit",
  '^[1-9][0-9]{0,8}(s|m|h|d)$': 'write a whole number followed by s, m, h or d, such as 15m, 12h or 30d',
  '^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]*\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$':
    'expected a compact JWE (five base64url parts joined by dots), as `mergekey seal` prints it',
  '^https?://[^#\\s]+$': 'use an absolute http:// or https:// URI, without a fragment (#) or spaces',
  '^https?://[^?#]+$': 'use an http:// or https:// URL without a query (?) or fragment (#)',
  '^[A-Za-z0-9][A-Za-z0-9-]*$': "use ASCII letters, digits and '-', starting with a letter or digit",
  '^[A-Za-z0-9][A-Za-z0-9-]*(\\[bot\\])?$': "use a GitHub login: ASCII letters, digits and '-', starting with a letter or digit, with [bot] after a GitHub App's name",
  '^[A-Za-z0-9_-]+$': "use base64url characters: A-Z, a-z, 0-9, '-' and '_'",
  '^[\\x21-\\x7e]+$': 'use printable ASCII characters, without spaces',
  '^[A-Za-z0-9+-]+$': "use ASCII letters, digits, '+' and '-'",
};

export const FORMAT_WORDS: Readonly<Record<string, string>> = {
  uri: 'is not an absolute URI',
  'date-time': 'is not an RFC 3339 date-time such as 2030-01-01T00:00:00Z',
  email: 'is not an email address',
};

/** JWK members that hold private key material (RFC 7518 section 6, RFC 8037 section 2). */
const PRIVATE_JWK_MEMBERS = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']);

/** YAML 1.1 read these as booleans; YAML 1.2 (and so Mergekey) reads them as strings. */
const YAML11_BOOLEANS = new Set(['y', 'yes', 'n', 'no', 'on', 'off']);

export function schemaProblems(errors: readonly ErrorObject[], root: unknown, source: Locator): LocatedProblem[] {
  // Every failed if/then comes with the errors of the branch itself; those say what is wrong.
  const conditions = errors.filter((error) => error.keyword === 'if');
  // A name that fails its pattern also fails its length; the pattern's words cover both.
  const patterned = new Set(errors.filter((error) => error.keyword === 'pattern').map((error) => error.instancePath));
  const problems: LocatedProblem[] = [];
  const seen = new Set<string>();
  for (const error of errors) {
    if (error.keyword === 'if') continue;
    if ((error.keyword === 'minLength' || error.keyword === 'maxLength') && patterned.has(error.instancePath)) continue;
    const problem = describe(error, toPointer(error.instancePath, root), source, conditions);
    const key = `${problem.line}:${problem.column}:${problem.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push(problem);
  }
  return problems;
}

function describe(error: ErrorObject, pointer: Pointer, source: Locator, conditions: readonly ErrorObject[]): LocatedProblem {
  const at = (code: ProblemCode, message: string, where = source.locate(pointer)): LocatedProblem => ({
    ...where,
    code,
    message: `${prefix(pointer)}${message}`,
  });
  const params = error.params as Record<string, unknown>;
  const data: unknown = error.data;
  // Where a sealed value, a password or a private key member belongs, what is found there may be
  // the plaintext pasted by mistake: it is described, never repeated, so that it reaches no
  // check comment, CI log, status document or server log (the manifest itself must be fixed and
  // the secret rotated; copies elsewhere would outlive that).
  const secret = holdsSecret(pointer);
  const show = secret ? hidden : showValue;
  const written = (value: unknown) => (secret ? hidden(value) : source.sourceText(pointer) ?? showValue(value));

  switch (error.keyword) {
    case 'type':
      if (secret) return at('schema.type', `must be ${String(params.type).split(',').map(typeName).join(' or ')}, not ${typeName(jsonType(data))}: the value is not repeated here, as it may be a secret`);
      return at('schema.type', typeMessage(String(params.type), data, source.sourceText(pointer)));
    case 'required': {
      const field = String(params.missingProperty);
      return at('schema.required', `missing required field ${quote(field)}${branchHint(error, conditions, 'required')}`);
    }
    case 'additionalProperties': {
      const field = String(params.additionalProperty);
      const known = Object.keys((error.parentSchema?.properties as object | undefined) ?? {});
      // In a JWK (a schema with kty), these members hold a private key (RFC 7518 sections 6.2.2,
      // 6.3.2 and 6.4.1): once pushed, the key is in git history for good and must be replaced.
      if (known.includes('kty') && PRIVATE_JWK_MEMBERS.has(field)) {
        const message = `${prefix(pointer)}${quote(field)} is private key material: git history keeps it for good, so treat the key as leaked, make a new key pair and list only its public half`;
        return { ...source.locateKey([...pointer, field]), code: 'schema.private-key', message };
      }
      const guess = closest(field, known);
      const where = pointer.length > 0 ? ` in ${display(pointer)}` : '';
      const message = `unknown field ${quote(field)}${where}${guess === undefined ? '' : ` (did you mean ${quote(guess)}?)`}`;
      return { ...source.locateKey([...pointer, field]), code: 'schema.unknown-field', message };
    }
    case 'false schema': {
      const parent = pointer.slice(0, -1);
      const field = String(pointer[pointer.length - 1]);
      const message = `field ${quote(field)} is not allowed ${branchHint(error, conditions, 'forbidden') || 'here'}`;
      return { ...source.locateKey(pointer), code: 'schema.not-allowed', message: `${prefix(parent)}${message}` };
    }
    case 'enum':
      return at('schema.value', `${show(data)} must be one of ${(params.allowedValues as unknown[]).map(String).join(', ')}`);
    case 'const':
      return at('schema.value', `must be ${String(params.allowedValue)}, not ${show(data)}`);
    case 'pattern': {
      const words = PATTERN_WORDS[String(params.pattern)];
      return at('schema.pattern', words === undefined ? `${show(data)} does not match ${String(params.pattern)}` : `${show(data)} is not allowed: ${words}`);
    }
    case 'format': {
      const words = FORMAT_WORDS[String(params.format)] ?? `is not a valid ${String(params.format)}`;
      return at('schema.format', `${show(data)} ${words}`);
    }
    case 'minLength':
      return at('schema.size', Number(params.limit) === 1 ? 'must not be empty' : `must be at least ${String(params.limit)} characters long`);
    case 'maxLength':
      return at('schema.size', `must be at most ${String(params.limit)} characters long (it has ${lengthOf(data)})`);
    case 'minItems':
      return at('schema.size', `must list at least ${plural(Number(params.limit), 'item')}`);
    case 'maxItems':
      return at('schema.size', `must list at most ${plural(Number(params.limit), 'item')} (it has ${lengthOf(data)})`);
    case 'minProperties':
      return at('schema.size', `must hold at least ${plural(Number(params.limit), 'field')}`);
    case 'maxProperties':
      return at('schema.size', `must hold at most ${plural(Number(params.limit), 'field')}`);
    // Numbers as written: past 2^53 the parsed value is not the one in the file (9007199254740993).
    case 'minimum':
      return at('schema.range', `must be at least ${String(params.limit)}, not ${written(data)}`);
    case 'maximum':
      return at('schema.range', `must be at most ${String(params.limit)}, not ${written(data)}`);
    case 'exclusiveMinimum':
      return at('schema.range', `must be more than ${String(params.limit)}, not ${written(data)}`);
    case 'exclusiveMaximum':
      return at('schema.range', `must be less than ${String(params.limit)}, not ${written(data)}`);
    case 'uniqueItems': {
      const later = Math.max(Number(params.i), Number(params.j));
      const earlier = Math.min(Number(params.i), Number(params.j));
      const item: unknown = Array.isArray(data) ? data[later] : undefined;
      const what = typeof item === 'string' ? `${show(item)} is` : 'this item is';
      const message = `${prefix([...pointer, later])}${what} already listed at ${display([...pointer, earlier])}`;
      return { ...source.locate([...pointer, later]), code: 'schema.duplicate-item', message };
    }
    default:
      return at('schema.value', String(error.message));
  }
}

export function typeMessage(expected: string, data: unknown, written: string | undefined): string {
  const actual = jsonType(data);
  const wanted = expected.split(',').map(typeName).join(' or ');
  if (actual === 'null') return `must be ${wanted}, but it is empty`;
  if (expected === 'string' && (actual === 'number' || actual === 'boolean' || actual === 'integer')) {
    const text = written ?? String(data);
    return `must be a string, but ${text} reads as a ${actual === 'integer' ? 'number' : actual}: write it in quotes, ${quote(text)}`;
  }
  if (expected === 'boolean' && typeof data === 'string' && YAML11_BOOLEANS.has(data.toLowerCase())) {
    return `must be true or false: ${data} is a YAML 1.1 boolean, which YAML 1.2 reads as the string ${quote(data)}`;
  }
  if (expected === 'integer' && actual === 'number') return `must be a whole number, not ${String(data)}`;
  if ((expected === 'integer' || expected === 'number') && typeof data === 'string') {
    return `must be ${wanted}, not the string ${quote(data)}: write it without quotes`;
  }
  return `must be ${wanted}, not ${typeName(actual)}`;
}

/**
 * For errors inside an if/then/else branch, the condition that chose the branch, e.g.
 * " when tokenEndpointAuthMethod is private_key_jwt".
 */
function branchHint(error: ErrorObject, conditions: readonly ErrorObject[], style: 'required' | 'forbidden'): string {
  for (const condition of conditions) {
    const base = condition.schemaPath.slice(0, -'if'.length);
    if (!error.instancePath.startsWith(condition.instancePath)) continue;
    const branch = error.schemaPath.startsWith(`${base}then/`) ? 'then' : error.schemaPath.startsWith(`${base}else/`) ? 'else' : undefined;
    if (branch === undefined) continue;
    const test = describeCondition((condition.parentSchema as { if?: unknown } | undefined)?.if, branch === 'else');
    if (test === undefined) return '';
    return style === 'required' ? ` (required when ${test})` : `when ${test}`;
  }
  return '';
}

function describeCondition(schema: unknown, negated: boolean): string | undefined {
  const properties = (schema as { properties?: Record<string, { const?: unknown; enum?: unknown[] }> } | undefined)?.properties;
  if (properties === undefined) return undefined;
  const tests = Object.entries(properties).flatMap(([name, property]) => {
    if (property.const !== undefined) return [`${name} is ${negated ? 'not ' : ''}${String(property.const)}`];
    if (property.enum !== undefined) {
      const values = property.enum.map(String);
      return [`${name} is ${negated ? `neither ${values.join(' nor ')}` : values.join(' or ')}`];
    }
    return [];
  });
  return tests.length > 0 ? tests.join(negated ? ' or ' : ' and ') : undefined;
}

/** ajv's instancePath (`/spec/scopes/1`) as a pointer, with list indexes as numbers. */
function toPointer(instancePath: string, root: unknown): Pointer {
  if (instancePath === '') return [];
  const pointer: (string | number)[] = [];
  let current = root;
  for (const raw of instancePath.slice(1).split('/')) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(current)) {
      const index = Number(segment);
      pointer.push(index);
      current = current[index];
    } else {
      pointer.push(segment);
      current = current !== null && typeof current === 'object' ? (current as Record<string, unknown>)[segment] : undefined;
    }
  }
  return pointer;
}

/** `spec.credentials.secrets[0].sealed` */
export function display(pointer: Pointer): string {
  let out = '';
  for (const segment of pointer) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${quote(segment)}]`;
  }
  return out;
}

function prefix(pointer: Pointer): string {
  return pointer.length === 0 ? '' : `${display(pointer)}: `;
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function typeName(type: string): string {
  switch (type) {
    case 'object':
      return 'a mapping';
    case 'array':
      return 'a list';
    case 'integer':
      return 'a whole number';
    case 'null':
      return 'empty';
    default:
      return `a ${type}`;
  }
}


function holdsSecret(pointer: Pointer): boolean {
  // Under spec only: `metadata.name: k` or a kind named `d` is no secret.
  return pointer[0] === 'spec' && pointer.some((segment) => typeof segment === 'string' && SECRET_FIELDS.has(segment));
}

function hidden(value: unknown): string {
  const length = typeof value === 'string' ? value.length : (JSON.stringify(value) ?? String(value)).length;
  return `the value (${plural(length, 'character')}, not repeated here: it may be a secret)`;
}

function showValue(value: unknown): string {
  const text = typeof value === 'string' ? quote(value) : JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function lengthOf(value: unknown): number {
  return typeof value === 'string' || Array.isArray(value) ? value.length : 0;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function quote(text: string): string {
  return JSON.stringify(text);
}

/** The known field a misspelt one most likely meant: same letters in another case, or 1–2 edits away. */
function closest(field: string, known: readonly string[]): string | undefined {
  const lower = field.toLowerCase();
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const distance = candidate.toLowerCase() === lower ? 0 : editDistance(lower, candidate.toLowerCase(), bestDistance);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string, cap: number): number {
  if (Math.abs(a.length - b.length) >= cap) return cap;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return Math.min(previous[b.length]!, cap);
}
