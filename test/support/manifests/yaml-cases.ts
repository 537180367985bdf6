// Refusals before the schema: the file itself and its YAML.
import type { ProblemCode } from '../../../controller/manifests/codes.ts';
import type { Problem } from '../../../controller/manifests/model.ts';
import { billingYaml, planYaml, userYaml } from './repo.ts';
import { bytes, edit, type Case } from './cases.ts';

const APP = 'apps/billing.yaml';
const problem = (line: number, column: number, code: ProblemCode, message: string): Problem => ({ path: APP, line, column, code, message });
const PLAN = 'plans/gold.yaml';

const CONTROL = (hex: string) => `a control character (U+${hex}): YAML 1.2 allows only printable characters (section 5.1) and a reviewer cannot see it; write it as an escape in double quotes if it is really meant`;
const BIDI = (hex: string) => `a bidirectional control character (U+${hex}): it reorders how the text is shown without changing what is read (Trojan Source, CVE-2021-42574)`;
const INVISIBLE = (hex: string) => `an invisible character (U+${hex}) that changes the text without showing in review`;
const LINE_BREAK = (hex: string) => `a line break character (U+${hex}) that YAML 1.1 reads as a new line and git does not: use \\n`;
const NUMBER_FORM = (written: string) => `the number ${written} is not written as a plain whole number, a form YAML 1.1 tools, YAML 1.2 and reviewers can each read differently: write digits only (like 600), or quote the value if it is text`;
const AMBIGUOUS = (written: string, reading: string) => `${written} is the string ${JSON.stringify(written)} in YAML 1.2 but ${reading} in YAML 1.1: quote it, ${JSON.stringify(written)}, if the text is meant`;

/** Number forms refused in an integer field; each is read as some number by YAML 1.2. */
const NUMBER_FORMS = ['0755', '0600', '0x258', '0o755', '+12', '1e3', '1.0', '600.0', '.inf', '-.inf', '.nan', '-0'];
/** Plain words and numbers YAML 1.2 reads as strings and YAML 1.1 as something else. */
const YAML11_READINGS: [string, string][] = [
  ['yes', 'a boolean'], ['No', 'a boolean'], ['ON', 'a boolean'], ['off', 'a boolean'], ['y', 'a boolean'], ['N', 'a boolean'],
  ['1_000', 'a number'], ['0b101', 'a number'], ['12:30', 'a number'], ['0x_1F', 'a number'], ['1_0.5', 'a number'],
];

export const YAML_CASES: Case[] = [
  {
    title: 'a file over 256 KiB, before it is read',
    change: () => ({ [APP]: new Uint8Array(256 * 1024 + 1).fill(0x23) }),
    expected: [problem(1, 1, 'file.too-large', 'the file is 257 KiB; a manifest may be at most 256 KiB')],
  },
  {
    title: 'invalid UTF-8',
    change: () => ({ [APP]: bytes('apiVersion: mergekey/v1\nkind: Appl', [0xff], 'ication\n') }),
    expected: [problem(2, 11, 'file.encoding', 'invalid UTF-8 at byte 34: manifests are UTF-8 text')],
  },
  {
    title: 'invalid UTF-8 after multi-byte characters, counted as characters in the column',
    change: () => ({ [APP]: bytes('apiVersion: mergekey/v1\ndescription: café ', [0xc3, 0x28], '\n') }),
    expected: [problem(2, 19, 'file.encoding', 'invalid UTF-8 at byte 43: manifests are UTF-8 text')],
  },
  {
    title: 'an empty file',
    change: () => ({ [APP]: '' }),
    expected: [problem(1, 1, 'file.empty', 'the file holds no YAML document: a manifest is a mapping with apiVersion, kind, metadata and spec')],
  },
  {
    title: 'a file of comments only',
    change: () => ({ [APP]: '# nothing here yet\n' }),
    expected: [problem(1, 1, 'file.empty', 'the file holds no YAML document: a manifest is a mapping with apiVersion, kind, metadata and spec')],
  },
  {
    title: 'a syntax error',
    change: async (key) => ({ [APP]: edit(await billingYaml(key), '  owners: [alice, bob]', '  owners: [alice, bob') }),
    expected: [problem(9, 3, 'yaml.syntax', 'invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]')],
  },
  {
    title: 'a tab used as indentation',
    change: async (key) => ({ [APP]: edit(await billingYaml(key), '  plan: gold', '\tplan: gold') }),
    expected: [problem(12, 1, 'yaml.syntax', 'invalid YAML: Tabs are not allowed as indentation')],
  },
  {
    title: 'a duplicate key',
    change: async (key) => ({ [APP]: edit(await billingYaml(key), '  clientId: mk_billing_0001\n', '  clientId: mk_billing_0001\n  description: Sends invoices twice.\n') }),
    expected: [problem(10, 3, 'yaml.duplicate-key', 'duplicate key "description": a mapping may hold each key once')],
  },
  {
    title: 'a second document',
    change: async (key) => ({ [APP]: `${await billingYaml(key)}---\nkind: Api\n` }),
    expected: [problem(17, 1, 'yaml.multi-document', 'a second YAML document starts here: a manifest file holds exactly one')],
  },
  {
    title: 'a %YAML directive',
    change: async (key) => ({ [APP]: `%YAML 1.1\n---\n${await billingYaml(key)}` }),
    expected: [problem(1, 1, 'yaml.directive', 'directives are not allowed (found %YAML 1.1): manifests are plain YAML 1.2')],
  },
  {
    title: 'custom and standard tags alike',
    change: async (key) => {
      let text = edit(await billingYaml(key), '  displayName: Billing', '  displayName: !!binary QmlsbGluZw==');
      text = edit(text, '  description: Sends invoices.', '  description: !vault secret/billing');
      text = edit(text, '  owners: [alice, bob]', '  owners: !!set {alice, bob}');
      text = edit(text, '  plan: gold', '  plan: !!str gold');
      return { [APP]: text };
    },
    expected: [
      problem(6, 16, 'yaml.tag', 'tags are not allowed (found !!binary): write plain values, and quote a value to make it a string'),
      problem(7, 16, 'yaml.tag', 'tags are not allowed (found !vault): write plain values, and quote a value to make it a string'),
      problem(8, 11, 'yaml.tag', 'tags are not allowed (found !!set): write plain values, and quote a value to make it a string'),
      problem(12, 9, 'yaml.tag', 'tags are not allowed (found !!str): write plain values, and quote a value to make it a string'),
    ],
  },
  {
    title: 'an anchor and an alias',
    change: async (key) => {
      const text = edit(await billingYaml(key), '  owners: [alice, bob]', '  owners: &team [alice, bob]');
      return { [APP]: edit(text, '  plan: gold', '  plan: *team') };
    },
    expected: [
      problem(8, 11, 'yaml.anchor', 'anchors are not allowed (found &team): write each value out in full'),
      problem(12, 9, 'yaml.alias', 'aliases are not allowed (found *team): write each value out in full'),
    ],
  },
  {
    title: 'collections nested 33 deep, inside the block structure',
    // The root mapping and spec are two levels; the 31st bracket opens the 33rd.
    change: async (key) => ({ [APP]: edit(await billingYaml(key), '  displayName: Billing', `  displayName: ${'['.repeat(31)}x${']'.repeat(31)}`) }),
    expected: [problem(6, 46, 'yaml.depth', 'collections are nested more than 32 levels deep')],
  },
  {
    title: 'thousands of nested brackets, refused before the parser sees them',
    change: async (key) => ({ [APP]: edit(await billingYaml(key), '  displayName: Billing', `  displayName: ${'['.repeat(100_000)}`) }),
    expected: [problem(6, 46, 'yaml.depth', 'collections are nested more than 32 levels deep')],
  },
  {
    title: 'lists nested on one line (- - - …)',
    change: () => ({ [APP]: `apiVersion: mergekey/v1\nlist:\n${'- '.repeat(50_000)}x\n` }),
    expected: [problem(3, 63, 'yaml.depth', 'collections are nested more than 32 levels deep')],
  },
  {
    title: 'a NUL byte, which makes git show the file as binary, with no diff to review',
    change: () => ({ [APP]: bytes('apiVersion: mergekey/v1\nkind: Application\nmetadata:\n  name: bill', [0x00], 'ing\n') }),
    expected: [problem(4, 13, 'file.character', 'a NUL character (U+0000): git shows a file holding one as binary, with no diff to review, and YAML 1.2 forbids it (section 5.1)')],
  },
  {
    title: 'control characters YAML 1.2 forbids (section 5.1), C0 and C1',
    change: async (key) => {
      let text = edit(await billingYaml(key), '  displayName: Billing', '  displayName: Bill\u0007ing');
      text = edit(text, '  description: Sends invoices.', '  description: Sends\u009Binvoices.');
      return { [APP]: edit(text, '  plan: gold', '  plan: gold\u000B\u007F') };
    },
    expected: [
      problem(6, 20, 'file.character', CONTROL('0007')),
      problem(7, 21, 'file.character', CONTROL('009B')),
      problem(12, 13, 'file.character', CONTROL('000B')),
      problem(12, 14, 'file.character', CONTROL('007F')),
    ],
  },
  {
    title: 'bidirectional controls that reorder what a reviewer sees (Trojan Source)',
    change: async (key) => {
      let text = edit(await billingYaml(key), '  displayName: Billing', '  displayName: Billing\u2066');
      text = edit(text, '  description: Sends invoices.', '  description: Sends \u202Einvoices\u202C.');
      return { [APP]: edit(text, '  plan: gold', '  plan: gold\u200F') };
    },
    expected: [
      problem(6, 23, 'file.character', BIDI('2066')),
      problem(7, 22, 'file.character', BIDI('202E')),
      problem(7, 31, 'file.character', BIDI('202C')),
      problem(12, 13, 'file.character', BIDI('200F')),
    ],
  },
  {
    title: 'invisible characters: a zero-width space, a word joiner, a byte-order mark after the start, a tag character',
    change: async (key) => {
      let text = edit(await billingYaml(key), '  name: billing', '  name: bil\u200Bling');
      text = edit(text, '  displayName: Billing', '  displayName: Bill\u2060ing');
      text = edit(text, '  description: Sends invoices.', '  description: \uFEFFSends invoices.');
      return { [APP]: edit(text, '  plan: gold', '  plan: gold\u{E0041}') };
    },
    expected: [
      problem(4, 12, 'file.character', INVISIBLE('200B')),
      problem(6, 20, 'file.character', INVISIBLE('2060')),
      problem(7, 16, 'file.character', 'a byte-order mark (U+FEFF) after the start of the file: it is invisible, and only the first character may be one'),
      problem(12, 13, 'file.character', INVISIBLE('E0041')),
    ],
  },
  {
    title: 'line breaks git does not see: a lone carriage return, NEL and the line separator',
    change: async (key) => {
      let text = edit(await billingYaml(key), '  displayName: Billing', '  displayName: Billing\u0085');
      text = edit(text, '  description: Sends invoices.', '  description: Sends invoices.\u2028Twice.');
      return { [APP]: edit(text, '  plan: gold', '  plan: gold\r  plan: free') };
    },
    expected: [
      problem(6, 23, 'file.character', LINE_BREAK('0085')),
      problem(7, 31, 'file.character', LINE_BREAK('2028')),
      problem(12, 13, 'file.character', 'a carriage return not followed by a line feed: YAML starts a new line there but git and the pull request diff do not; use \\n line endings'),
    ],
  },
  {
    title: 'spaces that push the rest of a line out of view (but not 32 to align a comment)',
    change: async (key) => {
      const text = edit(await billingYaml(key), '  owners: [alice, bob]', `  owners: [alice,${' '.repeat(40)}bob]`);
      return { [APP]: edit(text, '  plan: gold', `  plan: gold${' '.repeat(32)}# the default`) };
    },
    expected: [problem(8, 18, 'file.wide-gap', "40 spaces or tabs in a row push the rest of the line out of a reviewer's view: use at most 32 between text on one line")],
  },
  {
    title: 'escapes that write refused characters into a value (but not a tab or a line feed)',
    change: async (key) => {
      let text = edit(await billingYaml(key), '  displayName: Billing', '  displayName: "Bill\\u202Eing"');
      text = edit(text, '  description: Sends invoices.', '  description: "Sends\\tinvoices.\\nTwice\\0"');
      return { [APP]: edit(text, '  plan: gold', '  plan: "gold\\u200B"') };
    },
    expected: [
      problem(6, 16, 'yaml.escape', 'an escape in this value writes U+202E, a control, line-break, bidirectional or invisible character that manifests may not hold: remove it'),
      problem(7, 16, 'yaml.escape', 'an escape in this value writes U+0000, a control, line-break, bidirectional or invisible character that manifests may not hold: remove it'),
      problem(12, 9, 'yaml.escape', 'an escape in this value writes U+200B, a control, line-break, bidirectional or invisible character that manifests may not hold: remove it'),
    ],
  },
  {
    title: 'escapes that write half of a surrogate pair, in a value or a key (but not a whole pair)',
    change: async (key) => {
      let text = edit(await billingYaml(key), '  displayName: Billing', '  displayName: "Bill\\uD800ing"');
      text = edit(text, '  description: Sends invoices.', '  description: "Sends \\uD83D\\uDE00 and \\U0001F600"');
      return { [APP]: edit(text, '  plan: gold', '  plan: gold\n  "\\uDC00": 1') };
    },
    expected: [
      problem(6, 16, 'yaml.escape', 'an escape in this value writes U+D800, half of a UTF-16 surrogate pair, which is not a character and has no UTF-8 form: remove it, or escape the whole character (\\U0001F600)'),
      problem(13, 3, 'yaml.escape', 'an escape in this value writes U+DC00, half of a UTF-16 surrogate pair, which is not a character and has no UTF-8 form: remove it, or escape the whole character (\\U0001F600)'),
    ],
  },
  {
    title: 'a number form or a YAML 1.1 word where a sealed value belongs, not quoted (it may be a pasted password)',
    change: () => ({
      'users/carol.yaml': `${userYaml('carol', 'carol-gh')}  password:\n    sealed: 00123456\n`,
      'users/dave.yaml': `${userYaml('dave', 'dave-gh')}  password:\n    sealed: 12:34:56\n`,
    }),
    expected: ['carol', 'dave'].map((name, index): Problem => ({
      path: `users/${name}.yaml`,
      line: 8,
      column: 13,
      code: index === 0 ? 'yaml.number-form' : 'yaml.ambiguous',
      message: 'this value is read as something else than text (a number form or a YAML 1.1 word) and is not repeated here, as it may be a secret',
    })),
  },
  ...NUMBER_FORMS.map((written): Case => ({
    title: `the integer ${written}, not in plain decimal`,
    change: () => ({ [PLAN]: `${planYaml('gold')}  tokenRequestsPerMinute: ${written}\n` }),
    expected: [{ path: PLAN, line: 7, column: 27, code: 'yaml.number-form', message: NUMBER_FORM(written) }],
  })),
  ...YAML11_READINGS.map(([written, reading]): Case => ({
    title: `the plain word ${written}, which YAML 1.1 reads as ${reading}`,
    change: async (key) => ({ [APP]: edit(await billingYaml(key), '  clientId: mk_billing_0001\n', `  clientId: mk_billing_0001\n  state: ${written}\n`) }),
    expected: [problem(10, 10, 'yaml.ambiguous', AMBIGUOUS(written, reading))],
  })),
  {
    title: 'numbers and YAML 1.1 words in any value, not only where the schema wants another type',
    change: async (key) => {
      let text = edit(await billingYaml(key), '  displayName: Billing', '  displayName: 0x258');
      text = edit(text, '  description: Sends invoices.', '  description: off');
      return { [APP]: edit(text, '  owners: [alice, bob]', '  owners: [alice, 0755, yes]') };
    },
    expected: [
      problem(6, 16, 'yaml.number-form', NUMBER_FORM('0x258')),
      problem(7, 16, 'yaml.ambiguous', AMBIGUOUS('off', 'a boolean')),
      problem(8, 19, 'yaml.number-form', NUMBER_FORM('0755')),
      problem(8, 25, 'yaml.ambiguous', AMBIGUOUS('yes', 'a boolean')),
    ],
  },
  {
    title: 'a YAML 1.1 merge key',
    change: async (key) => ({ [APP]: edit(await billingYaml(key), '  plan: gold\n', '  plan: gold\n  <<: { state: inactive }\n') }),
    expected: [problem(13, 3, 'yaml.ambiguous', '<< is a merge key in YAML 1.1, which copies another mapping in, and an ordinary key in YAML 1.2: write the fields out in full')],
  },
  {
    title: 'nothing when the same texts are quoted, or the number is plain',
    change: async (key) => {
      let text = edit(await billingYaml(key), '  displayName: Billing', '  displayName: "0755"');
      text = edit(text, '  description: Sends invoices.', "  description: 'yes'");
      return { [APP]: text, [PLAN]: `${planYaml('gold')}  tokenRequestsPerMinute: 600\n` };
    },
    expected: [],
  },
  {
    title: 'keys that are not strings',
    change: async (key) => {
      const text = edit(await billingYaml(key), '  name: billing\n', '  name: billing\n  1: one\n  ~: nothing\n  true: yes\n  ? [a, b]\n  : pair\n');
      return { [APP]: text };
    },
    expected: [
      problem(5, 3, 'yaml.key', 'keys must be plain strings, found the number 1'),
      problem(6, 3, 'yaml.key', 'keys must be plain strings, found null'),
      problem(7, 3, 'yaml.key', 'keys must be plain strings, found the boolean true'),
      problem(8, 5, 'yaml.key', 'keys must be plain strings, found a collection'),
    ],
  },
  {
    title: 'keys that could reach an object prototype',
    change: async (key) => {
      const text = edit(await billingYaml(key), '  name: billing\n', '  name: billing\n  __proto__: { polluted: true }\n');
      return { [APP]: `constructor: x\n${text}prototype: {}\n` };
    },
    expected: [
      problem(1, 1, 'yaml.reserved-key', 'the key "constructor" is not allowed'),
      problem(6, 3, 'yaml.reserved-key', 'the key "__proto__" is not allowed'),
      problem(19, 1, 'yaml.reserved-key', 'the key "prototype" is not allowed'),
    ],
  },
];
