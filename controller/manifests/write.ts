// For code that writes manifests (the CLI's create, edit, init and quickstart): the `yaml`
// package writes YAML 1.2, where `yes`, `off` or `1_000` need no quotes, but the parser refuses
// them unquoted because YAML 1.1 tools read them otherwise (plain-scalars.ts). Quoting them here
// keeps every manifest Mergekey writes one that it accepts.
import { isScalar, visit, type Document } from 'yaml';
import { plainScalarProblem } from './plain-scalars.ts';

/** Marks every string value that YAML 1.1 would read as something else to be written in double quotes. */
export function quoteAmbiguousStrings<T extends Document>(doc: T): T {
  visit(doc, {
    Pair(_key, pair) {
      const { value } = pair;
      if (isScalar(value) && typeof value.value === 'string' && plainScalarProblem(value.value, value.value) !== undefined) value.type = 'QUOTE_DOUBLE';
    },
    Seq(_key, seq) {
      for (const item of seq.items) {
        if (isScalar(item) && typeof item.value === 'string' && plainScalarProblem(item.value, item.value) !== undefined) item.type = 'QUOTE_DOUBLE';
      }
    },
  });
  return doc;
}
