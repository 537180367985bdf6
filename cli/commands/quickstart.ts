// `mergekey quickstart` (`npm start`): the whole product on this machine in one command. The first
// run creates, under `./.mergekey/quickstart/` (git-ignored):
//   data/        the controller's data directory, its keys made first;
//   manifests/   a git repository of examples/manifests, with mergekey.yaml naming this
//                controller's public sealing key and every client secret and password freshly
//                generated and sealed to it (private_key_jwt apps get a fresh key pair);
//   demo.json    the demo secrets, passwords and private keys in clear (mode 0600: demo data,
//                never committed) — written last, so its presence means the setup is complete;
//   credentials.json  the same client secrets in the CLI's credentials format, for
//                `MERGEKEY_CREDENTIALS=… mergekey token get APP`.
// Then it serves the repository (`mergekey serve`, polling it every 2 s, so a commit there shows
// within seconds) and prints the issuer, a demo client, a curl line that gets a token and the
// operator listener `mergekey status` asks. Later runs reuse all of it and print the same
// credentials.
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { simpleGit } from 'simple-git';
import { parseDocument, type Document, type Scalar } from 'yaml';
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
import { DEFAULT_ADMIN } from './status.ts';

export const DEFAULT_QUICKSTART_DIR = '.mergekey/quickstart';
export const DEFAULT_QUICKSTART_PORT = 8080;
const EXAMPLES = fileURLToPath(new URL('../../examples/manifests/', import.meta.url));
const SCHEMAS = fileURLToPath(new URL('../../schemas/', import.meta.url));
/** The demo client the banner shows: a back-office service using client_credentials. */
export const DEMO_APP = 'order-sync';
const DEMO_VERSION = 1;

export interface DemoSecrets {
  version: typeof DEMO_VERSION;
  /** Application name → its client id and secrets (or private key, for private_key_jwt). */
  applications: Record<string, { clientId: string; clientSecrets?: string[]; privateJwk?: JWK }>;
  /** User name → password. */
  users: Record<string, string>;
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
  repo: string;
  data: string;
  issuer: string;
  /** False when an earlier run's setup was reused. */
  created: boolean;
  demo: DemoSecrets;
  credentialsFile: string;
  client: { name: string; clientId: string; clientSecret: string; scope: string };
}

/** Creates the repository, keys and demo secrets on the first run; reuses them afterwards. */
export async function setupQuickstart(options: QuickstartOptions): Promise<QuickstartSetup> {
  const dir = resolve(options.dir);
  const repo = join(dir, 'manifests');
  const data = join(dir, 'data');
  const demoFile = join(dir, 'demo.json');
  const issuer = `http://127.0.0.1:${options.port}`;
  let created = false;
  let demo = readDemo(demoFile);
  if (demo === undefined) {
    // An earlier run stopped halfway (demo.json is written last): start over.
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
    const keys = await loadOrCreateKeys(data, { create: true });
    demo = await writeRepository(options.examples ?? EXAMPLES, repo, keys.sealingPublicJwk, issuer);
    await commit(repo);
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
  const manifest = parseDocument(readFileSync(join(repo, 'apps', `${DEMO_APP}.yaml`), 'utf8')).toJS() as { spec: { scopes: string[] } };
  return {
    dir,
    repo,
    data,
    issuer,
    created,
    demo,
    credentialsFile,
    client: { name: DEMO_APP, clientId: shown.clientId, clientSecret: shown.clientSecrets.at(-1)!, scope: manifest.spec.scopes.join(' ') },
  };
}

function readDemo(file: string): DemoSecrets | undefined {
  if (!existsSync(file)) return undefined;
  const demo = JSON.parse(readFileSync(file, 'utf8')) as DemoSecrets;
  return demo.version === DEMO_VERSION ? demo : undefined;
}

/** Copies the examples, seals fresh demo secrets to `publicJwk`, and returns them in clear. */
async function writeRepository(examples: string, repo: string, publicJwk: SealingPublicJwk, issuer: string): Promise<DemoSecrets> {
  cpSync(examples, repo, { recursive: true });
  const demo: DemoSecrets = { version: DEMO_VERSION, applications: {}, users: {} };
  await edit(repo, 'mergekey.yaml', async (doc) => {
    doc.setIn(['spec', 'issuer'], issuer);
    doc.setIn(['spec', 'sealingKey'], publicJwk);
  });
  for (const file of yamlFiles(repo, 'users')) {
    await edit(repo, file, async (doc) => {
      if (!doc.hasIn(['spec', 'password'])) return;
      const name = nameOf(doc);
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

async function commit(repo: string): Promise<void> {
  const git = simpleGit({ baseDir: repo });
  await git.init(['--initial-branch=main']);
  // A user's global settings (a signing requirement, hooks) must not stop a demo commit.
  await git.addConfig('user.name', 'Mergekey quickstart').addConfig('user.email', 'quickstart@mergekey.invalid').addConfig('commit.gpgsign', 'false');
  await git.add('.');
  await git.commit('Quickstart: the example manifests, sealed to this controller');
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

/** What the quickstart prints once the server is ready. */
export function banner(setup: QuickstartSetup, url: string, adminUrl: string, cwd = process.cwd()): string {
  const { client } = setup;
  const where = (path: string) => {
    const rel = relative(cwd, path);
    return rel.startsWith('..') ? path : rel;
  };
  return [
    '',
    `Mergekey is serving ${where(setup.repo)} ${setup.created ? '(created just now)' : '(from an earlier run)'}.`,
    '',
    `  issuer         ${setup.issuer}`,
    `  discovery      ${url}/.well-known/oauth-authorization-server`,
    `  demo client    ${client.name}: client_credentials, scopes ${client.scope}`,
    `  client_id      ${client.clientId}`,
    `  client_secret  ${client.clientSecret}`,
    `  operator       ${adminUrl} (health, readiness, metrics, status; this machine only)`,
    '',
    'Get a token:',
    '',
    `  curl -s -u '${client.clientId}:${client.clientSecret}' -d grant_type=client_credentials ${url}/oauth2/token`,
    '',
    'Or with the CLI, which finds the secret in the quickstart\'s credentials file:',
    '',
    `  MERGEKEY_CREDENTIALS=${where(setup.credentialsFile)} MERGEKEY_SERVER=${url} npx mergekey token get ${client.name}`,
    '',
    'The controller\'s status:',
    '',
    `  ${adminUrl === DEFAULT_ADMIN ? '' : `MERGEKEY_ADMIN_URL=${adminUrl} `}npx mergekey status`,
    '',
    `Every demo secret, password and private key: ${where(join(setup.dir, 'demo.json'))}.`,
    `Edit a manifest in ${where(setup.repo)} and commit: the server applies it within seconds`,
    `(try state: inactive in apps/${client.name}.yaml). Ctrl-C stops the server; running again reuses everything.`,
    '',
  ].join('\n');
}

export interface QuickstartRunOptions extends QuickstartOptions {
  print?: (text: string) => void;
}

/** Sets up (or reuses), serves until SIGTERM or SIGINT, then stops gracefully. */
export async function quickstart(options: QuickstartRunOptions): Promise<{ url: string; signal: string }> {
  const env = options.env ?? process.env;
  const setup = await setupQuickstart(options);
  const config = serveConfig(
    {
      repo: setup.repo,
      data: setup.data,
      port: String(options.port),
      issuer: setup.issuer,
      poll: '2s',
      'admin-port': quickstartAdminPort(options.port, env),
      // The banner is the quickstart's output; set MERGEKEY_LOG_LEVEL to see the logs too.
      'log-level': env.MERGEKEY_LOG_LEVEL || 'warn',
    },
    env,
  );
  const server = await start(config, await serveDependencies());
  // The curl line should work the moment it is shown.
  await server.initialSync;
  (options.print ?? ((text) => void process.stdout.write(text)))(banner(setup, server.url, server.adminUrl));
  const signal = await untilSignal();
  await stopServing(server, signal);
  return { url: server.url, signal };
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
  summary: 'Try Mergekey locally: a sealed demo repository, a running server, a token (npm start).',
  description:
    `On the first run, creates under ${DEFAULT_QUICKSTART_DIR}/ a git repository of the example manifests ` +
    "with fresh demo secrets sealed to this controller's own key, and the controller's data directory; " +
    'then serves it (polling every 2 s) and prints the issuer, a demo client and a curl line that gets ' +
    'a token. Later runs reuse everything and print the same credentials. The demo secrets are kept in ' +
    `${DEFAULT_QUICKSTART_DIR}/demo.json (mode 0600). Ctrl-C stops the server.`,
  arguments: [],
  options: {
    dir: { type: 'string', valueName: 'DIR', default: DEFAULT_QUICKSTART_DIR, description: 'Where the repository, data and demo secrets live.' },
    port: { type: 'string', valueName: 'N', description: `The port to serve on (env PORT; default ${DEFAULT_QUICKSTART_PORT}).` },
  },
  examples: ['npm start', 'mergekey quickstart --port 9000'],
  run: (input) => quickstart({ dir: input.dir, port: quickstartPort(input.port) }),
  render: () => '',
});
