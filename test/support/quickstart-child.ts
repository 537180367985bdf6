// Test support for the quickstart as a newcomer runs it: the real `npm start`, as a child process,
// with its folder in a fresh temporary directory and its listeners on free loopback ports, read
// through what it prints. Nothing is arranged beside it: what a test needs comes from the banner
// and from the files the banner points at.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DemoSecrets } from '../../cli/commands/quickstart.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface QuickstartChild {
  /** The temporary directory it runs in; `startQuickstart(temp)` runs it there again. */
  temp: string;
  /** The quickstart's folder (`--dir`), inside the temporary directory. */
  dir: string;
  /** The server's URL, as the banner prints it. */
  url: string;
  /** The operator listener's URL (`mergekey status`, `mergekey sync`), as the banner prints it. */
  adminUrl: string;
  /** Everything printed up to the end of the banner. */
  banner: string;
  /** The password the banner prints for a person it names (alice, bob). */
  password(person: string): string;
  /** demo.json: every demo secret, password and forge token. */
  demo: DemoSecrets;
  /** An environment for the CLI run from a second terminal, as the banner says. */
  cliEnv: NodeJS.ProcessEnv;
  /** SIGTERM to the whole process group (npm, the server and its workers); settles once all have closed their output, with npm's exit code (null: npm ends by the signal). */
  stop(): Promise<number | null>;
  /** Stops it if it runs, and removes the temporary directory. */
  remove(): Promise<void>;
}

/** A port nothing listens on at the moment. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** The environment without anything a developer's shell may hold for Mergekey or GitHub. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(MERGEKEY_|GITHUB_|GH_)/.test(name) && name !== 'PORT'));
}

/** `npm start` in a fresh temporary directory, or again in `temp`, where an earlier one ran. */
export async function startQuickstart(temp = mkdtempSync(join(tmpdir(), 'mergekey-npm-start-'))): Promise<QuickstartChild> {
  const dir = join(temp, 'quickstart');
  const [port, adminPort] = [await freePort(), await freePort()];
  const child: ChildProcess = spawn('npm', ['start', '--silent', '--', '--dir', dir], {
    cwd: root,
    env: { ...cleanEnv(), PORT: String(port), MERGEKEY_ADMIN_PORT: String(adminPort) },
    // Its own process group, so that stopping reaches npm's child and the server's workers too.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const stop = (): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGTERM');
    return exit;
  };
  // Whatever becomes of the test (a failed start, a timeout), the server does not outlive it.
  const orphaned = () => {
    if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGTERM');
  };
  process.once('exit', orphaned);
  void exit.then(() => process.off('exit', orphaned));
  const banner = await new Promise<string>((resolve, reject) => {
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ctrl-C stops the server')) resolve(output);
    };
    child.stdout!.on('data', read);
    child.stderr!.on('data', read);
    void exit.then((code) => reject(new Error(`npm start exited (${code}) before its banner:\n${output}`)));
  });
  const url = /^ {2}portal +(http:\/\/\S+)\/portal$/m.exec(banner)?.[1];
  const adminUrl = /^ {2}operator +(http:\/\/\S+) /m.exec(banner)?.[1];
  if (url === undefined || adminUrl === undefined) {
    await stop();
    throw new Error(`no portal or operator URL in the banner:\n${banner}`);
  }
  return {
    temp,
    dir,
    url,
    adminUrl,
    banner,
    password(person) {
      const password = new RegExp(`sign in as ${person} \\(password (\\S+)\\)`).exec(banner)?.[1];
      if (password === undefined) throw new Error(`the banner names no password for ${person}:\n${banner}`);
      return password;
    },
    demo: JSON.parse(readFileSync(join(dir, 'demo.json'), 'utf8')) as DemoSecrets,
    cliEnv: { ...cleanEnv(), MERGEKEY_CREDENTIALS: join(dir, 'credentials.json'), MERGEKEY_SERVER: url, MERGEKEY_ADMIN_URL: adminUrl },
    stop,
    async remove() {
      await stop();
      rmSync(temp, { recursive: true, force: true });
    },
  };
}
