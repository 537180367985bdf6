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
    'app create': () => import('./commands/app/create.ts'),
    'app edit': () => import('./commands/app/edit.ts'),
    'app deactivate': () => import('./commands/app/deactivate.ts'),
    'app reactivate': () => import('./commands/app/reactivate.ts'),
    'app cancel': () => import('./commands/app/cancel.ts'),
    'app ask-again': () => import('./commands/app/ask-again.ts'),
    'app list': () => import('./commands/app/list.ts'),
    'app show': () => import('./commands/app/show.ts'),
    'review list': () => import('./commands/review/list.ts'),
    'review approve': () => import('./commands/review/approve.ts'),
    'review reject': () => import('./commands/review/reject.ts'),
    check: () => import('./commands/check.ts'),
    'db migrate': () => import('./commands/db/migrate.ts'),
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
    app: 'Applications: request them (pull requests), list them, see their details.',
    review: 'Publishers: review, approve and reject requests.',
    db: 'The shared PostgreSQL of several replicas: its schema.',
    keys: "The controller's keys.",
    token: "Tokens of an application, with its saved credentials: get one, list the live ones, revoke one.",
  },
};
