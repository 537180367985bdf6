// How `mergekey token get|list|revoke` take a client secret that is not in the credentials file
// (an application created in the portal, or on another machine): from the first line of stdin
// (--secret-stdin) or typed at the terminal when nothing is saved, never as a flag value, which
// shell history and process listings keep. --save keeps it once the controller accepted it.
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import type { OptionSpec } from '../../command.ts';
import type { SecretInput } from './client.ts';

export const SECRET_OPTIONS = {
  'secret-stdin': {
    type: 'boolean',
    description:
      "Read the application's client secret from the first line of stdin instead of the credentials file. " +
      'Without it, when nothing is saved and stdin is a terminal, the secret is asked for there.',
  },
  'client-id': {
    type: 'string',
    valueName: 'ID',
    description: "The client id to go with a secret given on stdin or at the prompt, when none is saved (the portal shows it under Keys).",
  },
  save: {
    type: 'boolean',
    description: 'Keep the given client secret (and client id) in the credentials file once the controller accepts it.',
  },
} as const satisfies Record<string, OptionSpec>;

export interface SecretFlags {
  secretStdin: boolean;
  clientId: string | undefined;
  save: boolean;
}

/** Where this run's client secret comes from, besides the credentials file. Reads stdin for --secret-stdin. */
export async function secretInput(flags: SecretFlags, stdin: NodeJS.ReadStream = process.stdin, prompt: NodeJS.WriteStream = process.stderr): Promise<SecretInput> {
  const common = { clientId: flags.clientId, save: flags.save };
  if (flags.secretStdin) return { ...common, secret: await readSecretLine('Client secret', stdin, prompt) };
  return { ...common, ...(stdin.isTTY === true ? { prompt: (label: string) => readSecretLine(label, stdin, prompt) } : {}) };
}

/**
 * A secret the command needs (a client secret, a password, a refresh token): the first line on
 * stdin when it is a pipe, else typed at the terminal without echo. Never a flag: any local user reads a process's
 * argv (/proc/PID/cmdline, `ps`), and shells keep it in their history; a refresh token there is a
 * token anyone on the machine can exchange (RFC 6749 section 10.4: refresh tokens "MUST be kept
 * confidential in transit and storage").
 */
export async function readSecretLine(label: string, stdin: NodeJS.ReadStream = process.stdin, prompt: NodeJS.WriteStream = process.stderr): Promise<string> {
  if (stdin.isTTY !== true) {
    const chunks: Buffer[] = [];
    for await (const chunk of stdin) chunks.push(Buffer.from(chunk as Buffer));
    return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
  }
  prompt.write(`${label}: `);
  let muted = true;
  const output = new Writable({
    write(chunk, _encoding, done) {
      if (!muted) prompt.write(chunk as Buffer);
      done();
    },
  });
  const rl = createInterface({ input: stdin, output, terminal: true });
  try {
    return await new Promise<string>((resolve) => rl.question('', resolve));
  } finally {
    muted = false;
    rl.close();
    prompt.write('\n');
  }
}
