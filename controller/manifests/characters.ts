// Characters a manifest may not hold, because a reviewer would not see them, or would see
// something else than the parser reads. Checked on the decoded text before either YAML parser
// runs (parse.ts), and the fast path leaves any file holding one to the full parser.
//
// - YAML 1.2 section 5.1: "To ensure readability, YAML streams use only the printable subset of
//   the Unicode character set": x9, xA, xD, x20-x7E, x85, xA0-xD7FF, xE000-xFFFD,
//   x10000-x10FFFF. So NUL and the other C0 and C1 controls, DEL, U+FFFE and U+FFFF are out.
//   A NUL byte also makes git and GitHub show the file as binary, with no diff to review.
// - NEL (x85), U+2028 and U+2029 are printable in YAML 1.2, but YAML 1.1 reads them as line
//   breaks while git does not, so a 1.1 tool and the diff would not agree on the lines.
// - A carriage return not followed by a line feed: YAML starts a new line there, git and
//   GitHub's diff do not, so `plan: gold\rplan: free` reviews as one line.
// - The bidirectional controls (U+202A-U+202E, U+2066-U+2069, and the marks U+200E, U+200F,
//   U+061C) reorder what is displayed without changing what is read: Trojan Source,
//   CVE-2021-42574.
// - Every other format character (Unicode category Cf), invisible by definition: zero-width
//   space U+200B, word joiner U+2060, soft hyphen U+00AD, invisible operators U+2061-U+2064, a
//   byte-order mark U+FEFF anywhere but at the very start (the decoder drops that one), the tag
//   characters U+E0000-U+E007F... Zero-width (non-)joiners U+200C and U+200D are allowed:
//   scripts and emoji need them.
//
// And one layout: a run of more than MAX_GAP spaces or tabs between text on one line. A diff
// view shows a line's start; `owners: [alice,` then 300 spaces then `mallory]` reviews as
// owners: [alice, and nothing else. Indentation and trailing spaces hide nothing and are fine.
import type { Position } from './model.ts';

/** Spaces and tabs allowed in a row between text on one line: room to align comments. */
export const MAX_GAP = 32;

/** A gap wider than MAX_GAP between two visible characters of one line. */
export const WIDE_GAP = new RegExp(`(?<=[^\\s])[ \\t]{${MAX_GAP + 1},}(?=[^\\s])`);

/** Everything refused, in one pattern (the `u` flag for the tag characters above U+FFFF). */
export const REFUSED_CHARACTERS = /[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F\u2028\u2029\uFFFE\uFFFF\u{E0000}-\u{E007F}]|(?![\u200C\u200D])\p{Cf}|\r(?!\n)/u;

/** At most this many characters are reported per file; one is enough to refuse it. */
const MAX_REPORTED = 20;

export interface CharacterProblem extends Position {
  message: string;
}

/** Every refused character of `text` (up to MAX_REPORTED), at its line and column. */
export function refusedCharacters(text: string): CharacterProblem[] {
  if (!REFUSED_CHARACTERS.test(text)) return [];
  const all = new RegExp(REFUSED_CHARACTERS.source, 'gu');
  const problems: CharacterProblem[] = [];
  let line = 1;
  let lineStart = 0;
  let counted = 0;
  for (const match of text.matchAll(all)) {
    const offset = match.index;
    // Lines as git counts them: only a line feed ends one.
    for (let newline = text.indexOf('\n', counted); newline !== -1 && newline < offset; newline = text.indexOf('\n', newline + 1)) {
      line += 1;
      lineStart = newline + 1;
    }
    counted = offset;
    problems.push({ line, column: offset - lineStart + 1, message: describe(match[0]) });
    if (problems.length === MAX_REPORTED) break;
  }
  return problems;
}

function describe(char: string): string {
  const code = char.codePointAt(0)!;
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  if (char === '\r') return 'a carriage return not followed by a line feed: YAML starts a new line there but git and the pull request diff do not; use \\n line endings';
  if (code === 0) return 'a NUL character (U+0000): git shows a file holding one as binary, with no diff to review, and YAML 1.2 forbids it (section 5.1)';
  if (code < 0x20 || (code >= 0x7f && code <= 0x9f && code !== 0x85)) {
    return `a control character (${hex}): YAML 1.2 allows only printable characters (section 5.1) and a reviewer cannot see it; write it as an escape in double quotes if it is really meant`;
  }
  if (code === 0x85 || code === 0x2028 || code === 0x2029) {
    return `a line break character (${hex}) that YAML 1.1 reads as a new line and git does not: use \\n`;
  }
  if ((code >= 0x202a && code <= 0x202e) || (code >= 0x2066 && code <= 0x2069) || code === 0x200e || code === 0x200f || code === 0x61c) {
    return `a bidirectional control character (${hex}): it reorders how the text is shown without changing what is read (Trojan Source, CVE-2021-42574)`;
  }
  if (code === 0xfeff) return 'a byte-order mark (U+FEFF) after the start of the file: it is invisible, and only the first character may be one';
  if (code === 0xfffe || code === 0xffff) return `a noncharacter (${hex}): YAML 1.2 forbids it (section 5.1)`;
  return `an invisible character (${hex}) that changes the text without showing in review`;
}

/** Every gap wider than MAX_GAP between text on one line (up to MAX_REPORTED), where it starts. */
export function wideGaps(text: string): CharacterProblem[] {
  if (!WIDE_GAP.test(text)) return [];
  const problems: CharacterProblem[] = [];
  for (const [index, line] of text.split('\n').entries()) {
    for (const match of line.matchAll(new RegExp(WIDE_GAP.source, 'g'))) {
      problems.push({
        line: index + 1,
        column: match.index + 1,
        message: `${match[0].length} spaces or tabs in a row push the rest of the line out of a reviewer's view: use at most ${MAX_GAP} between text on one line`,
      });
      if (problems.length === MAX_REPORTED) return problems;
    }
  }
  return problems;
}
