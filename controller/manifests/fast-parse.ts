// A fast path for the plain YAML that manifests are written in, so a repository of 10,000
// applications validates in well under two seconds: the `yaml` package spends ~130 µs on a 1 KB
// manifest (tokens, syntax tree, nodes with positions), several times the rest of validation.
//
// It accepts only a narrow, unambiguous subset: block mappings with identifier keys, block
// lists, one-line flow lists and mappings of scalars, one-line plain and quoted scalars, and
// comments. Anything else, and anything doubtful (tabs, CR, control characters, escapes, tags,
// anchors, multi-line scalars, duplicate or reserved keys, odd indentation, a second document,
// the characters and plain scalars the full parser refuses: characters.ts, plain-scalars.ts),
// returns undefined and the file goes through the full parser in parse.ts, which reports
// problems with positions. Plain scalars are typed by the `yaml` package's own core-schema
// tags, so a value means exactly what the full parser makes of it; fast-parse.test.ts checks
// that both agree on every input the fast path accepts.
//
// No positions are kept: a file that fails the schema is parsed again by the full parser to
// locate its problems, and so is a loaded object when something asks where a node is.
import { isScalar, Schema, type ScalarTag } from 'yaml';
import { MAX_GAP } from './characters.ts';
import { MAX_DEPTH } from './limits.ts';
import { plainScalarProblem } from './plain-scalars.ts';

const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

const coreSchema = new Schema({ schema: 'core', merge: false });
const plainTags = coreSchema.tags.filter((tag): tag is ScalarTag => !tag.collection && tag.default === true && tag.test !== undefined);
const PARSE_OPTIONS = { intAsBigInt: false } as const;

/**
 * Characters the fast path leaves to the full parser wherever they appear: tabs, CR and other
 * controls, and every Unicode space but the ASCII one, so that JavaScript's trim() removes
 * exactly what YAML treats as white space; and every character the full parser refuses
 * (characters.ts: bidi controls and the other format characters, noncharacters; for those
 * above U+FFFF, every character sharing their high surrogate). One class, tested once per file:
 * a superset of REFUSED_CHARACTERS, which fast-parse.test.ts checks character by character.
 */
const UNUSUAL = /[\x00-\x09\x0B-\x1F\x7F-\x9F\u00A0\u00AD\u0600-\u0605\u061C\u06DD\u070F\u0890\u0891\u08E2\u1680\u180E\u2000-\u200F\u2028-\u202F\u205F-\u206F\u3000\uFEFF\uFFF9-\uFFFF\uD804\uD80D\uD82F\uD834\uDB40]/;
/** Wider gaps than characters.ts allows between text on a line; tabs are UNUSUAL already. */
const WIDE_SPACES = ' '.repeat(MAX_GAP + 1);
/** Identifier keys only; YAML refuses implicit keys over 1024 characters, and so does this. */
const KEY = /^[A-Za-z_][A-Za-z0-9_-]{0,999}/;
/**
 * The identifiers the core schema does not read as strings (a number needs a digit, a sign or a
 * dot first). These keys, and the reserved ones, go to the full parser, which refuses them.
 */
const NOT_STRING_KEYS = new Set(['null', 'Null', 'NULL', 'true', 'True', 'TRUE', 'false', 'False', 'FALSE']);

/** Thrown, and caught in fastParse, when the input leaves the subset. Cheaper than threading. */
const BAIL = Symbol('bail');

interface Line {
  indent: number;
  /** The line without its indentation and trailing spaces. */
  content: string;
}

/** The JSON value of a manifest in the plain subset, or undefined to use the full parser. */
export function fastParse(text: string): unknown {
  // Any run of spaces that long, indentation included, goes to the full parser, which tells.
  if (UNUSUAL.test(text) || text.includes(WIDE_SPACES)) return undefined;
  const lines: Line[] = [];
  for (const raw of text.split('\n')) {
    const content = raw.trim();
    if (content === '' || content.startsWith('#')) continue;
    lines.push({ indent: raw.length - raw.trimStart().length, content });
  }
  let start = 0;
  if (lines[0]?.indent === 0 && lines[0].content === '---') start = 1;
  try {
    const parser = new FastParser(lines, start);
    const first = lines[start];
    if (first === undefined || first.indent !== 0 || !isKeyLine(first.content)) return undefined;
    const value = parser.mapping(0, 1);
    if (parser.next !== lines.length) return undefined;
    return value;
  } catch (error) {
    if (error === BAIL) return undefined;
    throw error;
  }
}

function bail(): never {
  throw BAIL;
}

class FastParser {
  constructor(
    private readonly lines: readonly Line[],
    /** Index of the next unconsumed line. */
    public next: number,
  ) {}

  /** A block mapping whose keys sit at `indent`; `first` is a key line already split off. */
  mapping(indent: number, depth: number, first?: string): Record<string, unknown> {
    // One level is kept for a flow collection as a leaf value.
    if (depth >= MAX_DEPTH) bail();
    const out: Record<string, unknown> = {};
    let content = first;
    if (content === undefined) content = this.take(indent);
    while (content !== undefined) {
      const key = KEY.exec(content)?.[0];
      if (key === undefined || content[key.length] !== ':') bail();
      if (NOT_STRING_KEYS.has(key) || RESERVED_KEYS.has(key) || Object.hasOwn(out, key)) bail();
      const after = content.slice(key.length + 1);
      if (after !== '' && after[0] !== ' ') bail();
      const rest = stripComment(after.trimStart());
      out[key] = rest === '' ? this.nested(indent, depth, true) : this.inline(rest, indent);
      content = this.peekKey(indent);
    }
    return out;
  }

  /** A block list whose dashes sit at `indent`. */
  sequence(indent: number, depth: number): unknown[] {
    if (depth >= MAX_DEPTH) bail();
    const out: unknown[] = [];
    for (let line = this.lines[this.next]; line !== undefined && line.indent === indent && isItemLine(line.content); line = this.lines[this.next]) {
      this.next += 1;
      if (line.content === '-') {
        out.push(this.nested(indent, depth, false));
        continue;
      }
      const afterDash = line.content.slice(2);
      const rest = stripComment(afterDash.trimStart());
      const column = indent + 2 + (afterDash.length - afterDash.trimStart().length);
      if (rest === '') out.push(this.nested(indent, depth, false));
      else if (isItemLine(rest)) bail();
      else if (isKeyLine(rest)) out.push(this.mapping(column, depth + 1, rest));
      else out.push(this.inline(rest, indent));
    }
    const line = this.lines[this.next];
    if (line !== undefined && line.indent > indent) bail();
    return out;
  }

  /**
   * The value of a key or list item written on the following lines: a deeper block, a list at
   * the key's own indentation (YAML allows `key:` then `- item` below it), or null.
   */
  private nested(indent: number, depth: number, isKey: boolean): unknown {
    const line = this.lines[this.next];
    if (line === undefined || line.indent < indent) return null;
    if (line.indent === indent) return isKey && isItemLine(line.content) ? this.sequence(indent, depth + 1) : null;
    if (isItemLine(line.content)) return this.sequence(line.indent, depth + 1);
    if (isKeyLine(line.content)) return this.mapping(line.indent, depth + 1);
    return bail();
  }

  /** A value written on the same line as its key or dash; nothing may continue below it. */
  private inline(text: string, indent: number): unknown {
    const value = inlineValue(text);
    const line = this.lines[this.next];
    if (line !== undefined && line.indent > indent) bail();
    return value;
  }

  /** Consumes the next line if it is at `indent`. */
  private take(indent: number): string | undefined {
    const line = this.lines[this.next];
    if (line === undefined || line.indent !== indent) return undefined;
    this.next += 1;
    return line.content;
  }

  /** Consumes the next line if it is another key of the mapping at `indent`. */
  private peekKey(indent: number): string | undefined {
    const line = this.lines[this.next];
    if (line === undefined || line.indent < indent) return undefined;
    if (line.indent > indent) bail();
    if (isItemLine(line.content)) return undefined; // a list at a parent key's indentation
    this.next += 1;
    return line.content;
  }
}

function isItemLine(content: string): boolean {
  return content === '-' || content.startsWith('- ');
}

function isKeyLine(content: string): boolean {
  const key = KEY.exec(content)?.[0];
  return key !== undefined && content[key.length] === ':' && (content.length === key.length + 1 || content[key.length + 1] === ' ');
}

/** Drops a trailing comment: `#` after a space, outside quotes (quoted text is checked later). */
function stripComment(text: string): string {
  if (text.startsWith('#')) return '';
  if (text.startsWith('"') || text.startsWith("'") || text.startsWith('[') || text.startsWith('{')) return text;
  const hash = text.indexOf(' #');
  return hash === -1 ? text : text.slice(0, hash).trimEnd();
}

/** A value written on one line: a quoted or plain scalar, or a flow list or mapping of them. */
function inlineValue(text: string): unknown {
  const first = text[0];
  if (first === '[' || first === '{') {
    const reader = new FlowReader(text);
    const value = first === '[' ? reader.list() : reader.map();
    reader.end();
    return value;
  }
  if (first === '"' || first === "'") {
    const [value, end] = quoted(text, 0);
    if (!isTrailingComment(text.slice(end))) bail();
    return value;
  }
  return plain(text, false);
}

function isTrailingComment(text: string): boolean {
  return text === '' || /^ +#/.test(text) || /^ +$/.test(text);
}

/** A one-line quoted scalar starting at `start`; returns its value and the offset after it. */
function quoted(text: string, start: number): [string, number] {
  const quote = text[start];
  if (quote === '"') {
    const end = text.indexOf('"', start + 1);
    if (end === -1) bail();
    const value = text.slice(start + 1, end);
    if (value.includes('\\')) bail();
    return [value, end + 1];
  }
  let value = '';
  let from = start + 1;
  for (;;) {
    const end = text.indexOf("'", from);
    if (end === -1) bail();
    value += text.slice(from, end);
    if (text[end + 1] !== "'") return [value, end + 1];
    value += "'";
    from = end + 2;
  }
}

/** A plain scalar, refusing anything that could mean more than text in YAML. */
function plain(text: string, inFlow: boolean): unknown {
  if (text === '') bail();
  const first = text[0]!;
  if ('[]{},#&*!|>\'"%@`'.includes(first)) bail();
  if ((first === '-' || first === '?' || first === ':') && (text.length === 1 || text[1] === ' ')) bail();
  if (text.endsWith(':') || text.includes(': ') || text.includes(' #')) bail();
  if (inFlow && /[[\]{},#'"]|:[,\]}]/.test(text)) bail();
  return resolvePlain(text);
}

/** Types a plain scalar the way the `yaml` package's core schema does (`0123` → 123, `yes` → "yes"). */
function resolvePlain(text: string): unknown {
  const tag = plainTags.find((candidate) => candidate.test!.test(text));
  if (tag === undefined) {
    if (plainScalarProblem(text, text) !== undefined) bail();
    return text;
  }
  // Some tags wrap the value to remember its format (`1.50` keeps two digits); the value is inside.
  const resolved = tag.resolve(text, bail, PARSE_OPTIONS);
  const value = isScalar(resolved) ? resolved.value : resolved;
  // What YAML 1.1 tools read otherwise (`0755`, `yes`) the full parser refuses, with a position.
  if (plainScalarProblem(text, value) !== undefined) bail();
  return value;
}

/** Reads one-line flow collections of scalars: `[a, "b"]`, `{ kty: EC, crv: P-256 }`. */
class FlowReader {
  private at = 0;

  constructor(private readonly text: string) {}

  list(): unknown[] {
    this.expect('[');
    const out: unknown[] = [];
    this.spaces();
    if (this.text[this.at] === ']') {
      this.at += 1;
      return out;
    }
    for (;;) {
      out.push(this.scalar(']'));
      if (this.separator(']')) return out;
    }
  }

  map(): Record<string, unknown> {
    this.expect('{');
    const out: Record<string, unknown> = {};
    this.spaces();
    if (this.text[this.at] === '}') {
      this.at += 1;
      return out;
    }
    for (;;) {
      const key = KEY.exec(this.text.slice(this.at))?.[0];
      if (key === undefined) bail();
      this.at += key.length;
      if (this.text[this.at] !== ':' || this.text[this.at + 1] !== ' ') bail();
      if (NOT_STRING_KEYS.has(key) || RESERVED_KEYS.has(key) || Object.hasOwn(out, key)) bail();
      this.at += 2;
      out[key] = this.scalar('}');
      if (this.separator('}')) return out;
    }
  }

  /** After the closing bracket, only a comment may follow. */
  end(): void {
    if (!isTrailingComment(this.text.slice(this.at))) bail();
  }

  private scalar(close: string): unknown {
    this.spaces();
    const first = this.text[this.at];
    if (first === '"' || first === "'") {
      const [value, end] = quoted(this.text, this.at);
      this.at = end;
      return value;
    }
    let end = this.at;
    while (end < this.text.length && this.text[end] !== ',' && this.text[end] !== close) end += 1;
    const value = plain(this.text.slice(this.at, end).trimEnd(), true);
    this.at = end;
    return value;
  }

  /** Reads `,` (more to come: false) or the closing bracket (done: true); a trailing comma bails. */
  private separator(close: string): boolean {
    this.spaces();
    const char = this.text[this.at];
    this.at += 1;
    if (char === close) return true;
    if (char !== ',') bail();
    this.spaces();
    if (this.text[this.at] === close || this.text[this.at] === ',') bail();
    return false;
  }

  private expect(char: string): void {
    if (this.text[this.at] !== char) bail();
    this.at += 1;
  }

  private spaces(): void {
    while (this.text[this.at] === ' ') this.at += 1;
  }
}
