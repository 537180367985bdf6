// `npm run bench:validate [-- --apps N --runs N]`: how long `mergekey validate` takes on a large
// repository, and how much memory it needs. Target on a 2-core machine: 10,000 applications in
// under 2 s and 300 MB, measured end to end through the CLI, since that is what a user waits for.
//
// It generates a valid repository in a temporary folder (applications with sealed secrets or
// public JWKS, spread over APIs, plans and users), runs the real executable on it in a child
// process (wall time from spawn to exit, peak RSS reported by the child itself), then runs the
// two phases in process once to show where the time goes, and removes the folder.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { calculateJwkThumbprint, CompactEncrypt, exportJWK, generateKeyPair } from 'jose';
import { stringify } from 'yaml';

const TARGET_SECONDS = 2;
const TARGET_MB = 300;
const bin = fileURLToPath(new URL('../cli/bin/mergekey.js', import.meta.url));

interface Sizes {
  apps: number;
  apis: number;
  scopesPerApi: number;
  users: number;
}

async function generate(dir: string, sizes: Sizes): Promise<void> {
  const sealing = await generateKeyPair('ECDH-ES+A256KW', { crv: 'X25519', extractable: true });
  const publicJwk = await exportJWK(sealing.publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const signing = await exportJWK((await generateKeyPair('ES256', { extractable: true })).publicKey);
  const plans = ['standard', 'premium', 'partner'];
  const files = new Map<string, unknown>();
  const manifest = (kind: string, name: string, spec: unknown) => ({ apiVersion: 'mergekey/v1', kind, metadata: { name }, spec });

  files.set(
    'mergekey.yaml',
    manifest('Settings', 'mergekey', {
      issuer: 'http://127.0.0.1:8080',
      defaultPlan: 'standard',
      sealingKey: { kty: 'OKP', crv: 'X25519', x: publicJwk.x, kid, use: 'enc', alg: 'ECDH-ES+A256KW' },
    }),
  );
  for (const plan of plans) {
    files.set(`plans/${plan}.yaml`, manifest('Plan', plan, { description: `The ${plan} plan.`, accessTokenTtl: '15m' }));
  }
  const scopes: string[] = [];
  for (let a = 0; a < sizes.apis; a++) {
    const name = `api-${pad(a, 3)}`;
    const apiScopes = Array.from({ length: sizes.scopesPerApi }, (_, s) => `${name}:scope-${s}`);
    scopes.push(...apiScopes);
    files.set(
      `apis/${name}.yaml`,
      manifest('Api', name, {
        description: `Generated API ${a}.`,
        audience: `https://api.example.com/${name}`,
        scopes: apiScopes.map((scope) => ({ name: scope, description: `Generated scope ${scope}.` })),
      }),
    );
  }
  for (let u = 0; u < sizes.users; u++) {
    const name = `user-${pad(u, 4)}`;
    files.set(`users/${name}.yaml`, manifest('User', name, { email: `${name}@example.com`, roles: ['developer'] }));
  }
  for (let i = 0; i < sizes.apps; i++) {
    const name = `app-${pad(i, 5)}`;
    // One application in five authenticates with private_key_jwt, the rest with a sealed secret.
    const jwt = i % 5 === 0;
    const credentials = jwt
      ? { jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: signing.x, y: signing.y, use: 'sig', alg: 'ES256' }] } }
      : {
          secrets: [
            {
              sealed: await new CompactEncrypt(new TextEncoder().encode(`secret-${i}-${'x'.repeat(32)}`))
                .setProtectedHeader({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', kid, bind: `Application/${name}` })
                .encrypt(sealing.publicKey),
            },
          ],
        };
    files.set(
      `apps/${name}.yaml`,
      manifest('Application', name, {
        displayName: `Generated application ${i}`,
        description: `A generated application for the validate benchmark (${i}).`,
        owners: [`user-${pad(i % sizes.users, 4)}`],
        clientId: `bench-client-${pad(i, 6)}`,
        state: i % 10 === 9 ? 'inactive' : 'active',
        scopes: [scopes[i % scopes.length], scopes[(i * 7 + 3) % scopes.length]].filter((s, k, all) => all.indexOf(s) === k),
        grantTypes: i % 3 === 0 ? ['password', 'refresh_token'] : ['client_credentials'],
        plan: plans[i % plans.length],
        tokenEndpointAuthMethod: jwt ? 'private_key_jwt' : i % 2 === 0 ? 'client_secret_basic' : 'client_secret_post',
        credentials,
      }),
    );
  }
  for (const folder of ['apps', 'apis', 'plans', 'users']) await mkdir(join(dir, folder), { recursive: true });
  const entries = [...files];
  await Promise.all(
    Array.from({ length: 32 }, async (_, worker) => {
      for (let k = worker; k < entries.length; k += 32) {
        const [path, value] = entries[k]!;
        await writeFile(join(dir, path), stringify(value, { lineWidth: 0 }));
      }
    }),
  );
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

interface Measurement {
  seconds: number;
  maxRssMb: number;
  exitCode: number;
  summary: string;
}

/**
 * Runs the CLI as a user does. A preloaded module reports the child's own peak RSS on fd 3 when it
 * exits, which works on any machine (no dependency on /usr/bin/time).
 */
function runCli(dir: string): Promise<Measurement> {
  const reportRss = `import { writeSync } from 'node:fs'; process.on('exit', () => { try { writeSync(3, String(process.resourceUsage().maxRSS)); } catch {} });`;
  const args = ['--import', `data:text/javascript,${encodeURIComponent(reportRss)}`, bin, 'validate', dir];
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let rss = '';
    child.stdout!.on('data', (chunk: Buffer) => void (stdout += chunk));
    child.stderr!.on('data', (chunk: Buffer) => void (stderr += chunk));
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (chunk: Buffer) => void (rss += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const lines = stdout.trimEnd().split('\n');
      resolve({
        seconds,
        maxRssMb: Number(rss) / 1024,
        exitCode: code ?? -1,
        summary: code === 0 ? lines.at(-1)! : `${lines.slice(0, 5).join('\n')}\n${stderr}`,
      });
    });
  });
}

/** The two phases of validate, in this process, once: where the time goes. */
async function phases(dir: string): Promise<{ readSeconds: number; validateSeconds: number }> {
  const { readRepositoryFiles } = await import('../cli/read-repository.ts');
  const { validateRepository } = await import('../controller/manifests/index.ts');
  const t0 = performance.now();
  const { files } = readRepositoryFiles(dir);
  const t1 = performance.now();
  validateRepository(files);
  const t2 = performance.now();
  return { readSeconds: (t1 - t0) / 1000, validateSeconds: (t2 - t1) / 1000 };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { apps: { type: 'string', default: '10000' }, runs: { type: 'string', default: '3' } },
    strict: true,
  });
  const sizes: Sizes = { apps: Number(values.apps), apis: 20, scopesPerApi: 5, users: 200 };
  const runs = Number(values.runs);
  const dir = await mkdtemp(join(tmpdir(), 'mergekey-bench-'));
  try {
    const started = performance.now();
    await generate(dir, sizes);
    console.log(
      `generated ${sizes.apps} applications, ${sizes.apis} APIs, 3 plans, ${sizes.users} users in ${dir} ` +
        `(${((performance.now() - started) / 1000).toFixed(1)} s)`,
    );

    console.log(`mergekey validate, end to end (node ${bin} validate DIR):`);
    const measured: Measurement[] = [];
    for (let run = 1; run <= runs; run++) {
      const m = await runCli(dir);
      measured.push(m);
      console.log(`  run ${run}: ${m.seconds.toFixed(2)} s, peak RSS ${m.maxRssMb.toFixed(0)} MB, exit ${m.exitCode}`);
      if (m.exitCode !== 0) {
        console.error(`the generated repository did not validate:\n${m.summary}`);
        return 1;
      }
    }
    console.log(`  ${measured[0]!.summary}`);
    const seconds = median(measured.map((m) => m.seconds));
    const mb = Math.max(...measured.map((m) => m.maxRssMb));
    console.log(
      `  median ${seconds.toFixed(2)} s (target < ${TARGET_SECONDS} s: ${seconds < TARGET_SECONDS ? 'met' : 'MISSED'}), ` +
        `peak ${mb.toFixed(0)} MB (target < ${TARGET_MB} MB: ${mb < TARGET_MB ? 'met' : 'MISSED'})`,
    );

    const p = await phases(dir);
    console.log(
      `in process, once: read files ${p.readSeconds.toFixed(2)} s, validateRepository ${p.validateSeconds.toFixed(2)} s ` +
        '(the rest of the end-to-end time is starting node, tsx and the modules)',
    );
    return 0;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

process.exitCode = await main();
