// Unquoted (plain) scalars that people and other YAML tools read differently from Mergekey's
// YAML 1.2 core schema. Both parsers refuse them: the full parser reports them (parse.ts), the
// fast path leaves them to it (fast-parse.ts). A reviewer, a linter or a script using a YAML 1.1
// library (PyYAML, go-yaml v2, Ruby's Psych) must never read a value the controller reads
// otherwise, so such a value is written in the one form all of them agree on, or quoted.
//
// Numbers: only plain decimal. YAML 1.2 reads `0755` as 755 and YAML 1.1 as octal 493; `0x258`
// is 600, `0o17` is a string in YAML 1.1, `1e3` and `1.0` pass as whole numbers, `.inf` and
// `.nan` are not numbers anyone means in a manifest.
//
// Strings: YAML 1.2 reads these as text, YAML 1.1 as something else (YAML 1.1 type repository,
// https://yaml.org/type/): booleans y/yes/on/off/n/no in their three cases, integers with
// underscores, a 0b or 0 prefix, or base 60 (`12:30` is 750), floats with underscores (`1_0.5`).
// Timestamps are left alone: both read `2030-01-01` as that date.
//
// Keys: only the merge key `<<` (YAML 1.1 merges the mapping it holds into its parent; YAML 1.2
// has no merge). Other keys are the schema's field names, which it checks itself, and an EC
// JWK's `y` must stay writable as it is.
export type PlainProblem = { code: 'yaml.number-form' | 'yaml.ambiguous'; message: string };

/** Plain decimal, without a sign, leading zeros or -0. */
const DECIMAL = /^(?:0|-?[1-9][0-9]*)$/;

// https://yaml.org/type/bool.html, int.html, float.html, merge.html (as PyYAML implements them).
const YAML11_BOOL = /^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/;
const YAML11_INT = /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/;
const YAML11_FLOAT = /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?|\.[0-9_]+(?:[eE][-+]?[0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;

/**
 * The problem with a plain scalar written as `source` that the core schema read as `value`, or
 * undefined when every reader agrees on it.
 */
export function plainScalarProblem(source: string, value: unknown): PlainProblem | undefined {
  if (typeof value === 'number') {
    if (DECIMAL.test(source)) return undefined;
    return {
      code: 'yaml.number-form',
      message: `the number ${source} is not written as a plain whole number, a form YAML 1.1 tools, YAML 1.2 and reviewers can each read differently: write digits only (like 600), or quote the value if it is text`,
    };
  }
  if (typeof value !== 'string') return undefined;
  const reading = YAML11_BOOL.test(value) ? 'a boolean'
    : YAML11_INT.test(value) ? 'a number'
    : YAML11_FLOAT.test(value) ? 'a number'
    : undefined;
  if (reading === undefined) return undefined;
  return {
    code: 'yaml.ambiguous',
    message: `${value} is the string ${JSON.stringify(value)} in YAML 1.2 but ${reading} in YAML 1.1: quote it, ${JSON.stringify(value)}, if the text is meant`,
  };
}

/** The problem with a plain mapping key written as `source`, or undefined. */
export function plainKeyProblem(source: string): PlainProblem | undefined {
  if (source !== '<<') return undefined;
  return {
    code: 'yaml.ambiguous',
    message: '<< is a merge key in YAML 1.1, which copies another mapping in, and an ordinary key in YAML 1.2: write the fields out in full',
  };
}
