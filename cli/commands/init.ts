// `mergekey init DIR`: creates a new manifests repository that validates as created.
//
// The repository is assembled in a temporary folder beside DIR, checked with `validate`, and only
// then renamed into place, so a failure (a bad key file, git refusing to commit) leaves nothing
// behind and an existing DIR is never half-filled.
import { chmod, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { calculateJwkThumbprint } from 'jose';
import { simpleGit } from 'simple-git';
import { Document } from 'yaml';
import type { PublicJwk, Settings, Plan } from '../../controller/manifests/types.generated.ts';
import { defineCommand } from '../command.ts';
import { failure, usageError } from '../errors.ts';
import { validate } from './validate.ts';

export const DEFAULT_ISSUER = 'http://127.0.0.1:8080';
export const DEFAULT_PUBLISHERS_TEAM = '@your-org/publishers';
const DEFAULT_PLAN = 'standard';
const SEALING_ALG = 'ECDH-ES+A256KW';
/** A public JWK is a few hundred bytes; anything far larger is the wrong file. */
const MAX_KEY_FILE_BYTES = 64 * 1024;

const SCHEMA_FILES = ['common', 'settings', 'application', 'api', 'plan', 'user'].map((kind) => `${kind}.schema.json`);
const schemasDir = new URL('../../schemas/', import.meta.url);

export interface InitOptions {
  dir: string;
  /** A file holding the controller's public sealing key (a JWK, or a JWKS with one key). */
  sealingKey?: string | undefined;
  issuer?: string | undefined;
  /** The GitHub team (`@org/team`) or user (`@login`) that owns publishers' files. */
  publishersTeam?: string | undefined;
  /** Run `git init` and make the first commit. */
  git?: boolean | undefined;
}

export interface InitResult {
  dir: string;
  /** Repository-relative paths of the files written, sorted. */
  files: string[];
  /** The kid of the sealing key recorded in mergekey.yaml, if one was given. */
  sealingKeyId?: string;
  /** The first commit's id, with `--git`. */
  commit?: string;
}

export async function init(options: InitOptions): Promise<InitResult> {
  const target = resolve(options.dir);
  const issuer = options.issuer ?? DEFAULT_ISSUER;
  const team = options.publishersTeam ?? DEFAULT_PUBLISHERS_TEAM;
  checkIssuer(issuer);
  checkTeam(team);
  const sealingKey = options.sealingKey === undefined ? undefined : await readPublicSealingKey(options.sealingKey);
  await requireEmptyOrAbsent(target, options.dir);

  const files = await repositoryFiles({ issuer, team, sealingKey });
  // The first parent folder this call creates, if any: removed again when init fails.
  let createdParent: string | undefined;
  let staging: string;
  try {
    createdParent = await mkdir(dirname(target), { recursive: true });
    staging = await mkdtemp(join(dirname(target), `.${basename(target)}.init-`));
  } catch (error) {
    if (createdParent !== undefined) await rm(createdParent, { recursive: true, force: true });
    throw failure(`cannot create '${options.dir}': ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  try {
    for (const [path, content] of files) {
      await mkdir(dirname(join(staging, path)), { recursive: true });
      await writeFile(join(staging, path), content);
    }
    const check = await validate({ dir: staging });
    if (!check.valid) {
      const first = check.problems[0]!;
      throw failure(`the new repository does not validate (${first.path}:${first.line}:${first.column}: ${first.message})`);
    }
    const commit = options.git === true ? await firstCommit(staging) : undefined;
    // mkdtemp makes the folder private (0700); a repository is meant to be shared like any other.
    await chmod(staging, 0o755);
    // rename(2) replaces an empty directory, and fails if DIR gained files since we looked.
    await rename(staging, target);
    return {
      dir: options.dir,
      files: [...files.keys()].sort(),
      ...(sealingKey === undefined ? {} : { sealingKeyId: sealingKey.kid! }),
      ...(commit === undefined ? {} : { commit }),
    };
  } catch (error) {
    await rm(createdParent ?? staging, { recursive: true, force: true });
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST') throw failure(`'${options.dir}' is not empty; init only creates a new repository`);
    if (code === 'ENOTDIR') throw failure(`'${options.dir}' exists and is not a directory`);
    throw error;
  }
}

function checkIssuer(issuer: string): void {
  // The Settings schema says the same; saying it here names the option instead of a YAML line.
  if (!/^https?:\/\/[^?#\s]+$/.test(issuer) || !URL.canParse(issuer)) {
    throw usageError(`option '--issuer' must be an http(s) URL without query or fragment (got '${issuer}')`);
  }
}

function checkTeam(team: string): void {
  if (!/^@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\/[A-Za-z0-9._-]+)?$/.test(team)) {
    throw usageError(`option '--publishers-team' must be a GitHub team (@org/team) or user (@login) (got '${team}')`);
  }
}

async function requireEmptyOrAbsent(target: string, given: string): Promise<void> {
  let entries;
  try {
    entries = await readdir(target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code === 'ENOTDIR') throw failure(`'${given}' exists and is not a directory`);
    throw failure(`cannot read '${given}': ${code ?? (error as Error).message}`, { cause: error });
  }
  if (entries.length > 0) throw failure(`'${given}' is not empty; init only creates a new repository`);
}

/** Private members of RFC 7518 keys: finding any of them means the file is a private key. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/**
 * Reads the controller's public sealing key: an X25519 public JWK, or a JWKS holding exactly one.
 * A private key is refused without echoing any of it: it must never reach a git repository.
 */
export async function readPublicSealingKey(file: string): Promise<PublicJwk> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw usageError(`sealing key file '${file}' does not exist`);
    throw failure(`cannot read sealing key file '${file}': ${code ?? (error as Error).message}`);
  }
  if (bytes.length > MAX_KEY_FILE_BYTES) throw failure(`'${file}' is too large to be a public JWK`);
  const text = bytes.toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw failure(`'${file}' is not JSON; expected the public JWK that 'mergekey keys public' prints`);
  }
  const keys = isObject(parsed) && Array.isArray(parsed.keys) ? parsed.keys : [parsed];
  const jwk = keys[0];
  if (keys.length !== 1 || !isObject(jwk)) throw failure(`'${file}' does not hold a JWK (or a JWKS with exactly one key)`);

  const privateMember = PRIVATE_MEMBERS.find((member) => member in jwk);
  if (privateMember !== undefined) {
    throw failure(
      `'${file}' holds a private key (it has a '${privateMember}' member); give the public key only, never the private one`,
    );
  }
  if (jwk.kty !== 'OKP' || jwk.crv !== 'X25519') {
    throw failure(`'${file}' is not an X25519 key (kty OKP, crv X25519): sealing keys are X25519`);
  }
  if (typeof jwk.x !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(jwk.x) || Buffer.from(jwk.x, 'base64url').length !== 32) {
    throw failure(`'${file}': member 'x' must be a 32-byte X25519 public key in base64url`);
  }
  if (jwk.use !== undefined && jwk.use !== 'enc') throw failure(`'${file}': member 'use' must be 'enc' for a sealing key`);
  if (jwk.alg !== undefined && jwk.alg !== SEALING_ALG) throw failure(`'${file}': member 'alg' must be '${SEALING_ALG}'`);
  const kid = await calculateJwkThumbprint({ kty: 'OKP', crv: 'X25519', x: jwk.x });
  if (jwk.kid !== undefined && jwk.kid !== kid) {
    throw failure(`'${file}': member 'kid' is not the key's RFC 7638 thumbprint (${kid}); the key file is damaged`);
  }
  return { kty: 'OKP', crv: 'X25519', x: jwk.x, kid, use: 'enc', alg: SEALING_ALG };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function firstCommit(dir: string): Promise<string> {
  const git = simpleGit(dir);
  try {
    await git.init(['--initial-branch=main']);
    await git.add('.');
    const result = await git.commit('Create the manifests repository with mergekey init');
    return result.commit;
  } catch (error) {
    throw failure(`git could not make the first commit: ${(error as Error).message.trim()}`, {
      hint: 'Check that git is installed and user.name and user.email are set, or run init without --git.',
    });
  }
}

interface Contents {
  issuer: string;
  team: string;
  sealingKey: PublicJwk | undefined;
}

/** Every file of the new repository, by repository-relative path. */
async function repositoryFiles(contents: Contents): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const settings: Settings = {
    apiVersion: 'mergekey/v1',
    kind: 'Settings',
    metadata: { name: 'mergekey' },
    spec: {
      issuer: contents.issuer,
      defaultPlan: DEFAULT_PLAN,
      ...(contents.sealingKey === undefined ? {} : { sealingKey: contents.sealingKey }),
    },
  };
  files.set(
    'mergekey.yaml',
    manifest('.mergekey/schemas/settings.schema.json', settings, [
      'Repository settings. Publishers own this file (.github/CODEOWNERS).',
      ...(contents.sealingKey === undefined
        ? ["spec.sealingKey is the controller's public key ('mergekey keys public'); secrets are sealed to it."]
        : []),
    ]),
  );
  const plan: Plan = {
    apiVersion: 'mergekey/v1',
    kind: 'Plan',
    metadata: { name: DEFAULT_PLAN },
    spec: {
      displayName: 'Standard',
      description: 'The plan of every application that names none.',
      accessTokenTtl: '15m',
      refreshTokenTtl: '30d',
      tokenRequestsPerMinute: 600,
    },
  };
  files.set(`plans/${DEFAULT_PLAN}.yaml`, manifest('../.mergekey/schemas/plan.schema.json', plan, []));
  for (const folder of ['apis', 'apps', 'users']) files.set(`${folder}/.gitkeep`, '');
  files.set('.github/CODEOWNERS', codeowners(contents.team));
  files.set('.github/workflows/mergekey-check.yml', checkWorkflow());
  files.set('README.md', readme(contents.team));
  for (const schema of SCHEMA_FILES) {
    files.set(`.mergekey/schemas/${schema}`, await readFile(new URL(schema, schemasDir), 'utf8'));
  }
  return files;
}

function manifest(schemaPath: string, value: unknown, comments: readonly string[]): string {
  const header = [`# yaml-language-server: $schema=${schemaPath}`, ...comments.map((line) => `# ${line}`)];
  return `${header.join('\n')}\n${new Document(value).toString({ lineWidth: 0 })}`;
}

function codeowners(team: string): string {
  const placeholder = team === DEFAULT_PUBLISHERS_TEAM ? `\n# Replace ${team} with your publishers' team.` : '';
  return `# Publishers own what the token server trusts and review every application.${placeholder}
# Turn on "Require review from Code Owners" in the main branch's protection rule, so that a
# merge is a publisher's approval.
*                 ${team}
/mergekey.yaml    ${team}
/apis/            ${team}
/plans/           ${team}
/users/           ${team}
/apps/            ${team}
/.github/         ${team}
/.mergekey/       ${team}
`;
}

/** Where the reusable check workflow lives: mergekey's own repository, at this ref. */
export const CHECK_WORKFLOW = { repository: 'mergekey/mergekey', ref: 'main' } as const;

function checkWorkflow(): string {
  return `# Runs \`mergekey check\` on every pull request: it classifies the change (create, edit, deactivate,
# reactivate, or a publisher change), enforces the lifecycle rules, and comments what merging
# changes for the token server. Make "mergekey check" a required status check of the main branch.
name: mergekey

on:
  pull_request:
    types: [opened, synchronize, reopened, edited, labeled, unlabeled]

permissions:
  contents: read
  pull-requests: write
  issues: write
  statuses: write

jobs:
  check:
    uses: ${CHECK_WORKFLOW.repository}/.github/workflows/check.yml@${CHECK_WORKFLOW.ref}
    with:
      mergekey-ref: ${CHECK_WORKFLOW.ref}
`;
}

function readme(team: string): string {
  return `# Manifests repository

This repository is the source of truth for a Mergekey OAuth 2.0 server: every client application, API, plan and user is a YAML file here, a pull
request is a request, and a merge is its approval. The controller follows the main branch and
serves exactly what is merged.

## Layout

| path | kind | who edits it |
|---|---|---|
| \`mergekey.yaml\` | Settings: issuer, default plan, the controller's public sealing key | publishers |
| \`apis/<name>.yaml\` | Api: an API, its audience and its scopes | publishers |
| \`plans/<name>.yaml\` | Plan: token lifetimes and request rates | publishers |
| \`users/<name>.yaml\` | User: application owners and password-grant users | publishers |
| \`apps/<name>.yaml\` | Application: an OAuth client | developers, reviewed by publishers |
| \`.mergekey/schemas/\` | JSON Schemas, for editor completion | nobody (copied by \`mergekey init\`) |

A manifest's \`metadata.name\` equals its file name and never changes. Manifests are never deleted:
an application is retired with \`state: inactive\`.

## Workflow

1. A developer adds or edits \`apps/<name>.yaml\` on a branch and opens a pull request.
2. \`mergekey validate .\` checks the whole repository; run it before pushing. On every pull
   request, \`.github/workflows/mergekey-check.yml\` runs \`mergekey check\`, which enforces the
   lifecycle rules and comments what merging would change.
3. A publisher (${team}, per \`.github/CODEOWNERS\`) reviews. Merging approves the request;
   closing it rejects it (or cancels it, when its author closes it).
4. The controller syncs the merged commit; tokens for the application work from then on.

## Secrets

No secret is ever committed in clear. Client secrets and user passwords are sealed: encrypted to
the controller's public key in \`mergekey.yaml\` and bound to the object they belong to, so only
the controller can open them and a sealed value copied into another manifest is refused.
Applications that use \`private_key_jwt\` list only public keys.

## Editors

Each manifest's first line names its JSON Schema
(\`# yaml-language-server: $schema=../.mergekey/schemas/application.schema.json\`), so editors with
the YAML language server complete and check fields offline.
`;
}

export const command = defineCommand({
  summary: 'Create a new manifests repository.',
  description:
    'Create a new manifests repository in DIR: mergekey.yaml, a standard plan, the apis/, apps/ and ' +
    'users/ folders, a CODEOWNERS that makes publishers the reviewers, the workflow that runs ' +
    'mergekey check on every pull request, a README, and the JSON ' +
    'Schemas for editor completion. DIR must not exist or be empty. The repository validates as ' +
    'created; nothing is written if any step fails.',
  arguments: [{ name: 'DIR', description: 'Where to create the repository.', required: true }],
  options: {
    'sealing-key': {
      type: 'string',
      valueName: 'FILE',
      description:
        "The controller's public sealing key (an X25519 JWK, as 'mergekey keys public' prints it) to record in mergekey.yaml. A private key is refused.",
    },
    issuer: {
      type: 'string',
      valueName: 'URL',
      description: 'The OAuth issuer: the URL the token server is reached at.',
      default: DEFAULT_ISSUER,
    },
    'publishers-team': {
      type: 'string',
      valueName: 'TEAM',
      description: 'The GitHub team (@org/team) that owns APIs, plans, users and settings and reviews applications.',
      default: DEFAULT_PUBLISHERS_TEAM,
    },
    git: { type: 'boolean', description: "Run 'git init' (branch main) and make the first commit." },
  },
  examples: ['mergekey init manifests --git', 'mergekey init manifests --sealing-key sealing.pub.jwk --issuer https://auth.example.com'],
  run: (input) =>
    init({
      dir: input.dir,
      sealingKey: input.sealingKey,
      issuer: input.issuer,
      publishersTeam: input.publishersTeam,
      git: input.git,
    }),
  render: (result) =>
    [
      `Created a manifests repository in ${result.dir}${result.commit === undefined ? '' : ` (first commit ${result.commit})`}:`,
      ...result.files.filter((path) => !path.startsWith('.mergekey/')).map((path) => `  ${path}`),
      '  .mergekey/schemas/ (JSON Schemas for editors)',
      result.sealingKeyId === undefined
        ? "No sealing key recorded yet: add the controller's public key to mergekey.yaml before sealing secrets."
        : `Sealing key ${result.sealingKeyId} recorded in mergekey.yaml.`,
      `Next: mergekey validate ${result.dir}`,
    ].join('\n'),
});
