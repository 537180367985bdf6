// `mergekey keys public --data DIR`: prints the controller's public sealing key, the JWK that goes
// into mergekey.yaml's `spec.sealingKey` (or to `mergekey init --sealing-key`). Run on the
// controller's machine: it reads (and on a fresh data directory creates) the keys in DIR/keys/.
import { join } from 'node:path';
import { SealingError } from '../../controller/sealing/errors.ts';
import { KEYS_DIR, loadOrCreateKeys } from '../../controller/sealing/keys.ts';
import type { SealingPublicJwk } from '../../controller/sealing/seal.ts';
import { SERVE_OPTIONS } from '../../controller/config/defaults.ts';
import { defineCommand } from '../command.ts';
import { failure } from '../errors.ts';

export interface KeysPublicOptions {
  /** The controller's data directory (`mergekey serve --data`); resolved as serve resolves it. */
  data?: string | undefined;
  env?: NodeJS.ProcessEnv;
}

export interface KeysPublicResult {
  jwk: SealingPublicJwk;
  /** True when the keys did not exist and were created now. */
  created: boolean;
  /** Where the keys are. */
  keysDir: string;
}

export async function keysPublic(options: KeysPublicOptions): Promise<KeysPublicResult> {
  const data = dataDir(options.data, options.env ?? process.env);
  try {
    const keys = await loadOrCreateKeys(data);
    return { jwk: keys.sealingPublicJwk, created: keys.created, keysDir: join(data, KEYS_DIR) };
  } catch (error) {
    if (error instanceof SealingError) throw failure(error.message, { cause: error });
    throw error;
  }
}

/** The same directory `mergekey serve` would use: the flag, else MERGEKEY_DATA, else its default. */
function dataDir(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  if (flag !== undefined) return flag;
  if (env.MERGEKEY_DATA) return env.MERGEKEY_DATA;
  return SERVE_OPTIONS.find((option) => option.flag === 'data')!.default!;
}

export const command = defineCommand({
  summary: "Print the controller's public sealing key.",
  description:
    "Print the controller's public sealing key as a JWK (X25519, kid = its RFC 7638 thumbprint) on " +
    "stdout. Put it in mergekey.yaml as spec.sealingKey (or pass it to 'mergekey init " +
    "--sealing-key'): developers seal client secrets and passwords to it. Run it where the " +
    'controller runs, as the user it runs as. When DIR has no keys yet, the keys are created ' +
    "(mode 0600 in DIR/keys/, as 'mergekey serve' would on first start) and stderr says so; " +
    'existing keys are never replaced.',
  arguments: [],
  options: {
    data: {
      type: 'string',
      valueName: 'DIR',
      description: "The controller's data directory, as for 'mergekey serve' (env MERGEKEY_DATA; default ./mergekey-data).",
    },
  },
  examples: ['mergekey keys public --data /var/lib/mergekey > sealing-key.jwk'],
  run: async (input) => {
    const result = await keysPublic({ data: input.data });
    if (result.created) process.stderr.write(`mergekey: created new controller keys in ${result.keysDir}\n`);
    return result;
  },
  render: (result) => JSON.stringify(result.jwk, null, 2),
});
