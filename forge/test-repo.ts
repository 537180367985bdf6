// Test support: a bare repository in a temp dir, seeded from an object literal, and a clone of it
// to make branches from, as a developer's CLI would. Everything is real git.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';

export interface TestRepository {
  /** The bare repository the stand-in serves (and a controller would follow). */
  bareDir: string;
  /** A clone with `origin` = bareDir. */
  workDir: string;
  git: SimpleGit;
  /** Commits `files` (path → content, null deletes) on a new branch from origin/main and pushes it. */
  pushBranch(branch: string, files: Record<string, string | null>, message?: string, from?: string): Promise<string>;
  /** The commit `ref` points to in the bare repository. */
  revParse(ref: string): Promise<string>;
  /** A file's content at `ref` in the bare repository. */
  show(ref: string, path: string): Promise<string>;
  /** `git log -1 --format=<format> <ref>` in the bare repository. */
  log(ref: string, format: string): Promise<string>;
  cleanup(): Promise<void>;
}

// As `-c` options on every command rather than `git config`: fewer processes per repository.
const IDENTITY = ['user.name=Dev Eloper', 'user.email=dev@example.com', 'commit.gpgsign=false', 'init.defaultBranch=main'];

async function writeFiles(root: string, files: Record<string, string | null>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    const target = join(root, path);
    if (content === null) {
      await rm(target, { force: true });
    } else {
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, content);
    }
  }
}

export async function createTestRepository(files: Record<string, string>): Promise<TestRepository> {
  const root = await mkdtemp(join(tmpdir(), 'mergekey-gh-'));
  const bareDir = join(root, 'manifests.git');
  const workDir = join(root, 'clone');
  await simpleGit({ config: IDENTITY }).raw(['init', '--bare', '--quiet', '--initial-branch=main', bareDir]);
  await simpleGit({ config: IDENTITY }).raw(['init', '--quiet', '--initial-branch=main', workDir]);
  const git = simpleGit({ baseDir: workDir, config: IDENTITY });
  await git.addRemote('origin', bareDir);
  await writeFiles(workDir, files);
  await git.add('-A');
  await git.commit('Seed the manifests repository');
  await git.push('origin', 'main');
  const bare = simpleGit({ baseDir: bareDir, config: IDENTITY });

  return {
    bareDir,
    workDir,
    git,
    async pushBranch(branch, changes, message = `Change on ${branch}`, from = 'origin/main') {
      await git.fetch('origin');
      await git.raw(['checkout', '--quiet', '-B', branch, from]);
      await writeFiles(workDir, changes);
      await git.add('-A');
      await git.commit(message);
      await git.push('origin', branch, ['--force']);
      return (await git.revparse(['HEAD'])).trim();
    },
    async revParse(ref) {
      return (await bare.revparse([ref])).trim();
    },
    async show(ref, path) {
      return bare.show([`${ref}:${path}`]);
    },
    async log(ref, format) {
      return (await bare.raw(['log', '-1', `--format=${format}`, ref])).trim();
    },
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}
