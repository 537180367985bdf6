// A small, valid manifests repository as text, and sealed values made at run time (no key is
// ever committed). Tests change one file at a time and check exactly what is reported.
import { calculateJwkThumbprint, CompactEncrypt, exportJWK, generateKeyPair, type JWK } from 'jose';
import type { RepoFile } from '../../../controller/manifests/model.ts';

export interface SealingKey {
  kid: string;
  publicJwk: JWK;
  /** A compact JWE in Mergekey's sealed format; `header` overrides or adds header members. */
  seal(bind: string, options?: { secret?: string; header?: Record<string, unknown> }): Promise<string>;
}

export async function makeSealingKey(): Promise<SealingKey> {
  const { publicKey } = await generateKeyPair('ECDH-ES+A256KW', { crv: 'X25519' });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  return {
    kid,
    publicJwk: { ...publicJwk, kid, use: 'enc', alg: 'ECDH-ES+A256KW' },
    seal: (bind, { secret = 'a-client-secret-with-enough-entropy-0123456789', header = {} } = {}) =>
      new CompactEncrypt(new TextEncoder().encode(secret))
        .setProtectedHeader({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', kid, bind, ...header })
        .encrypt(publicKey),
  };
}

export type RepoTexts = Record<string, string | Uint8Array>;

/**
 * The valid repository. Line numbers matter to the tests: in apps/billing.yaml, `clientId` is on
 * line 9, `scopes` on 10, `plan` on 12 and the sealed value on line 15, at column 17.
 */
export async function validRepo(key: SealingKey): Promise<RepoTexts> {
  return {
    'mergekey.yaml': settingsYaml(key),
    'plans/standard.yaml': planYaml('standard'),
    'plans/gold.yaml': planYaml('gold'),
    'apis/invoices.yaml': INVOICES_API_YAML,
    'users/alice.yaml': userYaml('alice', 'alice-gh'),
    'users/bob.yaml': userYaml('bob', 'bob-gh'),
    'apps/billing.yaml': await billingYaml(key),
    'apps/reports.yaml': `apiVersion: mergekey/v1
kind: Application
metadata:
  name: reports
spec:
  description: Nightly reports.
  owners: [bob]
  clientId: mk_reports_0001
  tokenEndpointAuthMethod: private_key_jwt
  credentials:
    jwks:
      keys:
        - { kty: EC, crv: P-256, x: f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU, y: x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0 }
`,
    'README.md': '# manifests\n',
    '.github/workflows/check.yaml': 'on: pull_request\n',
    'apps/.gitkeep': '',
  };
}

/** `mergekey.yaml`, recording the public half of `key` (a fixture key or a controller's) when given. */
export function settingsYaml(key?: SealingKey | { x: string; kid: string }): string {
  const x = key === undefined ? undefined : 'publicJwk' in key ? String(key.publicJwk.x) : key.x;
  const sealingKey = key === undefined
    ? ''
    : `  sealingKey: { kty: OKP, crv: X25519, x: ${x}, kid: ${key.kid}, use: enc, alg: ECDH-ES+A256KW }\n`;
  return `apiVersion: mergekey/v1
kind: Settings
metadata:
  name: mergekey
spec:
  issuer: https://auth.example.com
  defaultPlan: standard
${sealingKey}`;
}

/** An Api publishing invoices:read and invoices:write. */
export const INVOICES_API_YAML = `apiVersion: mergekey/v1
kind: Api
metadata:
  name: invoices
spec:
  description: Creates and reads invoices.
  audience: https://api.example.com/invoices
  scopes:
    - name: invoices:read
      description: Read invoices.
    - name: invoices:write
      description: Create invoices.
`;

export function planYaml(name: string): string {
  return `apiVersion: mergekey/v1
kind: Plan
metadata:
  name: ${name}
spec:
  description: The ${name} plan.
`;
}

export function userYaml(name: string, githubLogin: string, roles?: string[]): string {
  return `apiVersion: mergekey/v1
kind: User
metadata:
  name: ${name}
spec:
  githubLogin: ${githubLogin}
${roles === undefined ? '' : `  roles: [${roles.join(', ')}]\n`}`;
}

export async function billingYaml(key: SealingKey, sealed?: string): Promise<string> {
  return `apiVersion: mergekey/v1
kind: Application
metadata:
  name: billing
spec:
  displayName: Billing
  description: Sends invoices.
  owners: [alice, bob]
  clientId: mk_billing_0001
  scopes: [invoices:read, open]
  grantTypes: [client_credentials, refresh_token]
  plan: gold
  credentials:
    secrets:
      - sealed: ${sealed ?? (await key.seal('Application/billing'))}
        expiresAt: 2030-01-01T00:00:00Z
`;
}

/**
 * A public client (a single-page app) signing people in: no credentials, PKCE at the token
 * endpoint. Lines: `grantTypes` on 10, the redirect URIs on 12 and 13 (column 7), the auth
 * method on 14.
 */
export function spaYaml(name = 'spa', clientId = 'mk_spa_0001'): string {
  return `apiVersion: mergekey/v1
kind: Application
metadata:
  name: ${name}
spec:
  description: A single-page app.
  owners: [alice]
  clientId: ${clientId}
  scopes: [openid, profile, email, invoices:read]
  grantTypes: [authorization_code, refresh_token]
  redirectUris:
    - https://spa.example.com/callback
    - http://127.0.0.1/callback
  tokenEndpointAuthMethod: none
`;
}

export function toFiles(texts: RepoTexts): RepoFile[] {
  return Object.entries(texts).map(([path, content]) => ({
    path,
    content: typeof content === 'string' ? new TextEncoder().encode(content) : content,
  }));
}
