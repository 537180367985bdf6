// `mergekey quickstart` (`npm start`): the whole product on this machine in one command, approval
// loop included. The first run creates, under `./.mergekey/quickstart/` (git-ignored):
//   data/           the controller's data directory, its keys made first;
//   manifests.git   a bare git repository of examples/manifests, with mergekey.yaml naming this
//                   controller's public sealing key and every client secret and password freshly
//                   generated and sealed to it (private_key_jwt apps get a fresh key pair);
//   people/NAME/    a clone of it for each demo person with a githubLogin (alice, bob, carol), set
//                   up so that `mergekey app …` and `mergekey review …` run there reach the local
//                   forge as that person (controller/github/local-forge.ts);
//   demo.json       the demo secrets, passwords, forge tokens and private keys in clear (mode 0600:
//                   demo data, never committed) — written last, so its presence means the setup is
//                   complete;
//   credentials.json  the same client secrets in the CLI's credentials format, for
//                   `MERGEKEY_CREDENTIALS=… mergekey token get APP`.
// Then it starts the local forge (forge/: GitHub's REST API as Mergekey uses it, for trying Mergekey
// and for tests, never GitHub) on a loopback port of its own, serving manifests.git as
// demo/manifests with one account per person and one for the portal, and serves the repository
// (`mergekey serve`, polling it every 2 s) with the forge as its pull requests' home, so the portal
// can open and decide requests. While it runs, forge.json names the forge's URL and tokens for the
// clones; it is removed on stop. forge-state.json keeps the forge's pull requests, comments and
// labels between runs. It prints the issuer, a demo client, a curl line that gets a token, and how
// to walk the approval loop in the portal and with the CLI. Later runs reuse all of it, requests
// included.
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { simpleGit } from 'simple-git';
import { parseDocument, type Document, type Scalar } from 'yaml';
import { FORGE_FILE_KEY, FORGE_LOGIN_KEY, type LocalForgeFile } from '../../controller/github/local-forge.ts';
import { validateRepository } from '../../controller/manifests/index.ts';
import { generateClientSecret } from '../../controller/sealing/generate.ts';
import { loadOrCreateKeys } from '../../controller/sealing/keys.ts';
import { PRIVATE_DIR_MODE, replacePrivateFile } from '../../controller/sealing/private-files.ts';
import { seal, type SealingPublicJwk } from '../../controller/sealing/seal.ts';
import { defineCommand } from '../command.ts';
import { saveCredential } from '../credentials.ts';
import { failure, usageError } from '../errors.ts';
import { readRepositoryFiles } from '../read-repository.ts';
import { serveConfig, serveDependencies, start, stopServing, untilSignal } from './serve.ts';
import { DEFAULT_ADMIN, DEFAULT_SERVER } from './status.ts';
import { startGitHubStandIn, type GitHubStandIn } from '../../forge/server.ts';

export const DEFAULT_QUICKSTART_DIR = '.mergekey/quickstart';
export const DEFAULT_QUICKSTART_PORT = 8080;
const EXAMPLES = fileURLToPath(new URL('../../examples/manifests/', import.meta.url));
const SCHEMAS = fileURLToPath(new URL('../../schemas/', import.meta.url));
/** The demo client the banner shows: a back-office service using client_credentials. */
export const DEMO_APP = 'order-sync';
/** 2: the local forge, its accounts and the people's clones. An older setup is made again. */
const DEMO_VERSION = 2;
/** The repository as the local forge names it. */
export const FORGE_OWNER = 'demo';
export const FORGE_REPO = 'manifests';
/** The portal's own account on the local forge: it opens and decides requests for people signed in. */
export const PORTAL_LOGIN = 'mergekey-portal';

export interface DemoPerson {
  /** Their login on the local forge: the githubLogin of their User manifest. */
  login: string;
  token: string;
  /**
   * Developers may push branches and open pull requests (write); publishers may also merge
   * (maintain). Merging into main is a push to it, which branch protection allows only to the
   * publishers and the portal's account (startLocalForge), so a developer's write role does not
   * let them merge their own request.
   */
  permission: 'write' | 'maintain';
}

export interface DemoSecrets {
  version: typeof DEMO_VERSION;
  /** Application name → its client id and secrets (or private key, for private_key_jwt). */
  applications: Record<string, { clientId: string; clientSecrets?: string[]; privateJwk?: JWK }>;
  /** User name → password. */
  users: Record<string, string>;
  /** User name → their account on the local forge, for each User manifest with a githubLogin. */
  people: Record<string, DemoPerson>;
  /** The portal's token on the local forge. */
  portalToken: string;
}

export interface QuickstartOptions {
  /** Where everything lives; default `.mergekey/quickstart` under the current directory. */
  dir: string;
  port: number;
  /** The manifests to start from; default examples/manifests. */
  examples?: string;
  env?: NodeJS.ProcessEnv;
}

export interface QuickstartSetup {
  dir: string;
  /** The bare repository the local forge serves and the controller follows. */
  repo: string;
  /** User name → that person's clone of the repository (people/NAME). */
  clones: Record<string, string>;
  data: string;
  issuer: string;
  /** False when an earlier run's setup was reused. */
  created: boolean;
  demo: DemoSecrets;
  credentialsFile: string;
  /** Where the running quickstart tells the clones how to reach the local forge. */
  forgeFile: string;
  client: { name: string; clientId: string; clientSecret: string; scope: string };
}

/** Creates the repository, the clones, keys and demo secrets on the first run; reuses them afterwards. */
export async function setupQuickstart(options: QuickstartOptions): Promise<QuickstartSetup> {
  const dir = resolve(options.dir);
  const repo = join(dir, 'manifests.git');
  const data = join(dir, 'data');
  const demoFile = join(dir, 'demo.json');
  const forgeFile = join(dir, 'forge.json');
  const issuer = `http://127.0.0.1:${options.port}`;
  let created = false;
  let demo = readDemo(demoFile);
  if (demo === undefined) {
    // A first run, an older layout, or an earlier run that stopped halfway (demo.json is written last): start over.
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
    const keys = await loadOrCreateKeys(data, { create: true });
    // Made where the clones will be, at the same depth, so the manifests' `$schema` paths hold there.
    const seed = join(dir, 'people', '.seed');
    demo = await writeRepository(options.examples ?? EXAMPLES, seed, keys.sealingPublicJwk, issuer);
    await commit(seed);
    await publish(seed, repo);
    rmSync(seed, { recursive: true, force: true });
    for (const [name, person] of Object.entries(demo.people)) await cloneFor(repo, join(dir, 'people', name), person, forgeFile);
    replacePrivateFile(demoFile, JSON.stringify(demo, null, 2) + '\n');
    created = true;
  }

  // Saved under this run's issuer, so a run on another port finds them too.
  const credentialsFile = join(dir, 'credentials.json');
  const createdAt = new Date().toISOString();
  for (const [name, app] of Object.entries(demo.applications)) {
    const secret = app.clientSecrets?.at(-1);
    saveCredential(credentialsFile, issuer, name, { clientId: app.clientId, ...(secret === undefined ? {} : { clientSecret: secret }), createdAt }, options.env);
  }
  const shown = demo.applications[DEMO_APP];
  if (shown?.clientSecrets === undefined) throw failure(`the quickstart's demo application ${DEMO_APP} has no client secret`);
  const manifest = parseDocument(await showFile(repo, `apps/${DEMO_APP}.yaml`)).toJS() as { spec: { scopes: string[] } };
  return {
    dir,
    repo,
    clones: Object.fromEntries(Object.keys(demo.people).map((name) => [name, join(dir, 'people', name)])),
    data,
    issuer,
    created,
    demo,
    credentialsFile,
    forgeFile,
    client: { name: DEMO_APP, clientId: shown.clientId, clientSecret: shown.clientSecrets.at(-1)!, scope: manifest.spec.scopes.join(' ') },
  };
}

function readDemo(file: string): DemoSecrets | undefined {
  if (!existsSync(file)) return undefined;
  const demo = JSON.parse(readFileSync(file, 'utf8')) as DemoSecrets;
  return demo.version === DEMO_VERSION ? demo : undefined;
}

/**
 * A token for the local forge: random, so that nothing outside the quickstart's folder can act on
 * the forge. It is not a boundary between the demo's people: they share one machine and one
 * forge.json holding every token, and a clone picks its token by its own `git config
 * mergekey.forgeLogin`, which anyone at the machine can change.
 */
function forgeToken(): string {
  return `mkf_${randomBytes(20).toString('base64url')}`;
}

/** Copies the examples, seals fresh demo secrets to `publicJwk`, and returns them in clear. */
async function writeRepository(examples: string, repo: string, publicJwk: SealingPublicJwk, issuer: string): Promise<DemoSecrets> {
  cpSync(examples, repo, { recursive: true });
  const demo: DemoSecrets = { version: DEMO_VERSION, applications: {}, users: {}, people: {}, portalToken: forgeToken() };
  await edit(repo, 'mergekey.yaml', async (doc) => {
    doc.setIn(['spec', 'issuer'], issuer);
    doc.setIn(['spec', 'sealingKey'], publicJwk);
    // Requests the portal opens and decides carry the person's name: believed from this account only.
    doc.setIn(['spec', 'portalGitHubLogin'], PORTAL_LOGIN);
  });
  for (const file of yamlFiles(repo, 'users')) {
    await edit(repo, file, async (doc) => {
      const name = nameOf(doc);
      const login = doc.getIn(['spec', 'githubLogin']);
      if (typeof login === 'string') {
        const roles = (doc.getIn(['spec', 'roles']) as { toJSON(): string[] } | undefined)?.toJSON() ?? [];
        demo.people[name] = { login, token: forgeToken(), permission: roles.includes('publisher') ? 'maintain' : 'write' };
      }
      if (!doc.hasIn(['spec', 'password'])) return;
      // Readable enough to type, 96 bits: demo passwords, not secrets worth more.
      const password = randomBytes(12).toString('base64url');
      demo.users[name] = password;
      doc.setIn(['spec', 'password', 'sealed'], plain(doc, await seal(publicJwk, { kind: 'User', name }, password)));
    });
  }
  for (const file of yamlFiles(repo, 'apps')) {
    await edit(repo, file, async (doc) => {
      const name = nameOf(doc);
      const entry: DemoSecrets['applications'][string] = { clientId: String(doc.getIn(['spec', 'clientId'])) };
      const secrets = doc.getIn(['spec', 'credentials', 'secrets']) as { items: unknown[] } | undefined;
      if (secrets !== undefined) {
        entry.clientSecrets = [];
        for (let i = 0; i < secrets.items.length; i++) {
          const secret = generateClientSecret();
          entry.clientSecrets.push(secret);
          doc.setIn(['spec', 'credentials', 'secrets', i, 'sealed'], plain(doc, await seal(publicJwk, { kind: 'Application', name }, secret)));
        }
      }
      if (doc.hasIn(['spec', 'credentials', 'jwks'])) {
        const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
        const jwk = await exportJWK(publicKey);
        const kid = await calculateJwkThumbprint(jwk);
        doc.setIn(['spec', 'credentials', 'jwks', 'keys'], [{ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, kid, use: 'sig', alg: 'ES256' }]);
        entry.privateJwk = { ...(await exportJWK(privateKey)), kid, alg: 'ES256' };
      }
      demo.applications[name] = entry;
    });
  }
  const { problems } = validateRepository(readRepositoryFiles(repo).files);
  if (problems.length > 0) {
    throw failure(`the quickstart repository does not validate: ${problems.map((p) => `${p.path}:${p.line}:${p.column}: ${p.message}`).join('; ')}`);
  }
  return demo;
}

// A user's global settings (a signing requirement, hooks) must not stop a demo commit.
const QUIET_GIT = ['commit.gpgsign=false', 'init.defaultBranch=main'];

async function commit(repo: string): Promise<void> {
  const git = simpleGit({ baseDir: repo, config: QUIET_GIT });
  await git.init(['--initial-branch=main']);
  await git.addConfig('user.name', 'Mergekey quickstart').addConfig('user.email', 'quickstart@mergekey.invalid');
  await git.add('.');
  await git.commit('Quickstart: the example manifests, sealed to this controller');
}

/** The bare repository the forge serves, holding the seed's main branch. */
async function publish(seed: string, bare: string): Promise<void> {
  await simpleGit({ config: QUIET_GIT }).raw(['init', '--bare', '--quiet', '--initial-branch=main', bare]);
  await simpleGit({ baseDir: seed, config: QUIET_GIT }).push(bare, 'main');
}

/** A person's clone: their name on commits, and the local forge as the place their requests go. */
async function cloneFor(bare: string, clone: string, person: DemoPerson, forgeFile: string): Promise<void> {
  await simpleGit({ config: QUIET_GIT }).clone(bare, clone, ['--quiet']);
  await simpleGit({ baseDir: clone })
    .addConfig('user.name', person.login)
    .addConfig('user.email', `${person.login}@mergekey.invalid`)
    .addConfig('commit.gpgsign', 'false')
    .addConfig(FORGE_FILE_KEY, forgeFile)
    .addConfig(FORGE_LOGIN_KEY, person.login);
}

/** A file on main of the bare repository. */
async function showFile(bare: string, path: string): Promise<string> {
  return simpleGit({ baseDir: bare }).show([`main:${path}`]);
}

function yamlFiles(repo: string, folder: string): string[] {
  return readdirSync(join(repo, folder)).filter((f) => f.endsWith('.yaml')).map((f) => `${folder}/${f}`);
}

async function edit(repo: string, file: string, change: (doc: Document) => Promise<void>): Promise<void> {
  const path = join(repo, file);
  const doc = parseDocument(readFileSync(path, 'utf8'));
  await change(doc);
  // Editors find the schemas of this checkout from the copy's new place.
  const schemas = relative(join(repo, file, '..'), SCHEMAS);
  const text = doc.toString({ lineWidth: 0, flowCollectionPadding: false }).replace(/\$schema=\S*schemas\//, `$schema=${schemas}/`);
  await writeFile(path, text);
}

/** A compact JWE needs no quotes; writing it plain keeps the manifests easy to read. */
function plain(doc: Document, value: string): Scalar {
  const node = doc.createNode(value);
  node.type = 'PLAIN';
  return node;
}

function nameOf(doc: Document): string {
  return String(doc.getIn(['metadata', 'name']));
}

/** What the quickstart prints once the server and the local forge are ready. */
export function banner(setup: QuickstartSetup, url: string, adminUrl: string, forgeUrl: string, cwd = process.cwd()): string {
  const { client, demo } = setup;
  const where = (path: string) => {
    const rel = relative(cwd, path);
    return rel.startsWith('..') ? path : rel;
  };
  const [developer, publisher] = [DEMO_DEVELOPER, DEMO_PUBLISHER].map((name) => ({ name, password: demo.users[name] ?? '(see demo.json)' }));
  const publishers = Object.entries(demo.people).filter(([, person]) => person.permission === 'maintain').map(([name]) => name);
  const server = url === DEFAULT_SERVER ? '' : `MERGEKEY_SERVER=${url} `;
  const credentials = resolve(setup.credentialsFile);
  return [
    '',
    `Mergekey is serving ${where(setup.repo)} ${setup.created ? '(created just now)' : '(from an earlier run)'}.`,
    '',
    `  issuer         ${setup.issuer}`,
    `  portal         ${url}/portal`,
    `  discovery      ${url}/.well-known/oauth-authorization-server`,
    `  demo client    ${client.name}: client_credentials, scopes ${client.scope}`,
    `  client_id      ${client.clientId}`,
    `  client_secret  ${client.clientSecret}`,
    `  local forge    ${forgeUrl} (${FORGE_OWNER}/${FORGE_REPO}: the pull requests; a local forge for trying Mergekey and for tests, not GitHub)`,
    `  operator       ${adminUrl} (health, readiness, metrics, status; this machine only)`,
    '',
    'Get a token:',
    '',
    `  curl -s -u '${client.clientId}:${client.clientSecret}' -d grant_type=client_credentials ${url}/oauth2/token`,
    '',
    'Try the approval loop in the portal:',
    '',
    `  1. sign in as ${developer.name} (password ${developer.password}) at ${url}/portal and add an application (New Application);`,
    `  2. in another browser (or a private window), sign in as ${publisher.name} (password ${publisher.password}), open Requests to review and approve it;`,
    `  3. as ${developer.name}, open the application and generate a token with the secret shown when you added it.`,
    '',
    `Or with the CLI from a second terminal, in the clones made for each person (publishers: ${publishers.join(', ')}):`,
    '',
    `  export MERGEKEY_CREDENTIALS=${credentials}`,
    `  (cd ${where(setup.clones[developer.name] ?? setup.dir)} && npx mergekey app create billing --description 'Bills customers monthly' --scopes orders:read)`,
    `  (cd ${where(setup.clones[publisher.name] ?? setup.dir)} && npx mergekey review list && npx mergekey review approve 1)`,
    `  ${server}npx mergekey token get billing     # once the merge is applied, within seconds`,
    '',
    'The demo client with the CLI, which finds the secret in the quickstart\'s credentials file:',
    '',
    `  MERGEKEY_CREDENTIALS=${where(setup.credentialsFile)} ${server}npx mergekey token get ${client.name}`,
    '',
    'The controller\'s status:',
    '',
    `  ${adminUrl === DEFAULT_ADMIN ? '' : `MERGEKEY_ADMIN_URL=${adminUrl} `}npx mergekey status`,
    '',
    `Every demo secret, password, forge token and private key: ${where(join(setup.dir, 'demo.json'))}.`,
    'Ctrl-C stops the server and the forge; running again reuses everything, requests included.',
    '',
  ].join('\n');
}

/** The people the banner walks through the loop: a developer asks, a publisher approves. */
export const DEMO_DEVELOPER = 'alice';
export const DEMO_PUBLISHER = 'bob';

export interface QuickstartRunOptions extends QuickstartOptions {
  print?: (text: string) => void;
}

/** The local forge: the bare repository as demo/manifests, an account per demo person and one for the portal. */
export async function startLocalForge(setup: QuickstartSetup): Promise<GitHubStandIn> {
  const people = Object.values(setup.demo.people);
  return startGitHubStandIn({
    // It runs as long as the quickstart does: keeping every request for tests to read would only grow.
    recordRequests: false,
    // Requests outlive a restart, as on a real forge.
    stateFile: join(setup.dir, 'forge-state.json'),
    users: [...people.map(({ login, token }) => ({ login, token })), { login: PORTAL_LOGIN, token: setup.demo.portalToken, name: 'Mergekey portal' }],
    repositories: [
      {
        owner: FORGE_OWNER,
        name: FORGE_REPO,
        bareDir: setup.repo,
        permissions: { ...Object.fromEntries(people.map((person) => [person.login, person.permission])), [PORTAL_LOGIN]: 'maintain' },
        // A publisher's approval is the merge: the portal's account opens and merges its own
        // pull requests, and may not approve them (GitHub's rule, which the forge keeps).
        requiredApprovingReviews: 0,
        // So only publishers (with `mergekey review approve`) and the portal (for a publisher who
        // approved in it) merge into main; developers, who need write to push request branches
        // and open pull requests, are refused the merge as GitHub refuses a push to a protected branch.
        branchProtection: { main: { restrictions: { users: [...mergers(setup.demo), PORTAL_LOGIN], teams: [] } } },
        mergeMethods: ['merge'],
      },
    ],
  });
}

/** The publishers' logins on the local forge. */
function mergers(demo: DemoSecrets): string[] {
  return Object.values(demo.people).filter((person) => person.permission === 'maintain').map((person) => person.login);
}

/** Tells the people's clones where the running forge is (controller/github/local-forge.ts). */
function writeForgeFile(setup: QuickstartSetup, forgeUrl: string): void {
  const content: LocalForgeFile = {
    version: 1,
    url: forgeUrl,
    owner: FORGE_OWNER,
    repo: FORGE_REPO,
    tokens: Object.fromEntries(Object.values(setup.demo.people).map((person) => [person.login, person.token])),
  };
  replacePrivateFile(setup.forgeFile, JSON.stringify(content, null, 2) + '\n');
}

/** Sets up (or reuses), serves with the local forge until SIGTERM or SIGINT, then stops both gracefully. */
export async function quickstart(options: QuickstartRunOptions): Promise<{ url: string; signal: string }> {
  const env = options.env ?? process.env;
  const setup = await setupQuickstart(options);
  const forge = await startLocalForge(setup).catch((error: unknown) => {
    throw failure(`cannot start the local forge: ${(error as Error).message}`, { cause: error });
  });
  // Only the run that wrote forge.json removes it: a second `npm start` on the same folder, refused
  // by the controller's lock, must not cut the first one's clones off its forge.
  let forgeFileWritten = false;
  try {
    const portalTokenFile = join(setup.dir, 'portal-forge-token');
    replacePrivateFile(portalTokenFile, `${setup.demo.portalToken}\n`);
    const config = serveConfig(
      {
        repo: setup.repo,
        data: setup.data,
        port: String(options.port),
        issuer: setup.issuer,
        poll: '2s',
        'admin-port': quickstartAdminPort(options.port, env),
        'github-token-file': portalTokenFile,
        'github-repo': `${FORGE_OWNER}/${FORGE_REPO}`,
        'github-api-url': forge.url,
        // The banner is the quickstart's output; set MERGEKEY_LOG_LEVEL to see the logs too.
        'log-level': env.MERGEKEY_LOG_LEVEL || 'warn',
      },
      env,
    );
    const server = await start(config, await serveDependencies());
    writeForgeFile(setup, forge.url);
    forgeFileWritten = true;
    // The curl line should work the moment it is shown.
    await server.initialSync;
    (options.print ?? ((text) => void process.stdout.write(text)))(banner(setup, server.url, server.adminUrl, forge.url));
    const signal = await untilSignal();
    await stopServing(server, signal);
    return { url: server.url, signal };
  } finally {
    if (forgeFileWritten) rmSync(setup.forgeFile, { force: true });
    await forge.close();
  }
}

/**
 * The operator listener's port: MERGEKEY_ADMIN_PORT, else serve's default (9000), else 9001 when
 * the quickstart itself was put on 9000 (`PORT=9000 npm start` must still start).
 */
export function quickstartAdminPort(port: number, env: NodeJS.ProcessEnv): string {
  if (env.MERGEKEY_ADMIN_PORT) return env.MERGEKEY_ADMIN_PORT;
  const fallback = new URL(DEFAULT_ADMIN).port;
  return String(port) === fallback ? String(port + 1) : fallback;
}

/** --port, else $PORT, else 8080. */
export function quickstartPort(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): number {
  const raw = flag ?? (env.PORT || String(DEFAULT_QUICKSTART_PORT));
  const port = /^\d{1,5}$/.test(raw) ? Number(raw) : NaN;
  if (!(port >= 1 && port <= 65535)) throw usageError(`${flag === undefined ? 'PORT' : '--port'}: expected a port number from 1 to 65535, got '${raw}'`);
  return port;
}

export const command = defineCommand({
  summary: 'Try Mergekey locally: a sealed demo repository, a local forge, a running server and portal (npm start).',
  description:
    `On the first run, creates under ${DEFAULT_QUICKSTART_DIR}/ a git repository of the example manifests ` +
    "with fresh demo secrets sealed to this controller's own key, a clone of it for each demo person " +
    "(people/NAME), and the controller's data directory. Then starts the local forge (a GitHub-compatible " +
    'server for trying Mergekey and for tests, on a loopback port of its own) to hold the requests, and ' +
    'serves the repository (polling every 2 s) with the portal, and prints the issuer, a demo client, a ' +
    'curl line that gets a token, and how to ask for an application and approve it in the portal or with ' +
    'the CLI from the clones. Later runs reuse everything, requests included, and print the same ' +
    `credentials. The demo secrets are kept in ${DEFAULT_QUICKSTART_DIR}/demo.json (mode 0600). ` +
    'Ctrl-C stops the server and the forge.',
  arguments: [],
  options: {
    dir: { type: 'string', valueName: 'DIR', default: DEFAULT_QUICKSTART_DIR, description: 'Where the repository, data and demo secrets live.' },
    port: { type: 'string', valueName: 'N', description: `The port to serve on (env PORT; default ${DEFAULT_QUICKSTART_PORT}).` },
  },
  examples: ['npm start', 'mergekey quickstart --port 9000'],
  run: (input) => quickstart({ dir: input.dir, port: quickstartPort(input.port) }),
  render: () => '',
});
