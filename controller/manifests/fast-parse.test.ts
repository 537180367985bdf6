import { beforeAll, describe, expect, it } from 'vitest';
import { REFUSED_CHARACTERS } from './characters.ts';
import { fastParse } from './fast-parse.ts';
import { makeSealingKey, validRepo } from '../../test/support/manifests/repo.ts';
import { parseManifestBytes, parseManifestText } from './parse.ts';

// The fast path must never disagree with the full parser: whatever it accepts, the full parser
// accepts too, with exactly the same value. Everything else it must leave alone.
function agree(text: string): 'fast' | 'full' {
  const fast = fastParse(text);
  if (fast === undefined) return 'full';
  const full = parseManifestText(text);
  expect(full.ok, `the full parser refuses what the fast path accepted:\n${text}`).toBe(true);
  if (full.ok) expect(fast, text).toStrictEqual(full.value);
  // -0 and NaN survive toStrictEqual only if compared this way.
  expect(JSON.stringify(fast, replacer)).toBe(JSON.stringify(full.ok ? full.value : undefined, replacer));
  return 'fast';
}

function replacer(_key: string, value: unknown): unknown {
  if (typeof value === 'number' && (Object.is(value, -0) || !Number.isFinite(value))) return `number:${Object.is(value, -0) ? '-0' : String(value)}`;
  return value;
}

const SCALARS = [
  'yes', 'no', 'on', 'off', 'y', 'n', 'Y', 'true', 'True', 'TRUE', 'false', 'tRue', 'null', 'Null', 'NULL', '~',
  '0123', '0o17', '0x1F', '0b101', '+1', '-1', '-0', '00', '1.5', '.5', '1.', '-.5', '1e3', '1E-3', '1e', '0x',
  '.inf', '-.inf', '+.inf', '.Inf', '.nan', '.NaN', '1_000', '12:30', '0.0.1', '2030-01-01', '2030-01-01T00:00:00Z',
  'a:b', 'a: b', 'a:', '-a', '--a', '---', '...', '?a', ':a', '- a', '? a', ': a', '-', '?', ':', 'a#b', 'a #b',
  'a  b', "'a'", '"a"', "'it''s'", "'a''", '"a\\nb"', '"a # b"', "'a # b'", '"a" b', "'a' # c", '"a"#c',
  'https://x.example/#frag', 'https://x.example/a?b=c', '[a, b]', '[a,b]', '[ ]', '[]', '{}', '{ }', '{a: 1}',
  '{a:1}', '{ a: 1, b: [2] }', '{a: 1, a: 2}', '{"a": 1}', '{a: }', '[a, ]', '[a,,b]', '[a [b]]', '[a, b] c',
  '[a, b] # c', '[a:, b]', '[a: b]', '[a:b]', '[-a, - b]', '[a #b]', '["a", \'b\']', '!tag x', '!!str 1', '&a x',
  '*a', '|', '>', '|-', '%x', '@x', '`x', 'x: y: z', 'é', '日本語', '😀', 'a\u00A0b', '\u00A0a', '"unterminated',
  "'un", '[unterminated', '{a: 1', 'eyJhbGciOiJFQ0RILUVTK0EyNTZLVyJ9.AAAA.BBBB.CCCC.DDDD', 'a,b', 'a]', 'a}', 'a[b',
  '{__proto__: 1}', '{constructor: 1}', '{true: 1}', '{null: 1}', '{y: 1, n: 2}',
];

const STRUCTURES = [
  'a:\n- b\n- c\n', 'a:\n  - b\n', '- a: 1\n  b: 2\n', 'x:\n-   a: 1\n    b: 2\n', 'a:\n  b:\n    c: 1\n  d: 2\n',
  'a: 1\n b: 2\n', 'a:\n  b: 1\n c: 2\n', 'a:\n    b: 1\n  c: 2\n', 'a: 1\n  b: 2\n', '---\na: 1\n', '--- \na: 1\n',
  '--- # c\na: 1\n', 'a: 1\n---\nb: 2\n', 'a: 1\n...\n', 'a:\n- b\nc: d\n', 'a:\n-\n  b: 1\n', '- a\n- b\n', 'a: b\n  c\n',
  'a:\n  text continues\n', 'a: 1 # c\n# c\nb: 2\n', 'a: 1\n  # indented comment\nb: 2\n', 'a:\n  # comment\n  b: 1\n',
  '\n\na: 1\n\n\nb: 2\n\n', 'key:    value\n', 'a: b # c # d\n', 'a: 1   \nb: 2  \n', 'a: 1\r\nb: 2\r\n', 'a:\n\tb: 1\n',
  'a: 1\na: 2\n', '__proto__: 1\n', 'a:\n  constructor: 1\n', 'prototype:\n', 'true: 1\n', 'Null: 1\n', '1: x\n',
  '"quoted": x\n', "'q': x\n", 'a b: c\n', 'a : b\n', 'a:b\n', '- - a\n', 'x:\n- - a\n', 'x:\n- a\n  - b\n',
  'a:\n  - b\n  c: d\n', 'a:\n- b\n  c: d\n', 'a:\n  b:\n  c:\n', 'a:\nb:\n', 'a:\n  -\n  - b\n', 'a:\n  - # c\n    b: 1\n',
  'x:\n  - a: 1\n    b:\n    - c\n    d: 2\n', 'x:\n  - a: 1\n   b: 2\n', 'x:\n  - a: 1\n     b: 2\n', '', '# only\n', '---\n',
  'a: |\n  text\n', 'a: >\n  text\n', 'a: "two\n  lines"\n', "a: 'two\n  lines'\n", 'a: [1,\n  2]\n', 'a: {b: 1,\n  c: 2}\n',
  '? a\n: b\n', 'a: &x 1\nb: *x\n', '%YAML 1.2\n---\na: 1\n', 'a:\n\n  b: 1\n', 'a:\n  b: 1\n\n  c: 2\n', '  a: 1\n',
  'a:\n  - b: 1\n    c: 2\n  - d: 3\n', 'a:\n - b\n - c\n', 'a:\n   - b\n', 'a: - b\n', 'a:  [x]  # c\n', 'é: 1\n', 'a\u00A0: 1\n',
  'x: 1\n\u00A0y: 2\n', 'a:\u00A0b\n', 'x: y\u00A0\n', `${'k'.repeat(1100)}: 1\n`, `m: {${'k'.repeat(1100)}: 1}\n`,
  `${'k'.repeat(1000)}: 1\n`,
];

describe('the fast YAML path', () => {
  it.each(SCALARS)('agrees with the full parser on the scalar %j in every position', (scalar) => {
    for (const text of [
      `key: ${scalar}\n`,
      `key: ${scalar}`,
      `list:\n  - ${scalar}\n`,
      `list: [${scalar}]\n`,
      `list: [a, ${scalar}, b]\n`,
      `map: {k: ${scalar}}\n`,
      `map: { k: ${scalar}, l: 1 }\n`,
      `a:\n  b: ${scalar}\n  c: 1\n`,
      `- k: ${scalar}\n`,
      `${scalar}: 1\n`,
    ]) agree(text);
  });

  it('knows every identifier key the core schema reads as something other than a string', () => {
    for (const key of ['null', 'Null', 'NULL', 'true', 'True', 'TRUE', 'false', 'False', 'FALSE', 'nan', 'inf', 'y', 'n', 'yes', 'on', 'e1', '_1', 'x0']) {
      expect(agree(`${key}: 1\n`), key).toBe(/^(null|true|false)$/i.test(key) ? 'full' : 'fast');
      expect(agree(`m: {${key}: 1}\n`), key).toBe(/^(null|true|false)$/i.test(key) ? 'full' : 'fast');
    }
  });

  it('leaves every hidden character, number form and YAML 1.1 word to the full parser, which refuses it', () => {
    const values = ['0755', '0x258', '0o755', '+12', '1e3', '1.0', '.inf', '-.inf', '.nan', '-0', 'yes', 'No', 'ON', 'off', 'y', 'N', '1_000', '0b101', '12:30'];
    const texts = [
      ...['\u0000', '\u0007', '\u009B', '\u202E', '\u2066', '\u200F', '\u200B', '\u2060', '\uFEFF', '\u{E0041}', '\u0085', '\u2028', '\r'].map((char) => `a: b${char}c\n`),
      ...values.flatMap((value) => [`a: ${value}\n`, `a: [${value}]\n`, `a: {b: ${value}}\n`, `a:\n  - ${value}\n`, `- a: ${value}\n`]),
      `a: [b,${' '.repeat(33)}c]\n`,
      '<<: {a: 1}\n',
      'a:\n  <<: {b: 1}\n',
    ];
    for (const text of texts) {
      expect(fastParse(text), text).toBeUndefined();
      const full = parseManifestText(text);
      expect(full.ok, text).toBe(false);
      // The whole pipeline, fast path first, refuses with exactly the same problems.
      expect(parseManifestBytes(new TextEncoder().encode(text)), text).toEqual(full);
    }
  });

  it('leaves every character the full parser refuses to it, wherever it stands', () => {
    const refused: string[] = [];
    for (let code = 0; code <= 0x10ffff; code += 1) {
      if (code >= 0xd800 && code <= 0xdfff) continue;
      const char = String.fromCodePoint(code);
      if (REFUSED_CHARACTERS.test(`${char}x`)) refused.push(char);
    }
    expect(refused.length).toBeGreaterThan(250);
    for (const char of refused) {
      expect(fastParse(`a: b${char}c\n`), char.codePointAt(0)!.toString(16)).toBeUndefined();
      expect(fastParse(`a: [b, "c${char}"]\n`), char.codePointAt(0)!.toString(16)).toBeUndefined();
    }
  });

  it.each(STRUCTURES)('agrees with the full parser on the document %j', (text) => {
    agree(text);
  });

  it('agrees on random documents built from those pieces, and on near-misses of them', () => {
    // A fixed seed keeps the run reproducible.
    let seed = 20261129;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return Math.floor((seed / 2147483648) * n);
    };
    const pick = <T,>(items: readonly T[]): T => items[random(items.length)]!;
    const keys = ['a', 'b', 'spec', 'y', 'null', '_x', 'k-1', 'sealed'];

    // Renders a random value as the lines that follow `key:` or `-`, at indentation `indent`.
    const block = (indent: number, depth: number): string[] => {
      const pad = ' '.repeat(indent);
      const step = 1 + random(3);
      const lines: string[] = [];
      if (random(2) === 0) {
        for (const key of new Set(Array.from({ length: 1 + random(3) }, () => pick(keys)))) {
          if (depth < 3 && random(3) === 0) lines.push(`${pad}${key}:`, ...block(indent + step, depth + 1));
          else if (depth < 3 && random(4) === 0) lines.push(`${pad}${key}:`, ...block(indent, depth + 1).filter((line) => line.trimStart().startsWith('-')));
          else lines.push(`${pad}${key}: ${pick(SCALARS)}`);
        }
      } else {
        for (let item = 0, count = 1 + random(3); item < count; item += 1) {
          if (depth < 3 && random(3) === 0) lines.push(`${pad}- ${pick(keys)}: ${pick(SCALARS)}`, `${pad}${' '.repeat(2)}${pick(keys)}x: ${pick(SCALARS)}`);
          else lines.push(`${pad}- ${pick(SCALARS)}`);
        }
      }
      return lines;
    };

    let fast = 0;
    // Three thousand: since the full parser refuses number forms and YAML 1.1 words that many of
    // SCALARS are, fewer documents than before stay on the fast path.
    for (let doc = 0; doc < 3000; doc += 1) {
      const lines = [`${pick(keys)}:`, ...block(2, 1), `${pick(keys)}z: ${pick(SCALARS)}`];
      // One in three documents is nudged: a line moved by one column, or a comment slipped in.
      if (random(3) === 0) {
        const at = random(lines.length);
        lines[at] = random(2) === 0 ? ` ${lines[at]!}` : `${lines[at]!} # note`;
      }
      if (agree(`${lines.join('\n')}\n`) === 'fast') fast += 1;
    }
    // Not a tautology: enough random documents must take the fast path for it to be tested.
    expect(fast).toBeGreaterThan(120);
  });

  describe('on real manifests', () => {
    let repo: Record<string, string | Uint8Array>;
    beforeAll(async () => {
      repo = await validRepo(await makeSealingKey());
    });

    it('takes every manifest of the example repository, and agrees on each', () => {
      for (const [path, text] of Object.entries(repo)) {
        if (typeof text !== 'string' || !path.endsWith('.yaml') || path.startsWith('.github/')) continue;
        expect(agree(text), path).toBe('fast');
      }
    });
  });
});
