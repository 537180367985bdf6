import { describe, expect, it } from 'vitest';
import { decodeUtf8, firstInvalidByte } from './utf8.ts';

describe('strict UTF-8 decoding', () => {
  it.each([
    ['a lone continuation byte', [0x61, 0x80], 1],
    ['an overlong slash', [0xc0, 0xaf], 0],
    ['an overlong three-byte form', [0xe0, 0x80, 0xaf], 0],
    ['a UTF-16 surrogate', [0x61, 0xed, 0xa0, 0x80], 1],
    ['a code point above U+10FFFF', [0xf4, 0x90, 0x80, 0x80], 0],
    ['a sequence cut short', [0x61, 0x62, 0xe2, 0x82], 2],
    ['a byte that never appears in UTF-8', [0xff], 0],
  ])('finds %s', (_name, input, offset) => {
    const bytes = Uint8Array.from(input);
    expect(firstInvalidByte(bytes)).toBe(offset);
    expect(decodeUtf8(bytes).ok).toBe(false);
  });

  it('accepts every well-formed length, and drops a byte-order mark', () => {
    const text = 'a é € 😀';
    const bytes = new TextEncoder().encode(`\uFEFF${text}`);
    expect(firstInvalidByte(bytes)).toBe(bytes.length);
    expect(decodeUtf8(bytes)).toEqual({ ok: true, text });
  });

  it('reports the line and the column in characters', () => {
    const bytes = Uint8Array.from([...new TextEncoder().encode('one\n€€ '), 0xe2, 0x28]);
    expect(decodeUtf8(bytes)).toEqual({ ok: false, offset: 11, position: { line: 2, column: 4 } });
  });
});
