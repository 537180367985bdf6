// The CLI's entry point: finds the command in the registry, parses its arguments, runs it, prints
// its result, and is the one place that turns errors into exit codes (errors.ts documents them).
import { readFileSync } from 'node:fs';
import { parseCommandArgv, type Command } from './command.ts';
import { RequestError } from '../controller/requests/errors.ts';
import { CliError, EXIT_CODES, exitCodeFor, usageError, type ExitCode } from './errors.ts';
import { commandHelp, groupHelp, mainHelp, type CommandSet } from './help.ts';
import { registry as defaultRegistry, type Registry } from './registry.ts';
import { printable } from './printable.ts';
import { closest } from './suggest.ts';

export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
}

const processIo: Io = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
};

export const version: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

const MAIN_HINT = "Run 'mergekey --help' for the list of commands.";

export async function main(
  argv: readonly string[],
  io: Io = processIo,
  registry: Registry = defaultRegistry,
): Promise<ExitCode> {
  const cli = new Cli(registry);
  try {
    return await cli.dispatch(argv, io);
  } catch (error) {
    io.stderr(printable(describeError(error)));
    return exitCodeFor(error);
  }
}

type Target = { name: string; rest: readonly string[] } | { group: string; rest: readonly string[] };

class Cli {
  constructor(private readonly registry: Registry) {}

  /** Runs argv; errors propagate to `main`, the one place that maps them to exit codes. */
  async dispatch(argv: readonly string[], io: Io): Promise<ExitCode> {
    const [first] = argv;
    if (first === undefined) {
      io.stderr(mainHelp(await this.loadAll(), version));
      return EXIT_CODES.usage;
    }
    if (first === '--help' || first === '-h') {
      io.stdout(mainHelp(await this.loadAll(), version));
      return EXIT_CODES.ok;
    }
    if (first === '--version') {
      io.stdout(`${version}\n`);
      return EXIT_CODES.ok;
    }
    if (first === 'help') {
      io.stdout(await this.helpFor(argv.slice(1)));
      return EXIT_CODES.ok;
    }
    if (first.startsWith('-')) throw usageError(`unknown option '${first}'`, MAIN_HINT);

    const target = this.resolve(argv);
    if ('group' in target) {
      const help = groupHelp(target.group, await this.loadAll());
      if (target.rest[0] === '--help' || target.rest[0] === '-h') {
        io.stdout(help);
        return EXIT_CODES.ok;
      }
      io.stderr(help);
      return EXIT_CODES.usage;
    }
    const command = await this.load(target.name);
    const parsed = parseCommandArgv(command, target.rest);
    if (parsed.help) {
      io.stdout(commandHelp(command));
      return EXIT_CODES.ok;
    }
    const result = await command.run(parsed.input);
    const text = command.render(result, parsed.input);
    if (text !== '') io.stdout(printable(text.endsWith('\n') ? text : `${text}\n`));
    return command.exitCode?.(result) ?? EXIT_CODES.ok;
  }

  /** The registered command whose words start argv, the longest if several do (`app` vs `app new`). */
  private resolve(argv: readonly string[]): Target {
    let best: string | undefined;
    for (const name of Object.keys(this.registry.commands)) {
      const words = name.split(' ');
      if (words.every((word, i) => argv[i] === word) && (best === undefined || words.length > best.split(' ').length)) {
        best = name;
      }
    }
    if (best !== undefined) return { name: best, rest: argv.slice(best.split(' ').length) };
    const [group, sub] = argv;
    if (group !== undefined && this.isGroup(group)) {
      if (sub === undefined || sub.startsWith('-')) return { group, rest: argv.slice(1) };
      const groupHint = `Run 'mergekey ${group} --help' for its commands.`;
      const members = Object.keys(this.registry.commands).filter((name) => name.startsWith(`${group} `));
      const suggestion = closest(sub, members.map((name) => name.slice(group.length + 1)));
      throw usageError(
        `unknown command '${group} ${sub}'`,
        suggestion === undefined ? groupHint : `Did you mean 'mergekey ${group} ${suggestion}'? ${groupHint}`,
      );
    }
    const firstWords = new Set(Object.keys(this.registry.commands).map((name) => name.split(' ')[0]!));
    const suggestion = closest(group ?? '', [...firstWords]);
    throw usageError(
      `unknown command '${group}'`,
      suggestion === undefined ? MAIN_HINT : `Did you mean 'mergekey ${suggestion}'? ${MAIN_HINT}`,
    );
  }

  private async helpFor(words: readonly string[]): Promise<string> {
    if (words.length === 0) return mainHelp(await this.loadAll(), version);
    const name = words.join(' ');
    if (name in this.registry.commands) return commandHelp(await this.load(name));
    if (words.length === 1 && this.isGroup(name)) return groupHelp(name, await this.loadAll());
    const suggestion = closest(name, [...Object.keys(this.registry.commands), ...Object.keys(this.registry.groups)]);
    throw usageError(`unknown command '${name}'`, suggestion === undefined ? MAIN_HINT : `Did you mean 'mergekey help ${suggestion}'? ${MAIN_HINT}`);
  }

  private isGroup(word: string): boolean {
    return Object.keys(this.registry.commands).some((name) => name.startsWith(`${word} `));
  }

  private async load(name: string): Promise<Command> {
    const loader = this.registry.commands[name];
    if (loader === undefined) throw usageError(`unknown command '${name}'`, MAIN_HINT);
    return loadCommand(name, loader);
  }

  private loadAll(): Promise<CommandSet> {
    return loadCommandSet(this.registry);
  }
}

async function loadCommand(name: string, loader: Registry['commands'][string]): Promise<Command> {
  return { name, ...(await loader()).command };
}

/** Every command's declaration, in registry order: for help and the README's reference. */
export async function loadCommandSet(registry: Registry = defaultRegistry): Promise<CommandSet> {
  const entries = Object.entries(registry.commands);
  return { commands: await Promise.all(entries.map(([name, loader]) => loadCommand(name, loader))), groups: registry.groups };
}

function describeError(error: unknown): string {
  // The workflow's default message is the CLI's own wording: it names commands and options.
  if (error instanceof CliError || error instanceof RequestError) {
    return `mergekey: ${error.message}\n${error.hint === undefined ? '' : `${error.hint}\n`}`;
  }
  // A bug or an environment failure nobody anticipated: say so, and keep the stack one switch away.
  const detail = process.env.MERGEKEY_DEBUG ? `\n${error instanceof Error ? error.stack : ''}` : '';
  const message = error instanceof Error ? error.message : String(error);
  return `mergekey: unexpected error: ${message}${detail}\nSet MERGEKEY_DEBUG=1 to see where it happened.\n`;
}
