// Every command, by the words that invoke it. Adding a command is one file under commands/ that
// exports `command` (its declaration, see command.ts) and one line here. Modules load lazily, so
// `mergekey validate` does not pay for the server's dependencies; `--help` loads them all.
import type { CommandModule } from './command.ts';

export const commands: Readonly<Record<string, () => Promise<CommandModule>>> = {
  init: () => import('./commands/init.ts'),
  validate: () => import('./commands/validate.ts'),
};

/** One-line summaries of command groups, shown by `mergekey --help` and `mergekey <group>`. */
export const groups: Readonly<Record<string, string>> = {};
