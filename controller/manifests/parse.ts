// Safe YAML loading: a manifest is one plain YAML 1.2 document of mappings, lists and scalars.
//
// Refused, each at its line and column: files over 256 KiB (before parsing), invalid UTF-8,
// syntax errors, duplicate keys, several documents, directives, explicit tags, anchors and
// aliases, nesting deeper than 32, keys that are not strings, and keys that could reach an object
// prototype. Before parsing, characters a reviewer cannot see (characters.ts); after, plain
// scalars that YAML 1.1 tools or reviewers read differently from YAML 1.2's core schema, such as
// `0755`, `0x258`, `yes` or `1_000` (plain-scalars.ts). Nothing is coerced afterwards.
//
// Anchors and aliases are refused outright rather than expanded up to a bound: a manifest is
// reviewed in a pull request, and a reviewer must see every value where it applies, not behind a
// reference defined elsewhere in the file. Nothing is ever expanded, so an alias bomb ("billion
// laughs") costs one linear pass and is refused at its first anchor.
//
// The `yaml` package is driven stage by stage (what its parseDocument does), so each hazard is
// stopped before the stage it would hurt: the token stream is checked for tags, anchors, aliases,
// directives and runaway nesting on one line (`[[[[…` or `- - - …`) before the syntax tree is
// built, whose cost grows badly with such nesting; the syntax tree is checked for depth before
// it is composed into nodes, which recurses once per level.
//
// The document becomes plain JSON values through our own walk (no toJS), which creates ordinary
// objects only after each key is checked, so no key can reach Object.prototype.
import { Composer, CST, isMap, isScalar, isSeq, Lexer, LineCounter, Parser, YAMLParseError, type Document, type Node, type Scalar, type YAMLError } from 'yaml';
import { REFUSED_CHARACTERS, refusedCharacters, wideGaps } from './characters.ts';
import type { ProblemCode } from './codes.ts';
import { fastParse } from './fast-parse.ts';
import { MAX_DEPTH, MAX_FILE_BYTES } from './limits.ts';
import { SECRET_FIELDS } from './secret-fields.ts';
import type { Pointer, Position } from './model.ts';
import { plainKeyProblem, plainScalarProblem } from './plain-scalars.ts';
import { SourceIndex, type Locator } from './source.ts';
import { decodeUtf8 } from './utf8.ts';

const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

const YAML_OPTIONS = {
  version: '1.2',
  schema: 'core',
  merge: false,
  uniqueKeys: true,
  strict: true,
  prettyErrors: false,
} as const;

export interface LocatedProblem extends Position {
  code: ProblemCode;
  message: string;
}

export type ParsedYaml =
  | { ok: true; value: unknown; text: string; source: Locator }
  | { ok: false; problems: LocatedProblem[] };

/** Decodes and parses one manifest file's bytes. */
export function parseManifestBytes(content: Uint8Array): ParsedYaml {
  if (content.byteLength > MAX_FILE_BYTES) {
    const kib = Math.ceil(content.byteLength / 1024);
    return failed([{ line: 1, column: 1, code: 'file.too-large', message: `the file is ${kib} KiB; a manifest may be at most ${MAX_FILE_BYTES / 1024} KiB` }]);
  }
  const decoded = decodeUtf8(content);
  if (!decoded.ok) {
    return failed([{ ...decoded.position, code: 'file.encoding', message: `invalid UTF-8 at byte ${decoded.offset}: manifests are UTF-8 text` }]);
  }
  const { text } = decoded;
  // Most manifests are plain enough for the fast path (fast-parse.ts); it needs no positions
  // unless something goes wrong, and then the full parser below finds them.
  const value = fastParse(text);
  if (value !== undefined) return { ok: true, value, text, source: new LazySource(text) };
  return parseManifestText(text);
}

/**
 * Positions for text the fast path read: the full parser runs on first use, then never again.
 * A class rather than closures: under tsx every closure created costs a name assignment, and
 * one of these exists per file.
 */
export class LazySource implements Locator {
  private source: Locator | undefined;

  constructor(private readonly text: string) {}

  locate(pointer: Pointer): Position {
    return this.get().locate(pointer);
  }

  locateKey(pointer: Pointer): Position {
    return this.get().locateKey(pointer);
  }

  sourceText(pointer: Pointer): string | undefined {
    return this.get().sourceText(pointer);
  }

  private get(): Locator {
    if (this.source === undefined) {
      const parsed = parseManifestText(this.text);
      // Both parsers accept the same plain subset (fast-parse.test.ts), so this cannot fail; if
      // it ever did, positions would point at the file's start rather than throw.
      this.source = parsed.ok ? parsed.source : START;
    }
    return this.source;
  }
}

const START: Locator = {
  locate: () => ({ line: 1, column: 1 }),
  locateKey: () => ({ line: 1, column: 1 }),
  sourceText: () => undefined,
};

/** Parses manifest text (already decoded) into plain JSON values, refusing anything unsafe. */
export function parseManifestText(text: string): ParsedYaml {
  // Before any YAML: what a reviewer cannot see is refused whatever the parser would make of it.
  const hidden: LocatedProblem[] = [
    ...refusedCharacters(text).map((problem) => ({ ...problem, code: 'file.character' as const })),
    ...wideGaps(text).map((problem) => ({ ...problem, code: 'file.wide-gap' as const })),
  ];
  if (hidden.length > 0) return failed(hidden.sort((a, b) => a.line - b.line || a.column - b.column));

  const lines = new LineCounter();
  const at = (offset: number): Position => {
    const { line, col } = lines.linePos(offset);
    return { line, column: col };
  };

  // Stage 1: tokens, checked before the syntax tree is built from them.
  const scan = scanTokens(text);
  if (scan.tooDeep !== undefined) {
    // The token check counts flow brackets and dashes only; block nesting around them may have
    // passed the limit earlier. Parse just the text up to here to point at the first place.
    const prefix = [...new Parser().parse(text.slice(0, scan.tooDeep + 1))];
    const offset = firstTooDeep(prefix) ?? scan.tooDeep;
    return failed([{ ...positionOf(text, offset), ...depthProblem() }]);
  }

  // Stage 2: the syntax tree (which also records where lines start), checked for depth before
  // it is composed recursively.
  const parser = new Parser(lines.addNewLine);
  lines.addNewLine(0);
  const tokens: CST.Token[] = [];
  for (const lexeme of scan.lexemes) for (const token of parser.next(lexeme)) tokens.push(token);
  for (const token of parser.end()) tokens.push(token);
  const deep = firstTooDeep(tokens);
  if (deep !== undefined) return failed([{ ...at(deep), ...depthProblem() }]);

  // Stage 3: nodes.
  const composer = new Composer(YAML_OPTIONS);
  let doc: Document.Parsed | undefined;
  for (const composed of composer.compose(tokens, true, text.length)) {
    if (doc === undefined) doc = composed;
    else {
      doc.errors.push(new YAMLParseError([composed.range[0], composed.range[1]], 'MULTIPLE_DOCS', 'several documents'));
      break;
    }
  }
  if (doc === undefined) throw new Error('yaml Composer.compose(forceDoc) yielded no document');
  const source = new SourceIndex(doc, lines, text);

  const problems: LocatedProblem[] = scan.properties.map(({ offset, ...problem }) => ({ ...at(offset), ...problem }));
  // After a syntax error the parser's later complaints are mostly its consequences: keep the first.
  let syntaxReported = false;
  for (const error of [...doc.errors].sort((a, b) => a.pos[0] - b.pos[0])) {
    const problem = syntaxProblem(error, text, doc, at);
    if (problem.code === 'yaml.syntax') {
      if (syntaxReported) continue;
      syntaxReported = true;
    }
    problems.push(problem);
  }
  // An unresolved tag or an unknown directive is also a warning; the token scan reported it.
  for (const warning of doc.warnings) {
    if (warning.code !== 'TAG_RESOLVE_FAILED' && warning.code !== 'BAD_DIRECTIVE') problems.push(syntaxProblem(warning, text, doc, at));
  }
  if (problems.length > 0) return failed(problems);

  if (doc.contents === null) {
    return failed([{ line: 1, column: 1, code: 'file.empty', message: 'the file holds no YAML document: a manifest is a mapping with apiVersion, kind, metadata and spec' }]);
  }
  const walk = new Walk(at);
  const value = walk.value(doc.contents);
  return walk.problems.length > 0 ? failed(walk.problems) : { ok: true, value, text, source };
}

function failed(problems: LocatedProblem[]): ParsedYaml {
  return { ok: false, problems };
}

function depthProblem(): Pick<LocatedProblem, 'code' | 'message'> {
  return { code: 'yaml.depth', message: `collections are nested more than ${MAX_DEPTH} levels deep` };
}

interface TokenScan {
  lexemes: string[];
  /** Tags, anchors, aliases and directives, at their offsets. */
  properties: (Pick<LocatedProblem, 'code' | 'message'> & { offset: number })[];
  /** Where flow nesting, or block nesting on one line, first passes MAX_DEPTH. */
  tooDeep?: number;
}

function scanTokens(text: string): TokenScan {
  const scan: TokenScan = { lexemes: [], properties: [] };
  let offset = 0;
  let scalarNext = false;
  let flowDepth = 0;
  let blockIndicatorsOnLine = 0;
  for (const lexeme of new Lexer().lex(text)) {
    scan.lexemes.push(lexeme);
    const type = CST.tokenType(lexeme);
    // Marker lexemes (document start, scalar start, flow error) are not part of the text; the
    // lexeme after a scalar marker is the scalar's own text, whatever its first character.
    if (type === 'doc-mode' || type === 'flow-error-end') continue;
    if (type === 'scalar' && !scalarNext) {
      scalarNext = true;
      continue;
    }
    if (scalarNext) {
      scalarNext = false;
      offset += lexeme.length;
      continue;
    }
    switch (type) {
      case 'flow-seq-start':
      case 'flow-map-start':
        flowDepth += 1;
        if (flowDepth > MAX_DEPTH) scan.tooDeep = offset;
        break;
      case 'flow-seq-end':
      case 'flow-map-end':
        flowDepth = Math.max(0, flowDepth - 1);
        break;
      case 'seq-item-ind':
      case 'explicit-key-ind':
        // `- - - x` nests a list per indicator without any indentation.
        blockIndicatorsOnLine += 1;
        if (flowDepth === 0 && blockIndicatorsOnLine > MAX_DEPTH) scan.tooDeep = offset;
        break;
      case 'newline':
        blockIndicatorsOnLine = 0;
        break;
      default: {
        const problem = propertyProblem(type, lexeme);
        if (problem !== undefined) scan.properties.push({ offset, ...problem });
      }
    }
    // Stop here: the rest is not needed to report the problem, and is what would cost.
    if (scan.tooDeep !== undefined) return scan;
    offset += lexeme.length;
  }
  return scan;
}

/** Line and column of an offset, before any LineCounter has seen the text. */
function positionOf(text: string, offset: number): Position {
  let line = 1;
  let lineStart = 0;
  for (let index = text.indexOf('\n'); index !== -1 && index < offset; index = text.indexOf('\n', index + 1)) {
    line += 1;
    lineStart = index + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

function propertyProblem(type: string | null, lexeme: string): Pick<LocatedProblem, 'code' | 'message'> | undefined {
  switch (type) {
    case 'tag':
      return { code: 'yaml.tag', message: `tags are not allowed (found ${lexeme}): write plain values, and quote a value to make it a string` };
    case 'anchor':
      return { code: 'yaml.anchor', message: `anchors are not allowed (found ${lexeme}): write each value out in full` };
    case 'alias':
      return { code: 'yaml.alias', message: `aliases are not allowed (found ${lexeme}): write each value out in full` };
    case 'directive-line':
      return { code: 'yaml.directive', message: `directives are not allowed (found ${lexeme.trim()}): manifests are plain YAML 1.2` };
    default:
      return undefined;
  }
}

/**
 * Offset of the first collection (in document order) nested deeper than MAX_DEPTH in a syntax
 * tree, found iteratively: the tree may be deep enough to overflow a recursive walk.
 */
function firstTooDeep(roots: readonly CST.Token[]): number | undefined {
  let first: number | undefined;
  const stack: [CST.Token, number][] = roots.map((token) => [token, 0]);
  while (stack.length > 0) {
    const [token, depth] = stack.pop()!;
    switch (token.type) {
      case 'document':
        if (token.value !== undefined) stack.push([token.value, depth]);
        break;
      case 'block-map':
      case 'block-seq':
      case 'flow-collection':
        if (depth + 1 > MAX_DEPTH) {
          if (first === undefined || token.offset < first) first = token.offset;
          break;
        }
        for (const item of token.items) {
          if (item.key) stack.push([item.key, depth + 1]);
          if (item.value) stack.push([item.value, depth + 1]);
        }
        break;
      default:
        break;
    }
  }
  return first;
}

function syntaxProblem(error: YAMLError, text: string, doc: Document.Parsed, at: (offset: number) => Position): LocatedProblem {
  const where = at(error.pos[0]);
  switch (error.code) {
    case 'DUPLICATE_KEY':
      return { ...where, code: 'yaml.duplicate-key', message: `duplicate key ${quote(keyAt(doc, error.pos[0]) ?? text.slice(error.pos[0], error.pos[1]))}: a mapping may hold each key once` };
    case 'MULTIPLE_DOCS':
      return { ...where, code: 'yaml.multi-document', message: 'a second YAML document starts here: a manifest file holds exactly one' };
    case 'RESOURCE_EXHAUSTION':
      return { ...where, ...depthProblem() };
    default:
      return { ...where, code: 'yaml.syntax', message: `invalid YAML: ${error.message}` };
  }
}

/** The text of the mapping key that starts at `offset`, found only when reporting a duplicate. */
function keyAt(doc: Document.Parsed, offset: number): string | undefined {
  const stack: unknown[] = [doc.contents];
  while (stack.length > 0) {
    const node = stack.pop();
    if (isMap(node)) {
      for (const { key, value } of node.items) {
        if (isScalar(key) && key.range?.[0] === offset) return String(key.value);
        stack.push(key, value);
      }
    } else if (isSeq(node)) stack.push(...node.items);
  }
  return undefined;
}

/** Converts composed YAML nodes to JSON values, collecting problems instead of throwing. */
class Walk {
  readonly problems: LocatedProblem[] = [];

  constructor(private readonly at: (offset: number) => Position) {}

  /** `secret`: under a field whose value is secret (schema-messages.ts): problems do not quote it. */
  value(node: Node | null, secret = false, depth = 0): unknown {
    if (node === null) return null;
    if (isScalar(node)) {
      this.checkPlain(node, false, secret);
      return node.value;
    }
    // Aliases were refused with the tokens; the depth was bounded on the syntax tree.
    if (isSeq(node)) return node.items.map((item) => this.value(item as Node | null, secret, depth + 1));
    if (!isMap(node)) return null;

    const out: Record<string, unknown> = {};
    for (const { key, value } of node.items) {
      if (!isScalar(key) || typeof key.value !== 'string') {
        const found = isMap(key) || isSeq(key) ? 'a collection' : isScalar(key) ? describeScalar(key.value) : 'an empty key';
        this.report((key as Node | null)?.range?.[0] ?? node.range?.[0] ?? 0, 'yaml.key', `keys must be plain strings, found ${found}`);
        continue;
      }
      if (RESERVED_KEYS.has(key.value)) {
        this.report(key.range?.[0] ?? 0, 'yaml.reserved-key', `the key ${quote(key.value)} is not allowed`);
        continue;
      }
      if (this.checkPlain(key, true)) continue;
      // Below the top level (apiVersion, kind, metadata, spec), as holdsSecret reads pointers.
      out[key.value] = this.value(value as Node | null, secret || (depth > 0 && SECRET_FIELDS.has(key.value)), depth + 1);
    }
    return out;
  }

  /** Reports a plain scalar that YAML 1.1 tools or reviewers read otherwise (plain-scalars.ts). */
  private checkPlain(node: Scalar, isKey = false, secret = false): boolean {
    // The file's text holds no refused character (checked first), but a double-quoted escape
    // (`\0`, `\u202E`, `\N`) can still write one into the value, where readers of the value see
    // what the reviewer did not.
    if (node.type === 'QUOTE_DOUBLE' && typeof node.value === 'string') {
      // `\uD800` alone writes half of a UTF-16 pair, which is no character at all: UTF-8 cannot
      // encode it, so the store, a JSON answer or a page would each hold U+FFFD or fail instead.
      const lone = /\p{Cs}/u.exec(node.value)?.[0];
      if (lone !== undefined) {
        const hex = `U+${lone.charCodeAt(0).toString(16).toUpperCase()}`;
        this.report(node.range?.[0] ?? 0, 'yaml.escape', `an escape in this value writes ${hex}, half of a UTF-16 surrogate pair, which is not a character and has no UTF-8 form: remove it, or escape the whole character (\\U0001F600)`);
        return true;
      }
      const char = REFUSED_CHARACTERS.exec(node.value)?.[0];
      if (char !== undefined) {
        const hex = `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
        this.report(node.range?.[0] ?? 0, 'yaml.escape', `an escape in this value writes ${hex}, a control, line-break, bidirectional or invisible character that manifests may not hold: remove it`);
        return true;
      }
    }
    if (node.type !== 'PLAIN' || node.source === undefined) return false;
    const problem = isKey ? plainKeyProblem(node.source) : plainScalarProblem(node.source, node.value);
    if (problem === undefined) return false;
    const message = secret
      ? 'this value is read as something else than text (a number form or a YAML 1.1 word) and is not repeated here, as it may be a secret'
      : problem.message;
    this.report(node.range?.[0] ?? 0, problem.code, message);
    return true;
  }

  private report(offset: number, code: ProblemCode, message: string): void {
    this.problems.push({ ...this.at(offset), code, message });
  }
}

function describeScalar(value: unknown): string {
  if (value === null) return 'null';
  return `the ${typeof value} ${String(value)}`;
}

function quote(text: string): string {
  return JSON.stringify(text);
}
