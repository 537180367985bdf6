import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { camelCase, defineCommand, type CommandModule } from './command.ts';
import { failure } from './errors.ts';
import { loadCommandSet, main, type Io } from './main.ts';
import { registry, type Registry } from './registry.ts';

const bin = fileURLToPath(new URL('./bin/mergekey.js', import.meta.url));
const examples = fileURLToPath(new URL('../examples/manifests', import.meta.url));
const broken = fileURLToPath(new URL('../test/fixtures/broken', import.meta.url));
const packageVersion = (JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The real executable, as a user runs it. */
function cli(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr });
    });
  });
}

/** main() in this process, with stdout and stderr captured. */
async function run(argv: string[], reg: Registry = registry): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const io: Io = { stdout: (text) => void (stdout += text), stderr: (text) => void (stderr += text) };
  const code = await main(argv, io, reg);
  return { code, stdout, stderr };
}

describe('mergekey (the executable)', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'mergekey-cli-'));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('--help lists every registered command and exits 0', async () => {
    const result = await cli('--help');
    expect(result.code).toBe(0);
    for (const name of Object.keys(registry.commands)) expect(result.stdout).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
  });

  it('validate exits 0 on the examples and prints a summary', async () => {
    const result = await cli('validate', examples);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(/: valid, 18 objects \(1 Settings, 3 Api, 2 Plan, 3 User, 9 Application\)\n$/);
  });

  it('validate exits 1 on an invalid repository, one path:line:col: message line per problem', async () => {
    const result = await cli('validate', broken);
    expect(result.code).toBe(1);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines.at(-1)).toBe(`${broken}: invalid, 3 problems in 2 files`);
    const problems = lines.slice(0, -1);
    expect(problems).toHaveLength(3);
    for (const line of problems) expect(line).toMatch(/^apps\/(billing|reports)\.yaml:\d+:\d+: \S.*$/);
  });

  it('validate --format json prints { valid, objects, problems } and exits 1 when invalid', async () => {
    const result = await cli('validate', broken, '--format', 'json');
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as { valid: boolean; objects: Record<string, number>; problems: unknown[] };
    expect(Object.keys(report)).toEqual(['valid', 'objects', 'problems']);
    expect(report.valid).toBe(false);
    expect(report.problems).toHaveLength(3);
  });

  it('takes --json as shorthand for --format json wherever --format offers json, and documents it there', async () => {
    const long = await run(['validate', broken, '--format', 'json']);
    expect(long.code).toBe(1);
    expect(await run(['validate', broken, '--json'])).toEqual(long);
    expect(await run(['validate', broken, '--json', '--format', 'text'])).toEqual({
      code: 2,
      stdout: '',
      stderr: "mergekey: give either '--json' or '--format text', not both\nRun 'mergekey validate --help' for its arguments and options.\n",
    });
    // A command without a --format has no --json either.
    expect((await run(['init', join(tmp, 'json'), '--json'])).stderr).toBe("mergekey: unknown option '--json'\nRun 'mergekey init --help' for its arguments and options.\n");
    const set = await loadCommandSet();
    const withJson = set.commands.filter((command) => command.options.format?.choices?.includes('json')).map((command) => command.name);
    expect(withJson).toEqual(['app list', 'app show', 'review list', 'check', 'status', 'token get', 'token list', 'validate']);
    for (const name of withJson) {
      expect((await run([...name.split(' '), '--help'])).stdout).toMatch(/^ {2}--json {2,}Shorthand for --format json\.$/m);
    }
  });

  it('exits 2 with a message on stderr for an unknown command', async () => {
    const result = await cli('frobnicate');
    expect(result).toMatchObject({ code: 2, stdout: '' });
    expect(result.stderr).toContain("mergekey: unknown command 'frobnicate'");
  });

  it('init creates a repository that validate accepts', async () => {
    const dir = join(tmp, 'manifests');
    expect((await cli('init', dir)).code).toBe(0);
    const result = await cli('validate', dir);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('valid, 2 objects (1 Settings, 1 Plan)');
  });
});

describe('main', () => {
  it('prints the version from package.json', async () => {
    expect(await run(['--version'])).toEqual({ code: 0, stdout: `${packageVersion}\n`, stderr: '' });
  });

  it('without arguments shows the help on stderr and exits 2', async () => {
    const result = await run([]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Usage: mergekey <command>');
  });

  it.each([
    [['validate', '--bogus'], "mergekey: unknown option '--bogus'\nRun 'mergekey validate --help' for its arguments and options.\n"],
    [['validate', '-z'], "mergekey: unknown option '-z'\nRun 'mergekey validate --help' for its arguments and options.\n"],
    [['validate', 'a', 'b'], "mergekey: unexpected argument 'b'\nRun 'mergekey validate --help' for its arguments and options.\n"],
    [['init'], "mergekey: missing argument DIR\nRun 'mergekey init --help' for its arguments and options.\n"],
    [['validate', '--format'], "mergekey: option '--format <value>' argument missing\nRun 'mergekey validate --help' for its arguments and options.\n"],
    [['init', 'x', '--git=yes'], "mergekey: option '--git' does not take an argument\nRun 'mergekey init --help' for its arguments and options.\n"],
    [['init', 'x', '--issuer', '-q'], "mergekey: option '--issuer' needs a value (use --issuer=VALUE for one that starts with '-')\nRun 'mergekey init --help' for its arguments and options.\n"],
    [['validate', '--format', 'xml'], "mergekey: option '--format' must be one of text, json (got 'xml')\nRun 'mergekey validate --help' for its arguments and options.\n"],
    [['app', 'list', '--status', 'pending'], "mergekey: option '--status' must be a status or state: awaiting-approval, approved, rejected, cancelled, active, inactive (got 'pending')\nWords as the list prints them work too: --status \"awaiting approval\".\n"],
    [['validte'], "mergekey: unknown command 'validte'\nDid you mean 'mergekey validate'? Run 'mergekey --help' for the list of commands.\n"],
    [['--verbose'], "mergekey: unknown option '--verbose'\nRun 'mergekey --help' for the list of commands.\n"],
    [['help', 'nope'], "mergekey: unknown command 'nope'\nRun 'mergekey --help' for the list of commands.\n"],
    [['app', 'lst'], "mergekey: unknown command 'app lst'\nDid you mean 'mergekey app list'? Run 'mergekey app --help' for its commands.\n"],
    [['token', 'revok', 'billing'], "mergekey: unknown command 'token revok'\nDid you mean 'mergekey token revoke'? Run 'mergekey token --help' for its commands.\n"],
    [['app', 'frobnicate'], "mergekey: unknown command 'app frobnicate'\nRun 'mergekey app --help' for its commands.\n"],
    [['help', 'review', 'aprove'], "mergekey: unknown command 'review aprove'\nDid you mean 'mergekey help review approve'? Run 'mergekey --help' for the list of commands.\n"],
    [['help', 'tokn'], "mergekey: unknown command 'tokn'\nDid you mean 'mergekey help token'? Run 'mergekey --help' for the list of commands.\n"],
  ])('%j is a usage error (exit 2)', async (argv, stderr) => {
    expect(await run(argv)).toEqual({ code: 2, stdout: '', stderr });
  });

  it('documents every argument and option of every command, the same way for --help and help <command>', async () => {
    const set = await loadCommandSet();
    for (const command of set.commands) {
      const words = command.name.split(' ');
      const viaFlag = await run([...words, '--help']);
      expect(viaFlag.code).toBe(0);
      expect(await run(['help', ...words])).toEqual(viaFlag);
      expect(viaFlag.stdout).toContain(`Usage: mergekey ${command.name}`);
      for (const arg of command.arguments) expect(viaFlag.stdout).toMatch(new RegExp(`^  ${arg.name}\\b`, 'm'));
      for (const [flag, spec] of Object.entries(command.options)) {
        expect(viaFlag.stdout).toContain(`--${flag}${spec.type === 'string' ? ` ${spec.valueName ?? 'VALUE'}` : ''}`);
        if (spec.default !== undefined) expect(viaFlag.stdout.replace(/\s+/g, ' ')).toContain(`default: ${spec.default})`);
      }
    }
  });

  it('shows help even when another option is wrong, as git does', async () => {
    const result = await run(['validate', '--bogus', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: mergekey validate');
  });

  it('declares commands the parser and help can both use', async () => {
    for (const command of (await loadCommandSet()).commands) {
      expect(command.summary, command.name).toMatch(/^[A-Z].*\.$/);
      const shorts = Object.values(command.options).flatMap((spec) => (spec.short === undefined ? [] : [spec.short]));
      expect(shorts, `${command.name}: -h is --help`).not.toContain('h');
      expect(new Set(shorts).size, `${command.name}: duplicate short options`).toBe(shorts.length);
      const keys = [...command.arguments.map((arg) => camelCase(arg.name)), ...Object.keys(command.options).map(camelCase)];
      expect(new Set(keys).size, `${command.name}: an argument and an option share a name`).toBe(keys.length);
      expect(command.arguments.slice(0, -1).some((arg) => arg.variadic === true), `${command.name}: variadic not last`).toBe(false);
      for (const spec of Object.values(command.options)) expect(spec.description).not.toBe('');
    }
  });
});

describe('main with a command group', () => {
  const calls: unknown[] = [];
  const newCommand = defineCommand({
    summary: 'Create an application.',
    arguments: [{ name: 'NAME', description: 'Its name.', required: true }],
    options: {
      scope: { type: 'string', valueName: 'SCOPE', description: 'A scope.', multiple: true },
      'dry-run': { type: 'boolean', description: 'Show, do not write.' },
      plan: { type: 'string', description: 'The plan.', default: 'standard', choices: ['standard', 'premium'] },
    },
    run: async (input) => {
      calls.push(input);
      return { name: input.name, scopes: input.scope, dryRun: input.dryRun, plan: input.plan };
    },
    render: (result) => `created ${result.name}`,
  });
  // Text from elsewhere (a pull request's title, a reviewer's reason), with terminal controls in it.
  const remote = 'Bills\x1b[1A\x1b[2K customers\r\u009b2J\tmonthly\u0007';
  const echoing = defineCommand({
    summary: 'Echo remote text.',
    arguments: [],
    options: { fail: { type: 'boolean', description: 'As an error.' } },
    run: async (input) => {
      if (input.fail) throw failure(`refused: ${remote}`);
      return remote;
    },
    render: (result) => `${result}\nnext line`,
  });
  const failing = defineCommand({
    summary: 'Fail.',
    arguments: [],
    options: { crash: { type: 'boolean', description: 'Throw something unexpected.' } },
    run: async (input): Promise<never> => {
      if (input.crash) throw new TypeError('boom');
      throw failure('the request was refused', { hint: 'Ask a publisher.' });
    },
    render: () => '',
  });
  const fake: Registry = {
    commands: {
      'app new': async (): Promise<CommandModule> => ({ command: newCommand }),
      'app fail': async (): Promise<CommandModule> => ({ command: failing }),
      'app echo': async (): Promise<CommandModule> => ({ command: echoing }),
    },
    groups: { app: 'Register and manage applications.' },
  };

  it('runs a command named by two words with typed, defaulted input', async () => {
    expect(await run(['app', 'new', 'billing', '--scope', 'a', '--scope', 'b'], fake)).toEqual({
      code: 0,
      stdout: 'created billing\n',
      stderr: '',
    });
    expect(calls.at(-1)).toEqual({ name: 'billing', scope: ['a', 'b'], dryRun: false, plan: 'standard' });
  });

  it('shows the group on `mergekey app --help` (exit 0) and on a bare `mergekey app` (exit 2)', async () => {
    const asked = await run(['app', '--help'], fake);
    expect(asked.code).toBe(0);
    expect(asked.stdout).toContain('Usage: mergekey app <command>');
    expect(asked.stdout).toMatch(/^ {2}app new NAME +Create an application\.$/m);
    expect(await run(['help', 'app'], fake)).toEqual(asked);
    expect(await run(['app'], fake)).toEqual({ code: 2, stdout: '', stderr: asked.stdout });
  });

  it('refuses an unknown command in the group', async () => {
    expect(await run(['app', 'bogus'], fake)).toEqual({
      code: 2,
      stdout: '',
      stderr: "mergekey: unknown command 'app bogus'\nRun 'mergekey app --help' for its commands.\n",
    });
  });

  it('writes no terminal control from what it shows: escapes, carriage returns and bells are made visible; newlines and tabs stay', async () => {
    expect(await run(['app', 'echo'], fake)).toEqual({
      code: 0,
      stdout: 'Bills\\x1b[1A\\x1b[2K customers\\x0d\\x9b2J\tmonthly\\x07\nnext line\n',
      stderr: '',
    });
    expect(await run(['app', 'echo', '--fail'], fake)).toEqual({
      code: 1,
      stdout: '',
      stderr: 'mergekey: refused: Bills\\x1b[1A\\x1b[2K customers\\x0d\\x9b2J\tmonthly\\x07\n',
    });
  });

  it('maps a failure to exit 1 with its hint, and anything unexpected to exit 1 without a stack', async () => {
    expect(await run(['app', 'fail'], fake)).toEqual({
      code: 1,
      stdout: '',
      stderr: 'mergekey: the request was refused\nAsk a publisher.\n',
    });
    const crash = await run(['app', 'fail', '--crash'], fake);
    expect(crash.code).toBe(1);
    expect(crash.stderr).toMatch(/^mergekey: unexpected error: boom\n/);
    expect(crash.stderr).not.toContain('at ');
  });
});
