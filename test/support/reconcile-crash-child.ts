// A child process for the crash test: one reconcile of a branch into a data directory, printing
// markers the parent uses to time its SIGKILL. Applications in the crash repository use
// private_key_jwt, so no sealed value has to be opened and no keys are needed. The head to apply
// is named, as an operator accepts a rewritten history.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { GitSource } from '../../controller/git/source.ts';
import { openStore } from '../../controller/store/open.ts';
import { Reconciler } from '../../controller/reconcile/reconciler.ts';

const [repo, branch, dataDir, accept] = process.argv.slice(2) as [string, string, string, string];
const store = openStore(dataDir);
const marker = (text: string) => process.stdout.write(`${text}\n`);
const reconciler = new Reconciler({
  config: store.config,
  sync: store.sync,
  source: new GitSource({ repo, branch, cacheDir: join(dataDir, 'git') }),
  opener: { unseal: () => Promise.reject(new Error('the crash repository has no sealed values')) },
  secretHashKey: randomBytes(32),
  // The parent switches between two unrelated histories: each switch is a rewrite it accepts.
  acceptHistoryRewrite: accept,
  log: {
    info: (_details, message) => marker(message.split(' ')[0]!),
    warn: () => {},
    error: (details, message) => process.stderr.write(`${message} ${JSON.stringify(details)}\n`),
  },
});
marker('ready');
const run = await reconciler.reconcile('crash-test');
await store.close();
marker(`done ${JSON.stringify(run)}`);
