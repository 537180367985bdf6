// The story with the controller in it: `mergekey serve` follows the stand-in's bare repository,
// applies what publishers merge, and confirms each merged request on its pull request; `app show
// --server` tells the developer whether the controller serves the request yet.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveServeConfig } from '../../controller/config/defaults.ts';
import { APPLIED_CONTEXT } from '../../controller/confirm/index.ts';
import { loadOrCreateKeys } from '../../controller/sealing/keys.ts';
import { startServer, type RunningServer } from '../../controller/server/start.ts';
import { acquireControllerLock } from '../../controller/store/lock.ts';
import { create } from '../commands/app/create.ts';
import { deactivate } from '../commands/app/deactivate.ts';
import { show } from '../commands/app/show.ts';
import { approve } from '../commands/review/approve.ts';
import { createWorld, PEOPLE, type World } from './testing.ts';

let world: World;
let server: RunningServer;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mergekey-serve-story-'));
  const data = join(dir, 'data');
  // The controller's keys exist first; the repository records its public sealing key.
  const { sealingPublicJwk } = await loadOrCreateKeys(data, { create: true });
  world = await createWorld(undefined, { sealingKey: sealingPublicJwk });
  const tokenFile = join(dir, 'github-token');
  await writeFile(tokenFile, `${PEOPLE.pat.token}\n`, { mode: 0o600 });
  const config = resolveServeConfig(
    {
      repo: world.repo.bareDir,
      data,
      port: '0',
      poll: '0',
      'log-level': 'silent',
      'github-token-file': tokenFile,
      'github-repo': 'acme/manifests',
      'github-api-url': world.standIn.url,
    },
    {},
  );
  server = await startServer(config, { acquireLock: acquireControllerLock, openKeys: loadOrCreateKeys });
  await server.initialSync;
});

afterAll(async () => {
  await server?.close();
  await world?.close();
  await rm(dir, { recursive: true, force: true });
});

/** What a push webhook does: the controller reconciles now. */
async function sync(): Promise<void> {
  const response = await fetch(`${server.url}/api/v1/sync?wait=true`, { method: 'POST' });
  expect(response.status).toBe(200);
}

/** The confirmation runs beside the reconciler; wait (a bounded number of looks) until it posted. */
async function appliedStatus(commit: string): Promise<string | undefined> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const status = (await world.github('pat').listCommitStatuses(commit)).find((candidate) => candidate.context === APPLIED_CONTEXT);
    if (status !== undefined) return status.state;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return undefined;
}

describe('the controller follows what publishers merge', () => {
  let clientId: string;

  it('a create request is not served before it is approved, and is confirmed once it is', async () => {
    const created = await create({ ...world.as('alice'), name: 'billing', description: 'Bills customers.' });
    clientId = created.clientId;
    await sync();
    const before = await show({ ...world.as('alice'), name: 'billing', server: server.url });
    expect(before.controller).toMatchObject({ serving: false, message: 'not served: no request about it has been merged yet' });

    const approved = await approve({ ...world.as('pat'), number: created.number });
    await sync();
    expect(await appliedStatus(approved.mergeCommit)).toBe('success');
    const comments = await world.github('pat').listComments(created.number);
    expect(comments.map((comment) => comment.body).join('\n')).toContain(`**live**: client id \`${clientId}\` — \`billing\` is registered and active`);

    const after = await show({ ...world.as('alice'), name: 'billing', server: server.url });
    expect(after.controller).toMatchObject({ serving: true, appliedCommit: approved.mergeCommit });
    expect(after.controller?.message).toBe(`applied: request #${created.number} is live since ${after.controller?.appliedAt}`);
  });

  it('a merged deactivation the controller has not synced yet is "not yet"; after the sync it is confirmed', async () => {
    const opened = await deactivate({ ...world.as('alice'), name: 'billing' });
    const approved = await approve({ ...world.as('pat'), number: opened.number });
    const pending = await show({ ...world.as('alice'), name: 'billing', server: server.url });
    expect(pending.controller?.serving).toBe(false);
    expect(pending.controller?.message).toMatch(/^not yet: request #\d+ \(merged as [0-9a-f]{12}\) is newer than what the controller applied$/);

    await sync();
    expect(await appliedStatus(approved.mergeCommit)).toBe('success');
    const comments = await world.github('pat').listComments(opened.number);
    expect(comments.map((comment) => comment.body).join('\n')).toContain(`**live**: client id \`${clientId}\` — \`billing\` is inactive`);
  });
});
