// How a command is declared. One declaration per command holds its arguments and options; the
// same objects parse argv (node:util parseArgs, strict) and write `--help` and the README's CLI
// reference, so the documentation cannot describe an option the parser does not know.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { usageError, type ExitCode } from './errors.ts';

export interface OptionSpec {
  type: 'string' | 'boolean';
  /** One letter, for `-x`. Keep these rare: long names document themselves. */
  short?: string;
  /** May be given more than once; the value is then a list. */
  multiple?: boolean;
  /** One or two sentences for `--help`. */
  description: string;
  /** Placeholder shown in help for the value, e.g. FILE or URL. */
  valueName?: string;
  /** Value when the option is absent (string options only; booleans default to false). */
  default?: string;
  /** The only values accepted; anything else is a usage error. */
  choices?: readonly string[];
}

export interface ArgumentSpec {
  /** Upper case as shown in help, e.g. DIR; the input property is its camel-cased lower form. */
  name: string;
  description: string;
  required?: boolean;
  /** Value when the argument is absent. */
  default?: string;
  /** Takes every remaining positional argument (last argument only). */
  variadic?: boolean;
}

type CamelCase<S extends string> = S extends `${infer Head}-${infer Tail}` ? `${Head}${Capitalize<CamelCase<Tail>>}` : S;

type StringValue<S extends OptionSpec> = S extends { choices: readonly (infer C extends string)[] } ? C : string;

type OptionValue<S extends OptionSpec> = S['type'] extends 'boolean'
  ? boolean
  : S extends { multiple: true }
    ? StringValue<S>[]
    : S extends { default: string }
      ? StringValue<S>
      : StringValue<S> | undefined;

export type OptionValues<O extends Record<string, OptionSpec>> = {
  [K in keyof O & string as CamelCase<K>]: OptionValue<O[K]>;
};

type ArgumentValue<A extends ArgumentSpec> = A extends { variadic: true }
  ? string[]
  : A extends { required: true } | { default: string }
    ? string
    : string | undefined;

export type ArgumentValues<A extends readonly ArgumentSpec[]> = {
  [X in A[number] as CamelCase<Lowercase<X['name']>>]: ArgumentValue<X>;
};

export type CommandInput<A extends readonly ArgumentSpec[], O extends Record<string, OptionSpec>> = ArgumentValues<A> &
  OptionValues<O>;

export interface CommandSpec<A extends readonly ArgumentSpec[], O extends Record<string, OptionSpec>, R> {
  /** One line, shown in the command list. */
  summary: string;
  /** Paragraphs shown by `--help` below the usage line. */
  description?: string;
  arguments: A;
  /** Keyed by the long flag name (`sealing-key` for `--sealing-key`). */
  options: O;
  examples?: readonly string[];
  /** Computes the result. Calls the command's exported verb function; prints nothing. */
  run(input: CommandInput<A, O>): Promise<R>;
  /** Turns the result into what stdout shows. */
  render(result: R, input: CommandInput<A, O>): string;
  /** Exit code for a result that is not an error, e.g. 1 for an invalid repository. Default 0. */
  exitCode?(result: R): ExitCode;
}

/** A command's declaration with its types erased. Its name is its key in the registry. */
export interface CommandDeclaration {
  summary: string;
  description?: string;
  arguments: readonly ArgumentSpec[];
  options: Record<string, OptionSpec>;
  examples?: readonly string[];
  run(input: Record<string, unknown>): Promise<unknown>;
  render(result: unknown, input: Record<string, unknown>): string;
  exitCode?(result: unknown): ExitCode;
}

/** Declares a command; `const` keeps the literal types so `run` receives typed input. */
export function defineCommand<
  const A extends readonly ArgumentSpec[],
  const O extends Record<string, OptionSpec>,
  R,
>(spec: CommandSpec<A, O, R>): CommandDeclaration {
  return spec as unknown as CommandDeclaration;
}

/** What a module under commands/ exports for the registry, beside its verb function. */
export interface CommandModule {
  command: CommandDeclaration;
}

export interface Command extends CommandDeclaration {
  /** The words that invoke it: `validate`, or `app new` for a command in the `app` group. */
  name: string;
}

/** Options every command accepts. Handled before the command runs. */
export const HELP_OPTION: OptionSpec = { type: 'boolean', short: 'h', description: 'Show this help.' };

/**
 * `--json`, shorthand for `--format json`: every command whose --format offers json accepts it,
 * as gh and kubectl users expect, and its help lists it below --format.
 */
export const JSON_OPTION: OptionSpec = { type: 'boolean', description: 'Shorthand for --format json.' };

/** Whether `command` takes `--json` (a --format with json among its choices, and no --json of its own). */
export function acceptsJson(command: Pick<Command, 'options'>): boolean {
  return command.options.json === undefined && command.options.format?.choices?.includes('json') === true;
}

export function camelCase(name: string): string {
  return name.toLowerCase().replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

export type ParsedArgv = { help: true } | { help: false; input: Record<string, unknown> };

/**
 * Parses the arguments after the command's words. Every mistake is a usage error that names the
 * option or argument and points at `--help`.
 */
export function parseCommandArgv(command: Command, argv: readonly string[]): ParsedArgv {
  const config: NonNullable<ParseArgsConfig['options']> = { help: HELP_OPTION, ...(acceptsJson(command) ? { json: { type: 'boolean' } } : {}) };
  for (const [flag, spec] of Object.entries(command.options)) {
    config[flag] = {
      type: spec.type,
      ...(spec.short === undefined ? {} : { short: spec.short }),
      ...(spec.multiple === undefined ? {} : { multiple: spec.multiple }),
    };
  }
  const helpHint = `Run 'mergekey ${command.name} --help' for its arguments and options.`;
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], options: config, strict: true, allowPositionals: true });
  } catch (error) {
    // `mergekey validate --bogus --help` should still show help, as git and gh do.
    const beforeTerminator = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv;
    if (beforeTerminator.includes('--help') || beforeTerminator.includes('-h')) return { help: true };
    throw usageError(parseArgsMessage(error), helpHint);
  }
  if (parsed.values.help === true) return { help: true };

  const input: Record<string, unknown> = {};
  for (const [flag, spec] of Object.entries(command.options)) {
    const raw = parsed.values[flag];
    const value = raw ?? (spec.type === 'boolean' ? false : spec.multiple === true ? [] : spec.default);
    for (const item of Array.isArray(value) ? value : [value]) {
      if (spec.choices !== undefined && typeof item === 'string' && !spec.choices.includes(item)) {
        throw usageError(`option '--${flag}' must be one of ${spec.choices.join(', ')} (got '${item}')`, helpHint);
      }
    }
    input[camelCase(flag)] = value;
  }

  if (parsed.values.json === true && acceptsJson(command)) {
    const format = parsed.values.format;
    if (format !== undefined && format !== 'json') throw usageError(`give either '--json' or '--format ${String(format)}', not both`, helpHint);
    input.format = 'json';
  }

  const positionals = [...parsed.positionals];
  for (const arg of command.arguments) {
    const key = camelCase(arg.name);
    if (arg.variadic === true) {
      if (arg.required === true && positionals.length === 0) throw usageError(`missing argument ${arg.name}`, helpHint);
      input[key] = positionals.splice(0);
      continue;
    }
    const value = positionals.shift() ?? arg.default;
    if (value === undefined && arg.required === true) throw usageError(`missing argument ${arg.name}`, helpHint);
    input[key] = value;
  }
  if (positionals.length > 0) {
    throw usageError(`unexpected argument '${positionals[0]}'`, helpHint);
  }
  return { help: false, input };
}

/** parseArgs' messages are good but long; keep what names the mistake. */
function parseArgsMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const unknown = /^Unknown option '([^']+)'/.exec(message);
  if (unknown !== null) return `unknown option '${unknown[1]}'`;
  const ambiguous = /^Option '([^']+)' argument is ambiguous/.exec(message);
  if (ambiguous !== null) return `option '${ambiguous[1]}' needs a value (use ${ambiguous[1]}=VALUE for one that starts with '-')`;
  const first = message.split('\n')[0]!.replace(/\.$/, '');
  return first.charAt(0).toLowerCase() + first.slice(1);
}
