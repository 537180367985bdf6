// The README's CLI reference, generated from the registry: the same declarations that parse argv
// and print `--help`. `npm run docs` (readme.ts) rewrites the block; cli-reference.test.ts fails
// when the README has drifted from the code.
import { commandHelp, mainHelp } from '../../cli/help.ts';
import { loadCommandSet } from '../../cli/main.ts';
import { fence } from './readme.ts';

export async function cliReference(): Promise<string> {
  const set = await loadCommandSet();
  const parts = [fence(mainHelp(set))];
  for (const command of set.commands) parts.push(`### \`mergekey ${command.name}\``, fence(commandHelp(command)));
  return parts.join('\n\n');
}
