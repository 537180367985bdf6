// Parsing the values developers type for application fields, with usage errors that name the option.
import { GRANT_TYPES, isGrantType, type GrantType } from '../../../controller/manifests/vocabulary.ts';
import { usageError } from '../../errors.ts';

/** `a,b c` → ['a', 'b', 'c']: commas or spaces, duplicates dropped. */
export function parseList(option: string, value: string): string[] {
  const items = [...new Set(value.split(/[\s,]+/).filter((item) => item !== ''))];
  if (items.length === 0) throw usageError(`option '--${option}' needs at least one value`);
  return items;
}

export function parseGrantTypes(value: string): GrantType[] {
  const items = parseList('grant-types', value);
  const unknown = items.find((item) => !isGrantType(item));
  if (unknown !== undefined) throw usageError(`option '--grant-types': unknown grant type '${unknown}' (use ${GRANT_TYPES.join(', ')})`);
  return items.filter(isGrantType);
}

export function parseRedirectUris(values: readonly string[]): string[] {
  for (const uri of values) {
    // RFC 6749 section 3.1.2: "The redirection endpoint URI MUST be an absolute URI" and "MUST NOT include a fragment component."
    if (!/^https?:\/\/[^#\s]+$/.test(uri) || !URL.canParse(uri)) {
      throw usageError(`option '--redirect-uri' must be an absolute http(s) URI without a fragment (got '${uri}')`);
    }
  }
  return [...new Set(values)];
}

const UNITS: Readonly<Record<string, number>> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `7d`, `36h`, `90m`, `0s` → milliseconds. */
export function parseDuration(option: string, value: string): number {
  const match = /^(\d{1,6})([smhd])$/.exec(value.trim());
  if (match === null) throw usageError(`option '--${option}' must be a duration like 7d, 36h or 90m (got '${value}')`);
  return Number(match[1]) * UNITS[match[2]!]!;
}
