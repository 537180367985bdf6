// bench:requests — what the request commands cost against the GitHub stand-in (loopback HTTP, real
// git): `app list` over many requests (and how many API calls it makes), `app create` end to end,
// and `check` on a repository of many applications. `npx tsx bench/requests.ts [REQUESTS] [APPS]`.
import { performance } from 'node:perf_hooks';
import { list } from '../cli/commands/app/list.ts';
import { create } from '../cli/commands/app/create.ts';
import { check } from '../cli/commands/check.ts';
import { Clone } from '../controller/requests/git.ts';
import { appYaml, createWorld } from '../test/support/requests-world.ts';

const REQUESTS = Number(process.argv[2] ?? 300);
const APPS = Number(process.argv[3] ?? 1000);

async function timed<T>(what: string, work: () => Promise<T>): Promise<T> {
  const start = performance.now();
  const result = await work();
  console.log(`${what}: ${(performance.now() - start).toFixed(0)} ms`);
  return result;
}

const world = await createWorld(async (key) => {
  const files: Record<string, string> = {};
  for (let i = 0; i < APPS; i += 1) {
    const name = `app-${String(i).padStart(5, '0')}`;
    files[`apps/${name}.yaml`] = await appYaml(key, name);
  }
  return files;
});
try {
  const clone = await Clone.open(world.repo.workDir);
  const main = await clone.fetchBranch('main');
  console.log(`repository: ${APPS} applications; ${REQUESTS} requests (a third open, a third rejected, a third cancelled)`);

  // Request branches made with plumbing and pushed in one go; pull requests opened over HTTP.
  const alice = world.github('alice');
  const pat = world.github('pat');
  const refspecs: string[] = [];
  for (let i = 0; i < REQUESTS; i += 1) {
    const name = `req-${String(i).padStart(5, '0')}`;
    const commit = await clone.commitFile(main, `apps/${name}.yaml`, await appYaml(world.key, name), `Create ${name}`);
    refspecs.push(`${commit}:refs/heads/mergekey/create-${name}-${String(i).padStart(6, '0')}`);
  }
  await clone.run(['push', '--quiet', 'origin', ...refspecs]);
  for (let i = 0; i < REQUESTS; i += 1) {
    const branch = refspecs[i]!.split(':refs/heads/')[1]!;
    const pull = await alice.openPullRequest({ head: branch, base: 'main', title: branch, body: '', labels: ['mergekey:create'] });
    if (i % 3 === 1) await pat.closePullRequest(pull.number);
    if (i % 3 === 2) await alice.closePullRequest(pull.number);
  }

  const before = world.standIn.requests.length;
  const listed = await timed(`app list (${REQUESTS} requests)`, () => list(world.as('alice')));
  console.log(`  ${world.standIn.requests.length - before} GitHub API calls; ${listed.apps.length} applications listed`);

  const created = await timed('app create (fetch, rules, seal, commit, push, open, label)', () => create({ ...world.as('bob'), name: 'newcomer', description: 'Measured.' }));
  await timed(`check of that request (${APPS} applications read from git objects and validated)`, () =>
    check({ cwd: world.repo.workDir, env: {}, base: 'refs/remotes/origin/main', head: created.commit }),
  );
} finally {
  await world.close();
}
