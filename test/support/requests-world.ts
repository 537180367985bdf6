// Test support for the request commands: a manifests repository in a real bare repo, the GitHub
// stand-in serving it, and a developer's clone, with one token per person. Everything is real:
// git pushes, pull requests over HTTP through Octokit, merges into the bare repository.
import { dirname, join } from 'node:path';
import { simpleGit } from 'simple-git';
import { createGitHubClient, type RequestsBackend } from '../../controller/github/index.ts';
import { Clone } from '../../controller/requests/git.ts';
import { createTestRepository, startGitHubStandIn, type GitHubStandIn, type TestRepository } from '../../forge/index.ts';
import { INVOICES_API_YAML, makeSealingKey, settingsYaml, userYaml, type SealingKey } from './manifests/repo.ts';
import type { SessionOptions } from '../../controller/requests/session.ts';

export const OWNER = 'acme';
export const REPO = 'manifests';

/** Who is who: developers alice and bob, publisher pat. */
export const PEOPLE = {
  alice: { login: 'alice', token: 'tok-alice', name: 'Alice Developer' },
  bob: { login: 'bob', token: 'tok-bob', name: 'Bob Developer' },
  pat: { login: 'pat', token: 'tok-pat', name: 'Pat Publisher' },
} as const;

export type Person = keyof typeof PEOPLE;

export interface World {
  repo: TestRepository;
  standIn: GitHubStandIn;
  key: SealingKey;
  /** Options for a command run by `person` in the developer's clone. */
  as(person: Person, extra?: Partial<SessionOptions>): SessionOptions & { env: NodeJS.ProcessEnv; cwd: string };
  /** The GitHub client as `person`, for arranging and asserting. */
  github(person: Person): RequestsBackend;
  /** Sets the stand-in's clock. */
  setClock(ms: number): void;
  /** The developers' credentials file (MERGEKEY_CREDENTIALS in `as`). */
  credentialsFile: string;
  /**
   * Opens a pull request by hand, as someone would in GitHub's web interface: `changes` (path →
   * content, null deletes) committed on `branch` from main, without touching the clone's checkout.
   */
  handmade(person: Person, branch: string, changes: Record<string, string | null>, pr?: { title?: string; body?: string; labels?: string[] }): Promise<{ number: number; headSha: string }>;
  /** Branch names on origin (the bare repository). */
  remoteBranches(): Promise<string[]>;
  /** The clone's HEAD, local branches and work tree status: what requests must leave as they were. */
  checkout(): Promise<{ head: string; branches: string; status: string }>;
  close(): Promise<void>;
}

/** The public sealing key mergekey.yaml records: the world's own, or a real controller's. */
interface PublicSealingKey {
  x: string;
  kid: string;
}

export async function manifestFiles(key: PublicSealingKey): Promise<Record<string, string>> {
  return {
    'mergekey.yaml': settingsYaml(key),
    'plans/standard.yaml': planYaml('standard'),
    'plans/gold.yaml': planYaml('gold'),
    'apis/invoices.yaml': INVOICES_API_YAML,
    'users/alice.yaml': userYaml('alice', 'alice', ['developer']),
    'users/bob.yaml': userYaml('bob', 'bob', ['developer']),
    'users/pat.yaml': userYaml('pat', 'pat', ['publisher']),
    'apps/.gitkeep': '',
    'README.md': '# manifests\n',
  };
}

function planYaml(name: string): string {
  return `apiVersion: mergekey/v1
kind: Plan
metadata:
  name: ${name}
spec:
  description: The ${name} plan.
  accessTokenTtl: 15m
  refreshTokenTtl: 30d
  tokenRequestsPerMinute: 600
`;
}

/** An application manifest as it would be on main, sealed to `key`. */
export async function appYaml(key: SealingKey, name: string, spec: { state?: 'active' | 'inactive'; owner?: string; clientId?: string; description?: string } = {}): Promise<string> {
  return `# yaml-language-server: $schema=../.mergekey/schemas/application.schema.json
# Kept by hand: this comment must survive edits.
apiVersion: mergekey/v1
kind: Application
metadata:
  name: ${name}
spec:
  description: ${spec.description ?? `The ${name} service.`}
  owners: [${spec.owner ?? 'alice'}]
  clientId: ${spec.clientId ?? `mk-${name}-0001`}
  state: ${spec.state ?? 'active'}
  scopes: [open]
  grantTypes: [client_credentials]
  tokenEndpointAuthMethod: client_secret_basic
  credentials:
    secrets:
      - sealed: ${await key.seal(`Application/${name}`)}
`;
}

export interface WorldOptions {
  /** Seal to this key instead of a throwaway one: a real controller's, so that it can open them. */
  sealingKey?: PublicSealingKey;
}

export async function createWorld(
  extraFiles: (key: SealingKey) => Promise<Record<string, string>> = async () => ({}),
  options: WorldOptions = {},
): Promise<World> {
  const key = await makeSealingKey();
  const recorded = options.sealingKey ?? { x: String(key.publicJwk.x), kid: key.kid };
  const repo = await createTestRepository({ ...(await manifestFiles(recorded)), ...(await extraFiles(key)) });
  // The developer's identity, as their clone would have it; commits are made by git itself.
  await repo.git.addConfig('user.name', 'Dev Eloper').addConfig('user.email', 'dev@example.com').addConfig('commit.gpgsign', 'false');
  let clock = Date.parse('2025-03-01T10:00:00Z');
  const standIn = await startGitHubStandIn({
    now: () => clock,
    users: Object.values(PEOPLE),
    repositories: [
      {
        owner: OWNER,
        name: REPO,
        bareDir: repo.bareDir,
        permissions: { alice: 'write', bob: 'write', pat: 'maintain' },
        requiredApprovingReviews: 1,
        mergeMethods: ['merge'],
      },
    ],
  });
  const credentialsFile = join(dirname(repo.bareDir), 'config', 'credentials.json');
  const github = (person: Person) =>
    createGitHubClient({ baseUrl: standIn.url, host: '127.0.0.1', owner: OWNER, repo: REPO, token: PEOPLE[person].token });
  const env = (person: Person): NodeJS.ProcessEnv => ({
    ...process.env,
    GITHUB_TOKEN: PEOPLE[person].token,
    GITHUB_API_URL: standIn.url,
    MERGEKEY_CREDENTIALS: credentialsFile,
  });
  return {
    repo,
    standIn,
    key,
    credentialsFile,
    as: (person, extra = {}) => ({ cwd: repo.workDir, env: env(person), githubRepo: `${OWNER}/${REPO}`, ...extra }),
    github,
    async handmade(person, branch, changes, pr = {}) {
      const clone = await Clone.open(repo.workDir);
      const main = await clone.fetchBranch('main');
      const title = pr.title ?? `Change on ${branch}`;
      const commit = await clone.commitFiles(main, changes, title);
      await clone.pushNewBranch(commit, branch);
      const pull = await github(person).openPullRequest({ head: branch, base: 'main', title, body: pr.body ?? '', ...(pr.labels === undefined ? {} : { labels: pr.labels }) });
      return { number: pull.number, headSha: commit };
    },
    async remoteBranches() {
      const output = await simpleGit().raw(['ls-remote', '--heads', repo.bareDir]);
      return output.split('\n').filter((line) => line !== '').map((line) => line.split('\trefs/heads/')[1]!).sort();
    },
    async checkout() {
      const git = simpleGit(repo.workDir);
      return {
        head: (await git.raw(['rev-parse', 'HEAD'])).trim(),
        branches: await git.raw(['for-each-ref', '--format=%(refname) %(objectname)', 'refs/heads']),
        status: await git.raw(['status', '--porcelain']),
      };
    },
    setClock(ms) {
      clock = ms;
    },
    async close() {
      await standIn.close();
      await repo.cleanup();
    },
  };
}
