import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { exportJWK } from 'jose';
import { parse } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadManifest, validateRepository } from '../../controller/manifests/index.ts';
import { loadOrCreateKeys, type ControllerKeys } from '../../controller/sealing/keys.ts';
import { CliError } from '../errors.ts';
import { readRepositoryFiles } from '../read-repository.ts';
import { uniqueClientId } from '../../controller/requests/create.ts';
import { NO_SEALING_KEY } from '../../controller/requests/secrets.ts';
import { appNew, command, type AppNewOptions } from './app-new.ts';
import { init } from './init.ts';

const ISSUER = 'https://auth.example.com';
let tmp: string;
let keys: ControllerKeys;
let repo: string;
let env: NodeJS.ProcessEnv;
let credentialsFile: string;

beforeEach(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'mergekey-app-new-'));
  keys = await loadOrCreateKeys(join(tmp, 'controller'));
  writeFileSync(join(tmp, 'key.jwk'), JSON.stringify(keys.sealingPublicJwk));
  repo = join(tmp, 'manifests');
  await init({ dir: repo, sealingKey: join(tmp, 'key.jwk'), issuer: ISSUER });
  addUser('alice');
  credentialsFile = join(tmp, 'home', '.config', 'mergekey', 'credentials.json');
  env = { HOME: join(tmp, 'home') };
});
afterEach(() => {
  rmSync(tmp, { recursive: true, force: true });
});

function addUser(name: string): void {
  writeFileSync(join(repo, 'users', `${name}.yaml`), `apiVersion: mergekey/v1\nkind: User\nmetadata:\n  name: ${name}\nspec:\n  roles: [developer]\n`);
}

function newApp(options: Partial<AppNewOptions> = {}) {
  return appNew({ name: 'billing', dir: repo, description: 'Bills customers every month.', env, ...options });
}

async function failureOf(promise: Promise<unknown>): Promise<CliError> {
  const err = await promise.then(
    () => {
      throw new Error('expected a CliError');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CliError);
  return err as CliError;
}

const mode = (path: string) => statSync(path).mode & 0o777;

describe('app new', () => {
  it('writes a manifest the loader accepts, whose sealed secret the controller opens to the secret it printed', async () => {
    const result = await newApp({ scopes: ['open'], grantTypes: ['client_credentials', 'refresh_token'] });
    expect(result.path).toBe('apps/billing.yaml');
    expect(result.clientId).toMatch(/^mk-[0-9a-z]{26}$/);
    expect(result.clientSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const text = readFileSync(join(repo, result.path), 'utf8');
    expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=../.mergekey/schemas/application.schema.json');
    expect(text).not.toContain(result.clientSecret);
    const { object, problems } = loadManifest({ path: result.path, content: Buffer.from(text) });
    expect(problems).toEqual([]);
    expect(object?.manifest).toMatchObject({
      kind: 'Application',
      metadata: { name: 'billing' },
      spec: { owners: ['alice'], clientId: result.clientId, state: 'active', grantTypes: ['client_credentials', 'refresh_token'] },
    });
    const whole = validateRepository(readRepositoryFiles(repo).files);
    expect(whole.problems).toEqual([]);

    const sealed = (parse(text) as { spec: { credentials: { secrets: { sealed: string }[] } } }).spec.credentials.secrets[0]!.sealed;
    expect(await keys.opener.unseal(sealed, { kind: 'Application', name: 'billing' })).toBe(result.clientSecret);
  });

  it('keeps the credentials in an owner-only file, keyed by issuer and application, without losing earlier ones', async () => {
    const billing = await newApp();
    const shop = await newApp({ name: 'shop' });
    expect(billing.credentialsFile).toBe(credentialsFile);
    expect(mode(credentialsFile)).toBe(0o600);
    expect(mode(join(tmp, 'home', '.config', 'mergekey'))).toBe(0o700);
    const saved = JSON.parse(readFileSync(credentialsFile, 'utf8')) as { issuers: Record<string, Record<string, { clientId: string; clientSecret: string }>> };
    expect(saved.issuers[ISSUER]?.billing).toMatchObject({ clientId: billing.clientId, clientSecret: billing.clientSecret });
    expect(saved.issuers[ISSUER]?.shop).toMatchObject({ clientId: shop.clientId, clientSecret: shop.clientSecret });
  });

  it('uses $MERGEKEY_CREDENTIALS when set', async () => {
    const file = join(tmp, 'elsewhere', 'creds.json');
    const result = await newApp({ env: { ...env, MERGEKEY_CREDENTIALS: file } });
    expect(result.credentialsFile).toBe(file);
    expect(mode(file)).toBe(0o600);
    expect(existsSync(credentialsFile)).toBe(false);
  });

  it('refuses an application that exists, and changes nothing', async () => {
    const first = await newApp();
    const before = readFileSync(join(repo, first.path), 'utf8');
    const err = await failureOf(newApp());
    expect(err.message).toBe(`apps/billing.yaml already exists in '${repo}'; application names are never reused`);
    expect(readFileSync(join(repo, first.path), 'utf8')).toBe(before);
    const saved = JSON.parse(readFileSync(credentialsFile, 'utf8')) as { issuers: Record<string, Record<string, { clientSecret: string }>> };
    expect(saved.issuers[ISSUER]?.billing?.clientSecret).toBe(first.clientSecret);
  });

  it('writes nothing when the new manifest would not validate against the repository', async () => {
    const err = await failureOf(newApp({ plan: 'platinum' }));
    expect(err.message).toMatch(/^the new application would not validate, so nothing was written:\n {2}apps\/billing\.yaml:\d+:\d+: .*platinum/);
    expect(existsSync(join(repo, 'apps', 'billing.yaml'))).toBe(false);
    expect(existsSync(credentialsFile)).toBe(false);
  });

  it('refuses a scope the repository does not define, with the closest one it does, and writes nothing', async () => {
    const far = await failureOf(newApp({ scopes: ['open', 'payments:read'] }));
    expect([far.code, far.message, far.hint]).toEqual(['USAGE', "option '--scopes': unknown scope 'payments:read'", 'Known scopes: open, openid, profile, email.']);
    const api = join(repo, 'apis', 'payments.yaml');
    writeFileSync(api, 'apiVersion: mergekey/v1\nkind: Api\nmetadata:\n  name: payments\nspec:\n  description: Payments.\n  audience: https://payments.example.test\n  scopes:\n    - name: payment:read\n      description: Read payments.\n');
    try {
      const near = await failureOf(newApp({ scopes: ['open', 'payments:read'] }));
      expect(near.hint).toBe("Did you mean 'payment:read'? Known scopes: open, openid, profile, email, payment:read.");
    } finally {
      unlinkSync(api);
    }
    expect(existsSync(join(repo, 'apps', 'billing.yaml'))).toBe(false);
    expect(existsSync(credentialsFile)).toBe(false);
    expect(existsSync(join(repo, 'apps', 'billing.yaml'))).toBe(false);
    expect(existsSync(credentialsFile)).toBe(false);
  });

  it('says where the sealing key goes when mergekey.yaml has none', async () => {
    const bare = join(tmp, 'bare');
    await init({ dir: bare });
    writeFileSync(join(bare, 'users', 'alice.yaml'), readFileSync(join(repo, 'users', 'alice.yaml')));
    const err = await failureOf(newApp({ dir: bare }));
    expect(err.message).toBe(NO_SEALING_KEY);
    expect(err.message).toBe('mergekey.yaml has no sealingKey: run `mergekey keys public --data …` on the controller and put it there');
    expect(existsSync(join(bare, 'apps', 'billing.yaml'))).toBe(false);
  });

  it('asks for an owner when the repository has several users, and refuses an unknown one', async () => {
    addUser('bob');
    const err = await failureOf(newApp());
    expect(err.code).toBe('USAGE');
    expect(err.message).toBe("name the application's owner with '--owner NAME' (users: alice, bob)");
    expect((await failureOf(newApp({ owners: ['carol'] }))).message).toBe("no user 'carol' in users/ (users: alice, bob)");
    const result = await newApp({ owners: ['bob', 'alice'] });
    expect((parse(readFileSync(join(repo, result.path), 'utf8')) as { spec: { owners: string[] } }).spec.owners).toEqual(['bob', 'alice']);
  });

  it('refuses bad input before touching anything', async () => {
    expect((await failureOf(newApp({ name: 'Billing' }))).code).toBe('USAGE');
    expect((await failureOf(newApp({ description: ' ' }))).message).toMatch(/'--description' is required/);
    expect((await failureOf(newApp({ grantTypes: ['implicit'] }))).message).toMatch(/'--grant-types' takes client_credentials, password, refresh_token, authorization_code \(got 'implicit'\)/);
    expect((await failureOf(newApp({ authMethod: 'private_key_jwt' }))).message).toMatch(/add '--jwks FILE'/);
    expect(existsSync(credentialsFile)).toBe(false);
  });

  it('writes public keys and no secret for private_key_jwt', async () => {
    const jwk = await exportJWK(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey);
    writeFileSync(join(tmp, 'app.jwks'), JSON.stringify({ keys: [{ ...jwk, kid: 'k1', use: 'sig', alg: 'ES256' }] }));
    const result = await newApp({ authMethod: 'private_key_jwt', jwks: join(tmp, 'app.jwks') });
    expect(result.clientSecret).toBeUndefined();
    const manifest = parse(readFileSync(join(repo, result.path), 'utf8')) as { spec: { credentials: unknown; tokenEndpointAuthMethod: string } };
    expect(manifest.spec.tokenEndpointAuthMethod).toBe('private_key_jwt');
    expect(manifest.spec.credentials).toEqual({ jwks: { keys: [{ ...jwk, kid: 'k1', use: 'sig', alg: 'ES256' }] } });
    expect(validateRepository(readRepositoryFiles(repo).files).problems).toEqual([]);
  });

  it('writes a public client with no credentials and prints no secret, even before the repository has a sealing key', async () => {
    const bare = join(tmp, 'bare');
    await init({ dir: bare, issuer: ISSUER });
    writeFileSync(join(bare, 'users', 'alice.yaml'), readFileSync(join(repo, 'users', 'alice.yaml')));
    const result = await newApp({
      name: 'spa',
      dir: bare,
      authMethod: 'none',
      scopes: ['openid', 'profile', 'email'],
      redirectUris: ['https://spa.example.com/callback', 'http://127.0.0.1/callback', 'https://spa.example.com/callback'],
    });
    expect(result.clientSecret).toBeUndefined();
    expect(result.publicClient).toBe(true);
    const manifest = parse(readFileSync(join(bare, result.path), 'utf8')) as { spec: Record<string, unknown> };
    expect(manifest.spec).toEqual({
      description: 'Bills customers every month.',
      owners: ['alice'],
      clientId: result.clientId,
      scopes: ['openid', 'profile', 'email'],
      grantTypes: ['authorization_code', 'refresh_token'],
      redirectUris: ['https://spa.example.com/callback', 'http://127.0.0.1/callback'],
      tokenEndpointAuthMethod: 'none',
    });
    expect(validateRepository(readRepositoryFiles(bare).files).problems).toEqual([]);
    const saved = JSON.parse(readFileSync(credentialsFile, 'utf8')) as { issuers: Record<string, Record<string, object>> };
    expect(saved.issuers[ISSUER]?.spa).toEqual({ clientId: result.clientId, createdAt: expect.any(String) });
    expect(command.render!(result, {})).toBe(
      [
        'Created apps/spa.yaml.',
        `  client id:     ${result.clientId}`,
        'A public client: no client secret. It signs people in with the authorization_code grant and PKCE (S256).',
        'Commit the file and open a pull request: the application works once a publisher merges it.',
      ].join('\n'),
    );
  });

  it('refuses a public client with no redirect URI, a redirect URI on localhost, and a public client with client_credentials', async () => {
    const missing = await failureOf(newApp({ name: 'spa', authMethod: 'none' }));
    expect(missing.message).toBe(
      'the new application would not validate, so nothing was written:\n' +
        '  apps/spa.yaml:12:7: spec.grantTypes[0]: authorization_code sends the user back to a registered redirect URI, and this application lists none: add spec.redirectUris',
    );
    const localhost = await failureOf(newApp({ name: 'spa', authMethod: 'none', redirectUris: ['http://localhost:3000/cb'] }));
    expect(localhost.code).toBe('USAGE');
    expect(localhost.message).toBe(
      "option '--redirect-uri' refuses 'http://localhost:3000/cb': names \"localhost\", which a resolver may send elsewhere (RFC 8252 section 8.3: NOT RECOMMENDED): use the loopback IP literal, http://127.0.0.1:3000/cb",
    );
    const machine = await failureOf(newApp({ name: 'spa', authMethod: 'none', grantTypes: ['client_credentials'] }));
    expect(machine.message).toBe(
      'the new application would not validate, so nothing was written:\n' +
        '  apps/spa.yaml:12:7: spec.grantTypes[0]: a public client (tokenEndpointAuthMethod none) has no secret to prove who asks, so it may use only authorization_code and refresh_token (with PKCE), not client_credentials',
    );
    expect(existsSync(join(repo, 'apps', 'spa.yaml'))).toBe(false);
    expect(existsSync(credentialsFile)).toBe(false);
  });

  it('writes nothing when the credentials file is readable by others', async () => {
    mkdirSync(join(tmp, 'home', '.config', 'mergekey'), { recursive: true });
    writeFileSync(credentialsFile, '{"version":1,"issuers":{}}');
    chmodSync(credentialsFile, 0o644);
    const err = await failureOf(newApp());
    expect(err.message).toBe(
      `refusing to use the credentials file: permissions 0644 on ${credentialsFile} are too open: it must be readable by its owner only (chmod 600 ${credentialsFile})`,
    );
    expect(existsSync(join(repo, 'apps', 'billing.yaml'))).toBe(false);
  });
});

describe('uniqueClientId', () => {
  it('skips an id an application already uses, whatever its case', () => {
    const files = [{ path: 'apps/old.yaml', content: Buffer.from('spec:\n  clientId: MK-TAKEN\n') }];
    const ids = ['mk-taken', 'mk-fresh'];
    expect(uniqueClientId(files, () => ids.shift()!)).toBe('mk-fresh');
  });
});
