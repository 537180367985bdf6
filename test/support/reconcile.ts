// Fixtures for reconciler tests: a consistent manifests repository as object literals, and a
// store in a temp dir.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type Store } from '../../controller/store/open.ts';

export function tempDir(prefix = 'mergekey-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export function openTempStore(dataDir: string): Store {
  return openStore(dataDir);
}

export const SETTINGS_YAML = `apiVersion: mergekey/v1
kind: Settings
metadata:
  name: mergekey
spec:
  issuer: https://auth.example.com
  defaultPlan: standard
`;

export const PLAN_YAML = `apiVersion: mergekey/v1
kind: Plan
metadata:
  name: standard
spec:
  description: The default plan.
`;

export function userYaml(name: string, sealedPassword?: string): string {
  return `apiVersion: mergekey/v1
kind: User
metadata:
  name: ${name}
spec:
  roles: [developer]
${sealedPassword === undefined ? '' : `  password:\n    sealed: ${sealedPassword}\n`}`;
}

export interface AppFields {
  clientId?: string;
  state?: 'active' | 'inactive';
  description?: string;
  owners?: string[];
}

/** The lines every Application fixture starts with, up to and including `state`. */
function applicationHead(name: string, fields: AppFields): string {
  return `apiVersion: mergekey/v1
kind: Application
metadata:
  name: ${name}
spec:
  description: ${fields.description ?? `The ${name} application.`}
  owners: [${(fields.owners ?? ['alice']).join(', ')}]
  clientId: ${fields.clientId ?? `${name}-client-0001`}
  state: ${fields.state ?? 'active'}`;
}

export function appYaml(name: string, sealedSecret: string, fields: AppFields = {}): string {
  return `${applicationHead(name, fields)}
  credentials:
    secrets:
      - sealed: ${sealedSecret}
`;
}

/** The shared part of every fixture repository: settings, a plan and a user. */
export const BASE_FILES = {
  'mergekey.yaml': SETTINGS_YAML,
  'plans/standard.yaml': PLAN_YAML,
  'users/alice.yaml': userYaml('alice'),
};

/** An application authenticating with private_key_jwt: no sealed value, so no keys are needed. */
export function jwtAppYaml(name: string, fields: AppFields = {}): string {
  return `${applicationHead(name, fields)}
  tokenEndpointAuthMethod: private_key_jwt
  credentials:
    jwks:
      keys:
        - kty: OKP
          crv: Ed25519
          x: 11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo
`;
}

/**
 * A public client (a single-page app signing people in): tokenEndpointAuthMethod none, no
 * credentials at all, the authorization_code grant and its redirect URIs.
 */
export function publicAppYaml(name: string, fields: AppFields & { consent?: 'skip' } = {}): string {
  return `${applicationHead(name, fields)}
  scopes: [openid, profile, email]
  grantTypes: [authorization_code, refresh_token]
  redirectUris: [https://${name}.example.com/callback, http://127.0.0.1/callback]
  tokenEndpointAuthMethod: none
${fields.consent === undefined ? '' : `  consent: ${fields.consent}\n`}`;
}
