// Maps a pointer into a manifest (['spec', 'scopes', 1]) back to where it is written in the YAML.
import { isMap, isScalar, isSeq, type Document, type LineCounter, type Node, type Pair } from 'yaml';
import type { Pointer, Position } from './model.ts';

interface Resolved {
  /** The deepest node the pointer reaches (the whole pointer, or a prefix of it). */
  node: Node | null;
  /** The mapping entry holding `node`, when `node` is a mapping value. */
  pair?: Pair<unknown, unknown>;
  /** How many pointer segments were resolved. */
  depth: number;
}

/** Where the nodes of one manifest are written. */
export interface Locator {
  /** Where the value at `pointer` is written (see SourceIndex.locate). */
  locate(pointer: Pointer): Position;
  /** Where the key of the mapping entry at `pointer` is written. */
  locateKey(pointer: Pointer): Position;
  /** The text a scalar is written as (`0123`, `yes`), if the pointer names a scalar. */
  sourceText(pointer: Pointer): string | undefined;
}

export class SourceIndex implements Locator {
  constructor(
    private readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
    private readonly text: string,
  ) {}

  /** Position of a character offset in the text. */
  at(offset: number): Position {
    const { line, col } = this.lines.linePos(offset);
    return { line, column: col };
  }

  /**
   * Where the value at `pointer` is written: a scalar's first character; for a collection held
   * in a mapping, its key (a block collection starts on the next line, at its first child, which
   * would point at the wrong thing); for an empty value, its key. A pointer that leaves the file
   * stops at the deepest node it reaches.
   */
  locate(pointer: Pointer): Position {
    const { node, pair } = this.resolve(pointer);
    const empty = node === null || (isScalar(node) && node.range != null && node.range[0] === node.range[1]);
    if (pair !== undefined && (empty || !isScalar(node))) return this.startOf(pair.key as Node);
    return this.startOf(node);
  }

  /** Where the key of the mapping entry at `pointer` is written (the value, for a list item). */
  locateKey(pointer: Pointer): Position {
    const { node, pair } = this.resolve(pointer);
    return this.startOf(pair !== undefined ? (pair.key as Node) : node);
  }

  /** The text a scalar is written as (`0123`, `yes`), if the pointer names a scalar. */
  sourceText(pointer: Pointer): string | undefined {
    const { node, depth } = this.resolve(pointer);
    if (depth !== pointer.length || node === null || !isScalar(node) || !node.range) return undefined;
    return this.text.slice(node.range[0], node.range[1]);
  }

  private startOf(node: Node | null): Position {
    const offset = node?.range?.[0] ?? this.doc.contents?.range[0] ?? 0;
    return this.at(offset);
  }

  private resolve(pointer: Pointer): Resolved {
    let node: Node | null = this.doc.contents;
    let pair: Pair<unknown, unknown> | undefined;
    let depth = 0;
    for (const segment of pointer) {
      let next: Pair<unknown, unknown> | Node | undefined;
      if (typeof segment === 'string' && isMap(node)) {
        next = node.items.find((item) => isScalar(item.key) && item.key.value === segment);
        if (next === undefined) break;
        pair = next;
        node = next.value as Node | null;
      } else if (typeof segment === 'number' && isSeq(node)) {
        next = node.items[segment] as Node | undefined;
        if (next === undefined) break;
        pair = undefined;
        node = next;
      } else break;
      depth += 1;
    }
    return pair !== undefined ? { node, pair, depth } : { node, depth };
  }
}
