// Help text, written from the same declarations that parse argv (command.ts). The README's CLI
// reference is this text too (reference.ts), so the three cannot disagree.
import { acceptsJson, HELP_OPTION, JSON_OPTION, type ArgumentSpec, type Command, type OptionSpec } from './command.ts';
import { EXIT_CODE_MEANINGS } from './errors.ts';

const WIDTH = 80;
const LEFT_MAX = 26;

export interface CommandSet {
  commands: readonly Command[];
  /** One-line summaries of command groups (`app` for `app new`, `app list` …). */
  groups: Readonly<Record<string, string>>;
}

export const VERSION_OPTION: OptionSpec = { type: 'boolean', description: 'Print the version of mergekey.' };

export function usageLine(command: Command): string {
  const words = ['mergekey', command.name, ...command.arguments.map(argumentUsage)];
  if (Object.keys(command.options).length > 0) words.push('[options]');
  return words.join(' ');
}

export function commandHelp(command: Command): string {
  const sections = [`Usage: ${usageLine(command)}`, wrap(command.description ?? command.summary, WIDTH)];
  if (command.arguments.length > 0) {
    sections.push(
      'Arguments:\n' + table(command.arguments.map((arg) => [arg.name, withDefault(arg.description, arg.default)])),
    );
  }
  const options: [string, OptionSpec][] = [
    ...Object.entries(command.options).flatMap(([flag, spec]): [string, OptionSpec][] =>
      flag === 'format' && acceptsJson(command) ? [[flag, spec], ['json', JSON_OPTION]] : [[flag, spec]],
    ),
    ['help', HELP_OPTION],
  ];
  sections.push('Options:\n' + table(options.map(([flag, spec]) => [optionUsage(flag, spec), optionDescription(spec)])));
  if (command.examples !== undefined && command.examples.length > 0) {
    sections.push('Examples:\n' + command.examples.map((example) => `  ${example}`).join('\n'));
  }
  return sections.join('\n\n') + '\n';
}

/** The version is left out of the README's copy, so a release does not make it drift. */
export function mainHelp(set: CommandSet, version?: string): string {
  return [
    `mergekey${version === undefined ? '' : ` ${version}`}: OAuth client applications as code.`,
    'Usage: mergekey <command> [arguments] [options]',
    'Commands:\n' + commandTable(set.commands, set.groups),
    'Options:\n' +
      table([
        [optionUsage('help', HELP_OPTION), "Show this help. 'mergekey help <command>' shows a command's."],
        [optionUsage('version', VERSION_OPTION), VERSION_OPTION.description],
      ]),
    'Exit status:\n' + exitStatusTable(),
  ].join('\n\n') + '\n';
}

export function groupHelp(group: string, set: CommandSet): string {
  const members = set.commands.filter((command) => command.name.startsWith(`${group} `));
  const summary = set.groups[group];
  return [
    `Usage: mergekey ${group} <command> [arguments] [options]`,
    ...(summary === undefined ? [] : [wrap(summary, WIDTH)]),
    'Commands:\n' + commandTable(members, {}),
  ].join('\n\n') + '\n';
}

export function exitStatusTable(): string {
  return table(Object.entries(EXIT_CODE_MEANINGS).map(([code, meaning]) => [code, meaning as string]));
}

/** Lists commands, a group's members together under the group's first appearance. */
function commandTable(commands: readonly Command[], groups: Readonly<Record<string, string>>): string {
  const rows: [string, string][] = commands.map((command) => [
    [command.name, ...command.arguments.map(argumentUsage)].join(' '),
    command.summary,
  ]);
  for (const [group, summary] of Object.entries(groups)) {
    if (!commands.some((command) => command.name.startsWith(`${group} `))) rows.push([group, summary]);
  }
  rows.push(['help [COMMAND]', 'Show the help of a command.']);
  return table(rows);
}

function argumentUsage(arg: ArgumentSpec): string {
  const shown = arg.variadic === true ? `${arg.name}...` : arg.name;
  return arg.required === true ? shown : `[${shown}]`;
}

function optionUsage(flag: string, spec: OptionSpec): string {
  const long = spec.type === 'string' ? `--${flag} ${spec.valueName ?? 'VALUE'}` : `--${flag}`;
  return spec.short === undefined ? long : `-${spec.short}, ${long}`;
}

function optionDescription(spec: OptionSpec): string {
  const notes = [
    ...(spec.choices === undefined ? [] : [`one of: ${spec.choices.join(', ')}`]),
    ...(spec.multiple === true ? ['repeatable'] : []),
    ...(spec.default === undefined ? [] : [`default: ${spec.default}`]),
  ];
  return notes.length === 0 ? spec.description : `${spec.description} (${notes.join('; ')})`;
}

function withDefault(text: string, value: string | undefined): string {
  return value === undefined ? text : `${text} (default: ${value})`;
}

/** Two columns: names on the left, wrapped descriptions on the right. */
function table(rows: readonly (readonly [string, string])[]): string {
  const left = Math.min(LEFT_MAX, Math.max(...rows.map(([name]) => name.length)));
  const indent = 2 + left + 3;
  return rows
    .map(([name, text]) => {
      const body = wrap(text, WIDTH - indent).split('\n');
      const head = name.length > left ? [`  ${name}`, ' '.repeat(indent) + body[0]] : [`  ${name.padEnd(left)}   ${body[0]}`];
      return [...head, ...body.slice(1).map((line) => ' '.repeat(indent) + line)].join('\n');
    })
    .join('\n');
}

function wrap(text: string, width: number): string {
  return text
    .split('\n')
    .map((paragraph) => {
      const lines: string[] = [];
      let line = '';
      for (const word of paragraph.split(/ +/)) {
        if (line !== '' && line.length + 1 + word.length > width) {
          lines.push(line);
          line = word;
        } else {
          line = line === '' ? word : `${line} ${word}`;
        }
      }
      lines.push(line);
      return lines.join('\n');
    })
    .join('\n');
}
