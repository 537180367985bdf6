// The developer's local credentials file: client secrets the CLI generated, kept so that they are
// shown once on screen and can be found again later (`mergekey app show NAME --reveal`).
//
// `$MERGEKEY_CREDENTIALS`, else `$XDG_CONFIG_HOME/mergekey/credentials.json`, else
// `~/.config/mergekey/credentials.json`. Mode 0600 in a 0700 folder, replaced atomically on every
// write; a file others can read is refused, as ssh refuses a readable private key, because its
// secrets must then be considered exposed. As ssh's StrictModes, it is also refused when it is a
// symbolic link, is not a regular file, belongs to another user, or sits in a folder others may
// write to without the sticky bit: whoever can swap the file chooses what the CLI reads (a client
// id of theirs beside a secret it then sends) and sees where a rewrite goes. Entries are keyed by
// the repository's issuer and the application's name: the same app name in two repositories (two
// token servers) is two clients.
import { chmodSync, closeSync, constants, fstatSync, mkdirSync, openSync, readFileSync, statSync, type Stats } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { PRIVATE_DIR_MODE, replacePrivateFile } from '../controller/sealing/private-files.ts';
import { failure } from './errors.ts';

export interface StoredCredential {
  clientId: string;
  /** Absent for private_key_jwt applications, which have no secret. */
  clientSecret?: string;
  /** When the CLI generated it (RFC 3339). */
  createdAt: string;
}

export interface CredentialsFile {
  version: 1;
  /** issuer → application name → credential */
  issuers: Record<string, Record<string, StoredCredential>>;
}

export function credentialsPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MERGEKEY_CREDENTIALS) return env.MERGEKEY_CREDENTIALS;
  return join(defaultConfigDir(env), 'credentials.json');
}

function defaultConfigDir(env: NodeJS.ProcessEnv): string {
  return join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config'), 'mergekey');
}

/** The file's content; an empty one when it does not exist yet. Throws CliError. */
export function readCredentials(path: string): CredentialsFile {
  let read: OwnFile;
  try {
    read = readOwnFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { version: 1, issuers: {} };
    throw failure(`cannot read the credentials file ${path}: ${code ?? (error as Error).message}`, { cause: error });
  }
  if ('unsafe' in read) {
    throw failure(`refusing to use the credentials file: ${read.unsafe}`, {
      hint: 'Keep it as a regular file of your own, in a folder only you can write to (the default, ~/.config/mergekey, is one).',
    });
  }
  if ('exposed' in read) {
    throw failure(`refusing to use the credentials file: ${read.exposed}`, {
      hint: 'Others could read the client secrets in it: rotate them after fixing the permissions.',
    });
  }
  const { text } = read;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw failure(`the credentials file ${path} is not JSON; fix or move it (it may hold secrets you still need)`);
  }
  if (!isObject(parsed) || parsed.version !== 1 || !isObject(parsed.issuers)) {
    throw failure(`the credentials file ${path} is not in the format this version of mergekey writes`);
  }
  return parsed as unknown as CredentialsFile;
}

/** The credential saved for `app` of the repository whose issuer is `issuer`. */
export function findCredential(path: string, issuer: string, app: string): StoredCredential | undefined {
  return readCredentials(path).issuers[issuer]?.[app];
}

/** Adds or replaces the credential of `app` under `issuer`. Throws CliError. */
export function saveCredential(path: string, issuer: string, app: string, credential: StoredCredential, env: NodeJS.ProcessEnv = process.env): void {
  const content = readCredentials(path);
  const apps = (content.issuers[issuer] ??= {});
  apps[app] = credential;
  try {
    privateParent(path, env);
    replacePrivateFile(path, JSON.stringify(content, null, 2) + '\n');
  } catch (error) {
    throw failure(`cannot write the credentials file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
  }
}

/**
 * Creates the file's folder owner-only. The default folder is ours, so a too-open one is
 * tightened; a folder named through $MERGEKEY_CREDENTIALS may be shared and is left as it is (the
 * file itself is 0600 either way, and readCredentials, which every write runs first, refused a
 * folder others may write to).
 */
function privateParent(path: string, env: NodeJS.ProcessEnv): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  if (dir === defaultConfigDir(env) && process.platform !== 'win32' && (statSync(dir).mode & 0o077) !== 0) {
    chmodSync(dir, PRIVATE_DIR_MODE);
  }
}

type OwnFile = { text: string } | { unsafe: string } | { exposed: string };

/**
 * Opens the file without following a symbolic link (O_NOFOLLOW: no window between a check and the
 * read) and checks what was opened: a regular file of this user, readable by its owner only, in a
 * folder others cannot write to. Throws the errno (ENOENT when there is no file).
 */
function readOwnFile(path: string): OwnFile {
  if (process.platform === 'win32') return { text: readFileSync(path, 'utf8') };
  const folder = folderProblem(path);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') return { unsafe: `${path} is a symbolic link` };
    if (folder !== undefined && (error as NodeJS.ErrnoException).code === 'ENOENT') return { unsafe: folder };
    throw error;
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) return { unsafe: `${path} is not a regular file` };
    if (stats.uid !== process.getuid!()) return { unsafe: `${path} belongs to another user (uid ${stats.uid})` };
    if (folder !== undefined) return { unsafe: folder };
    const mode = stats.mode & 0o777;
    if ((mode & 0o077) !== 0) return { exposed: `permissions ${mode.toString(8).padStart(4, '0')} on ${path} are too open: it must be readable by its owner only (chmod 600 ${path})` };
    return { text: readFileSync(fd, 'utf8') };
  } finally {
    closeSync(fd);
  }
}

/** The sticky bit (S_ISVTX, which node:fs does not export): in such a folder only an entry's owner may rename or remove it. */
const STICKY = 0o1000;

/** A folder others may write to, without the sticky bit that keeps them off our entries. */
function folderProblem(path: string): string | undefined {
  const dir = dirname(path);
  let stats: Stats;
  try {
    stats = statSync(dir);
  } catch {
    return undefined;
  }
  if ((stats.mode & 0o022) === 0 || (stats.mode & STICKY) !== 0) return undefined;
  return `its folder ${dir} can be written by others (permissions ${(stats.mode & 0o777).toString(8).padStart(4, '0')}), who could replace the file`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
