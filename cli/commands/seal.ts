// `mergekey seal (--key FILE | --repo DIR) --kind KIND --name NAME [--generate]`: encrypts a secret
// to the controller's public sealing key, bound to one object, and prints the compact JWE to put
// in that object's manifest. Only the controller can open it, and only in that object.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadManifest } from '../../controller/manifests/index.ts';
import type { Settings } from '../../controller/manifests/types.generated.ts';
import { SealingError } from '../../controller/sealing/errors.ts';
import { generateClientSecret } from '../../controller/sealing/generate.ts';
import { MAX_SEALED_BYTES, seal, sealingPublicKey, type SealableKind, type SealingPublicJwk } from '../../controller/sealing/seal.ts';
import { NO_SEALING_KEY } from '../../controller/requests/secrets.ts';
import { defineCommand } from '../command.ts';
import { failure, usageError } from '../errors.ts';
import { readPublicSealingKey } from './init.ts';

export const SEALABLE_KINDS = ['Application', 'User'] as const satisfies readonly SealableKind[];
const NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

/** Where the public sealing key comes from: a JWK file, or a manifests repository's mergekey.yaml. */
export interface KeySource {
  key?: string | undefined;
  repo?: string | undefined;
}

export interface SealOptions extends KeySource {
  kind: SealableKind;
  name: string;
  /** Generate a 256-bit secret instead of reading one. */
  generate?: boolean | undefined;
  /** Where the secret is read from without `generate`; process.stdin by default. */
  stdin?: AsyncIterable<string | Uint8Array> & { isTTY?: boolean };
}

export interface SealResult {
  /** The compact JWE. */
  sealed: string;
  /** `<Kind>/<name>` it is bound to. */
  bind: string;
  /** The kid of the key it is sealed to. */
  kid: string;
  /** The secret, when it was generated (shown once, kept nowhere). */
  generatedSecret?: string;
}

export async function sealSecret(options: SealOptions): Promise<SealResult> {
  if (!(SEALABLE_KINDS as readonly string[]).includes(options.kind)) {
    throw usageError(`option '--kind' must be one of ${SEALABLE_KINDS.join(', ')} (got '${options.kind}')`);
  }
  checkName(options.name, "option '--name'");
  const publicJwk = await publicKeyFrom(options);
  const secret = options.generate === true ? generateClientSecret() : await readSecret(options.stdin ?? process.stdin);
  const sealed = await sealing(() => seal(publicJwk, { kind: options.kind, name: options.name }, secret));
  return {
    sealed,
    bind: `${options.kind}/${options.name}`,
    kid: publicJwk.kid,
    ...(options.generate === true ? { generatedSecret: secret } : {}),
  };
}

export function checkName(name: string, what: string): void {
  if (!NAME.test(name)) {
    throw usageError(`${what} must be a lowercase DNS label of 3 to 63 letters, digits and '-' (got '${name}')`);
  }
}

/** The public sealing key named by `--key FILE` or `--repo DIR` (exactly one). Throws CliError. */
export async function publicKeyFrom(source: KeySource): Promise<SealingPublicJwk> {
  if ((source.key === undefined) === (source.repo === undefined)) {
    throw usageError("give exactly one of '--key FILE' and '--repo DIR'");
  }
  if (source.repo !== undefined) return sealingKeyOf(await readRepoSettings(source.repo));
  const jwk = await readPublicSealingKey(source.key!);
  return sealing(() => sealingPublicKey(jwk));
}

/** The repository's sealing key (`spec.sealingKey` of mergekey.yaml). Throws CliError. */
export async function sealingKeyOf(settings: Settings): Promise<SealingPublicJwk> {
  const jwk = settings.spec.sealingKey;
  if (jwk === undefined) throw failure(NO_SEALING_KEY);
  return sealing(() => sealingPublicKey(jwk));
}

/** A manifests repository's mergekey.yaml, validated. Throws CliError naming file:line:column. */
export async function readRepoSettings(dir: string): Promise<Settings> {
  const path = join(resolve(dir), 'mergekey.yaml');
  let content: Buffer;
  try {
    content = readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw failure(`'${dir}' has no mergekey.yaml: is it a manifests repository?`, { hint: "'mergekey init DIR' creates one." });
    }
    throw failure(`cannot read ${path}: ${code ?? (error as Error).message}`, { cause: error });
  }
  const { object, problems } = loadManifest({ path: 'mergekey.yaml', content });
  const problem = problems[0];
  if (problem !== undefined || object?.kind !== 'Settings') {
    throw failure(
      problem === undefined ? 'mergekey.yaml is not valid' : `mergekey.yaml:${problem.line}:${problem.column}: ${problem.message}`,
      { hint: `Run 'mergekey validate ${dir}' for every problem.` },
    );
  }
  return object.manifest;
}

/**
 * Reads the secret from a pipe or file. A terminal is refused: what is typed there is echoed on
 * screen and kept in scrollback. One trailing newline (from `echo` or an editor) is removed.
 */
async function readSecret(stdin: AsyncIterable<string | Uint8Array> & { isTTY?: boolean }): Promise<string> {
  if (stdin.isTTY === true) {
    throw usageError(
      'the secret is read from stdin, which is a terminal',
      "Pipe it in (mergekey seal … < secret.txt) so that it is not echoed, or use '--generate'.",
    );
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk);
    size += bytes.length;
    // A secret this long could not be sealed within the limit anyway; stop reading.
    if (size > MAX_SEALED_BYTES) throw failure(`the secret on stdin is over ${MAX_SEALED_BYTES} bytes`);
    chunks.push(bytes);
  }
  const secret = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  if (secret.length === 0) throw usageError('no secret on stdin', "Pipe the secret in (mergekey seal … < secret.txt), or use '--generate'.");
  return secret;
}

/** Runs a sealing operation, turning its refusals into CLI failures (exit 1). */
async function sealing<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof SealingError) throw failure(error.message, { cause: error });
    throw error;
  }
}

export const command = defineCommand({
  summary: 'Seal a secret to the controller for one application or user.',
  description:
    "Encrypt a secret to the controller's public sealing key (a JWE with ECDH-ES+A256KW and " +
    'A256GCM) bound to one object, and print it for the `sealed:` field of that manifest. Only ' +
    'the controller can open it, and it refuses the value in any other object. The key comes ' +
    "from '--key FILE' (the JWK 'mergekey keys public' prints) or from '--repo DIR' (the " +
    "repository's mergekey.yaml, spec.sealingKey). The secret is read from stdin (one trailing " +
    "newline is removed); a terminal is refused so the secret is not echoed. With '--generate', a " +
    '256-bit secret is generated instead and printed once on stderr.',
  arguments: [],
  options: {
    key: { type: 'string', valueName: 'FILE', description: 'A file holding the public sealing key (a JWK, or a JWKS with one key).' },
    repo: { type: 'string', valueName: 'DIR', description: 'A manifests repository whose mergekey.yaml holds the sealing key.' },
    kind: { type: 'string', valueName: 'KIND', description: 'The kind of object the secret belongs to.', choices: SEALABLE_KINDS, default: 'Application' },
    name: { type: 'string', valueName: 'NAME', description: "The object's metadata.name." },
    generate: { type: 'boolean', description: 'Generate a 256-bit secret (base64url) instead of reading stdin, and print it on stderr.' },
  },
  examples: [
    'mergekey seal --repo . --name billing --generate',
    'mergekey seal --key sealing-key.jwk --kind User --name alice < alice-password.txt',
  ],
  run: async (input) => {
    if (input.name === undefined) throw usageError("option '--name' is required", "Run 'mergekey seal --help'.");
    const result = await sealSecret({ key: input.key, repo: input.repo, kind: input.kind, name: input.name, generate: input.generate });
    if (result.generatedSecret !== undefined) {
      process.stderr.write(`Generated secret for ${result.bind} (shown once, saved nowhere):\n${result.generatedSecret}\n`);
    }
    return result;
  },
  render: (result) => result.sealed,
});
