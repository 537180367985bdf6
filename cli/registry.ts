// Every command, by the words that invoke it. Adding a command is one file under commands/ that
// exports `command` (its declaration, see command.ts) and one line here; a command in a group is
// named by its words (`'app new': () => import('./commands/app/new.ts')`). Modules load lazily,
// so `mergekey validate` does not pay for the server's dependencies; `--help` loads them all.
import type { CommandModule } from './command.ts';

export interface Registry {
  commands: Readonly<Record<string, () => Promise<CommandModule>>>;
  /** One-line summaries of command groups, shown by `mergekey --help` and `mergekey <group>`. */
  groups: Readonly<Record<string, string>>;
}

export const registry: Registry = {
  commands: {
    init: () => import('./commands/init.ts'),
    'app new': () => import('./commands/app-new.ts'),
    'keys public': () => import('./commands/keys.ts'),
    quickstart: () => import('./commands/quickstart.ts'),
    seal: () => import('./commands/seal.ts'),
    serve: () => import('./commands/serve.ts'),
    status: () => import('./commands/status.ts'),
    sync: () => import('./commands/sync.ts'),
    'token get': () => import('./commands/token/get.ts'),
    'token list': () => import('./commands/token/list.ts'),
    'token revoke': () => import('./commands/token/revoke.ts'),
    validate: () => import('./commands/validate.ts'),
  },
  groups: {
    app: 'Applications: create their manifests.',
    keys: "The controller's keys.",
    token: "Tokens of an application, with its saved credentials: get one, list the live ones, revoke one.",
  },
};
