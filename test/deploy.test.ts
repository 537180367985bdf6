// The deployment examples under deploy/ (README "Running several replicas") against the real
// program: every command line they run is parsed by the CLI's own parser for that command, every
// environment variable they set is one that command reads, the values resolve into a serve
// configuration, the paths agree with the data directory's layout, and the probes name routes the
// operator listener really answers (and the public one does not).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { camelCase, parseCommandArgv, type Command } from '../cli/command.ts';
import { registry } from '../cli/registry.ts';
import { resolveServeConfig, SERVE_OPTIONS, type ServeFlags } from '../controller/config/defaults.ts';
import { KEYS_DIR } from '../controller/sealing/keys.ts';
import { parseStateUrl } from '../controller/store/postgres/connect.ts';
import { startTestServer, type TestServer } from './support/server.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const read = (path: string) => readFileSync(join(root, path), 'utf8');

/** The command `argv` runs (`serve`, `db migrate`), from the registry, and the arguments after its words. */
async function commandOf(argv: readonly string[]): Promise<{ command: Command; rest: string[] }> {
  for (const words of [2, 1]) {
    const name = argv.slice(0, words).join(' ');
    const load = registry.commands[name];
    if (load !== undefined) return { command: { name, ...(await load()).command }, rest: argv.slice(words) };
  }
  throw new Error(`no mergekey command in: ${argv.join(' ')}`);
}

/** The environment variables a command reads: its options' documented `(env NAME…)`. */
function environmentOf(command: Command): Set<string> {
  const names = Object.values(command.options).flatMap((option) => [...option.description.matchAll(/\(env (MERGEKEY_[A-Z_]+)/g)].map((match) => match[1]!));
  return new Set(names);
}

/** What the CLI parsed, as the flags `resolveServeConfig` takes (serve only). */
function serveFlags(input: Record<string, unknown>): ServeFlags {
  const flags: Record<string, string | boolean> = {};
  for (const { flag } of SERVE_OPTIONS) {
    const value = input[camelCase(flag)];
    if (typeof value === 'string' || value === true) flags[flag] = value;
  }
  return flags as ServeFlags;
}

/** Parses `argv` with the command's own parser: an unknown flag or a missing value throws. */
async function parse(argv: readonly string[]): Promise<{ command: Command; input: Record<string, unknown> }> {
  const { command, rest } = await commandOf(argv);
  const parsed = parseCommandArgv(command, rest);
  if (parsed.help) throw new Error(`${argv.join(' ')} asks for help`);
  return { command, input: parsed.input };
}

interface K8sEnv {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } };
}
interface K8sContainer {
  name: string;
  command?: string[];
  args?: string[];
  env?: K8sEnv[];
  ports?: { name: string; containerPort: number }[];
  readinessProbe?: { httpGet: { path: string; port: string } };
  livenessProbe?: { httpGet: { path: string; port: string } };
  volumeMounts?: { name: string; mountPath: string }[];
}
interface K8sObject {
  kind: string;
  metadata: { name: string };
  stringData?: Record<string, string>;
  spec: {
    replicas?: number;
    template: { spec: { initContainers: K8sContainer[]; containers: K8sContainer[]; volumes: { name: string; secret?: { secretName: string }; emptyDir?: object }[] } };
  };
}

const k8s = parseAllDocuments(read('deploy/kubernetes/mergekey.yaml')).map((document) => {
  if (document.errors.length > 0) throw new Error(`deploy/kubernetes/mergekey.yaml: ${document.errors.join('; ')}`);
  return document.toJS() as K8sObject;
});
const deployment = k8s.find((object) => object.kind === 'Deployment')!;
const pod = deployment.spec.template.spec;
const secrets = new Map(k8s.filter((object) => object.kind === 'Secret').map((secret) => [secret.metadata.name, secret.stringData ?? {}]));

/** A container's environment with every reference resolved: Secrets from this file, the pod's address made up. */
function environment(container: K8sContainer): Record<string, string> {
  const env: Record<string, string> = {};
  for (const variable of container.env ?? []) {
    const ref = variable.valueFrom?.secretKeyRef;
    const field = variable.valueFrom?.fieldRef;
    if (ref !== undefined) env[variable.name] = secrets.get(ref.name)![ref.key]!;
    else if (field?.fieldPath === 'status.podIP') env[variable.name] = '10.1.2.3';
    else env[variable.name] = variable.value!;
  }
  return env;
}

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.stop();
});

/** Checks that `path` is a route of the operator listener and not of the public one. */
async function expectOperatorRoute(path: string): Promise<void> {
  expect([path, (await fetch(`${server.server.adminUrl}${path}`)).status]).toEqual([path, 200]);
  expect([path, (await fetch(`${server.server.url}${path}`)).status]).toEqual([path, 404]);
}

describe('deploy/kubernetes/mergekey.yaml', () => {
  it('runs two replicas', () => {
    expect(deployment.spec.replicas).toBe(2);
  });

  it('runs only commands, flags and environment variables the CLI knows, with values serve accepts', async () => {
    const mergekeyContainers = [...pod.initContainers, ...pod.containers].filter((container) => container.args !== undefined);
    expect(mergekeyContainers.map((container) => container.args!.join(' '))).toEqual(['db migrate', 'serve']);
    for (const container of mergekeyContainers) {
      const { command, input } = await parse(container.args!);
      const env = environment(container);
      const known = environmentOf(command);
      expect(Object.keys(env).filter((name) => !known.has(name))).toEqual([]);
      // Both find the same database: the Secret's URL, which must parse (its password stays unprinted).
      expect(env.MERGEKEY_STATE).toBe(secrets.get('mergekey-state')!.url);
      expect(parseStateUrl(env.MERGEKEY_STATE!).protocol).toBe('postgres:');
      if (command.name === 'serve') {
        const config = resolveServeConfig(serveFlags(input), env);
        expect(config).toMatchObject({ data: '/var/lib/mergekey', host: '0.0.0.0', adminHost: '10.1.2.3', adminPort: 9000, workers: 2 });
      }
    }
  });

  it('gives every replica the same keys/, where the data directory keeps them, owner-only', () => {
    const serve = pod.containers.find((container) => container.args?.[0] === 'serve')!;
    const data = environment(serve).MERGEKEY_DATA!;
    const dataVolume = serve.volumeMounts!.find((mount) => mount.mountPath === data)!.name;
    const keys = pod.initContainers.find((container) => container.name === 'keys')!;
    expect(keys.volumeMounts!.find((mount) => mount.name === dataVolume)?.mountPath).toBe(data);
    const script = keys.command!.join(' ');
    expect(script).toContain(`install -d -m 0700 ${data}/${KEYS_DIR} `);
    expect(script).toContain(`install -m 0600 /etc/mergekey/keys/* ${data}/${KEYS_DIR}/`);
    const keysMount = keys.volumeMounts!.find((mount) => mount.mountPath === '/etc/mergekey/keys')!.name;
    expect(pod.volumes.find((volume) => volume.name === keysMount)?.secret?.secretName).toBe('mergekey-keys');
  });

  it('probes readiness and liveness on the operator listener, at routes it answers', async () => {
    const serve = pod.containers.find((container) => container.args?.[0] === 'serve')!;
    const operatorPort = serve.ports!.find((port) => port.name === 'operator')!.containerPort;
    expect(String(operatorPort)).toBe(environment(serve).MERGEKEY_ADMIN_PORT);
    expect([serve.readinessProbe!.httpGet.port, serve.livenessProbe!.httpGet.port]).toEqual(['operator', 'operator']);
    await expectOperatorRoute(serve.readinessProbe!.httpGet.path);
    await expectOperatorRoute(serve.livenessProbe!.httpGet.path);
    expect(serve.readinessProbe!.httpGet.path).toBe('/readyz');
  });
});

/** A systemd unit's `Key=value` lines, in order (comments and section headers dropped). */
function unitEntries(text: string): [string, string][] {
  return text
    .split('\n')
    .filter((line) => /^[A-Za-z_][A-Za-z0-9_]*=/.test(line))
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]);
}

describe('deploy/systemd', () => {
  const unit = unitEntries(read('deploy/systemd/mergekey@.service'));
  const value = (key: string) => unit.filter(([name]) => name === key).map(([, v]) => v);
  const envFile = Object.fromEntries(unitEntries(read('deploy/systemd/mergekey.env')));

  it('starts mergekey serve with flags and an environment file it knows, with values it accepts', async () => {
    const [execStart] = value('ExecStart');
    const [program, ...argv] = execStart!.replaceAll('%i', 'a').split(/\s+/);
    expect(program).toMatch(/\/mergekey$/);
    const { command, input } = await parse(argv);
    expect(command.name).toBe('serve');
    const known = environmentOf(command);
    expect(Object.keys(envFile)).toEqual(expect.arrayContaining(['MERGEKEY_STATE', 'MERGEKEY_REPO', 'MERGEKEY_ISSUER']));
    expect(Object.keys(envFile).filter((name) => !known.has(name))).toEqual([]);
    expect(parseStateUrl(envFile.MERGEKEY_STATE!).protocol).toBe('postgres:');
    const config = resolveServeConfig(serveFlags(input), envFile);
    expect(config).toMatchObject({ data: '/var/lib/mergekey/a', adminHost: '127.0.0.1', adminPort: 9000 });
    // The unit's environment files: the shared one this example is, and the instance's own.
    expect(value('EnvironmentFile')).toEqual(['/etc/mergekey/mergekey.env', '-/etc/mergekey/%i.env']);
  });

  it('keeps each instance\'s data directory where systemd makes it, owner-only', () => {
    expect(value('StateDirectory')).toEqual(['mergekey/%i']);
    expect(value('StateDirectoryMode')).toEqual(['0700']);
    expect(value('ExecStart')[0]).toContain('--data /var/lib/mergekey/%i ');
  });
});
