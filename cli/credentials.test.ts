// The local credentials file under hostile neighbours, on a real file system: what ssh's
// StrictModes refuses for a private key (a link planted at its path, a file of another user, a
// folder others may write to) is refused here too, before anything is read or written.
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CliError } from './errors.ts';
import { readCredentials, saveCredential } from './credentials.ts';

let dir: string;
const ISSUER = 'https://auth.example.com';
const CREDENTIAL = { clientId: 'billing-client-0001', clientSecret: 'sek-1', createdAt: '2026-01-05T09:00:00Z' };
const CONTENT = JSON.stringify({ version: 1, issuers: { [ISSUER]: { planted: { clientId: 'theirs', clientSecret: 'theirs', createdAt: '2026-01-05T09:00:00Z' } } } });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mergekey-credentials-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function refusal(work: () => unknown): { message: string; hint: string | undefined } {
  try {
    work();
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    return { message: (error as CliError).message, hint: (error as CliError).hint };
  }
  throw new Error('expected a refusal');
}

const HINT = 'Keep it as a regular file of your own, in a folder only you can write to (the default, ~/.config/mergekey, is one).';
const mode = (path: string) => statSync(path).mode & 0o777;

describe.skipIf(process.platform === 'win32')('the credentials file', () => {
  it('is refused when a symbolic link was planted at its path, and neither the link nor its target is written', () => {
    const target = join(dir, 'elsewhere.json');
    writeFileSync(target, CONTENT, { mode: 0o600 });
    const path = join(dir, 'credentials.json');
    symlinkSync(target, path);
    expect(refusal(() => readCredentials(path))).toEqual({ message: `refusing to use the credentials file: ${path} is a symbolic link`, hint: HINT });
    expect(refusal(() => saveCredential(path, ISSUER, 'billing', CREDENTIAL))).toEqual({ message: `refusing to use the credentials file: ${path} is a symbolic link`, hint: HINT });
    expect(lstatSync(path).isSymbolicLink()).toBe(true);
    expect(readlinkSync(path)).toBe(target);
    expect(readFileSync(target, 'utf8')).toBe(CONTENT);
  });

  it('is refused in a folder others may write to (no sticky bit), whether the file exists yet or not', () => {
    const shared = join(dir, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o777);
    const path = join(shared, 'credentials.json');
    const message = `refusing to use the credentials file: its folder ${shared} can be written by others (permissions 0777), who could replace the file`;
    expect(refusal(() => saveCredential(path, ISSUER, 'billing', CREDENTIAL))).toEqual({ message, hint: HINT });
    writeFileSync(path, CONTENT, { mode: 0o600 });
    expect(refusal(() => readCredentials(path))).toEqual({ message, hint: HINT });
    expect(readFileSync(path, 'utf8')).toBe(CONTENT);
  });

  it('is used in a sticky folder others may write to (as /tmp), where they cannot replace our entries', () => {
    const sticky = join(dir, 'sticky');
    mkdirSync(sticky);
    chmodSync(sticky, 0o1777);
    const path = join(sticky, 'credentials.json');
    saveCredential(path, ISSUER, 'billing', CREDENTIAL);
    expect(readCredentials(path).issuers[ISSUER]?.billing).toEqual(CREDENTIAL);
  });

  it.skipIf(process.getuid!() !== 0)('is refused when it belongs to another user (root reads any file, so the owner is checked)', () => {
    const path = join(dir, 'credentials.json');
    writeFileSync(path, CONTENT, { mode: 0o600 });
    chownSync(path, 65534, 65534);
    expect(refusal(() => readCredentials(path))).toEqual({ message: `refusing to use the credentials file: ${path} belongs to another user (uid 65534)`, hint: HINT });
  });

  it('is refused when it is not a regular file', () => {
    const path = join(dir, 'credentials.json');
    mkdirSync(path);
    expect(refusal(() => readCredentials(path))).toEqual({ message: `refusing to use the credentials file: ${path} is not a regular file`, hint: HINT });
  });

  it('is 0600 when created and again after every rewrite, and keeps earlier entries', () => {
    const path = join(dir, 'credentials.json');
    saveCredential(path, ISSUER, 'billing', CREDENTIAL);
    expect(mode(path)).toBe(0o600);
    saveCredential(path, ISSUER, 'orders', { ...CREDENTIAL, clientId: 'orders-client-0001' });
    expect(mode(path)).toBe(0o600);
    expect(Object.keys(readCredentials(path).issuers[ISSUER]!)).toEqual(['billing', 'orders']);
  });
});
