// Turns a validated manifest into the record the store keeps. This is where sealed values are
// opened: each secret lives in memory only long enough to be hashed, and the record holds the
// hash. A value that cannot be opened (another key, bound to another object, tampered) makes the
// object invalid, with the position of the offending field, and its last good version stays.
import { createHash } from 'node:crypto';
import type { Kind, ManifestObject } from '../manifests/index.ts';
import type { ReconcileProblem } from '../store/sync-records.ts';
import { hashClientSecret, hashPassword, passwordSalt } from '../sealing/hashes.ts';
import { RECORD_VERSION, type ApiRecord, type ApplicationRecord, type PlanRecord, type SettingsRecord, type UserRecord } from '../store/records.ts';

/** Opens a sealed value for the object it must be bound to; rejects with a reason when it cannot. */
export interface SecretOpener {
  unseal(sealed: string, bind: { kind: 'Application' | 'User'; name: string }): Promise<string>;
}

export interface RecordContext {
  opener: SecretOpener;
  /** The key client secrets are hashed under (HMAC-SHA256). */
  secretHashKey: Uint8Array;
  /** The commit being applied; each record carries it. */
  commit: string;
}

export type StoreRecord =
  | { kind: 'Application'; record: ApplicationRecord }
  | { kind: 'Api'; record: ApiRecord }
  | { kind: 'Plan'; record: PlanRecord }
  | { kind: 'User'; record: UserRecord }
  | { kind: 'Settings'; record: SettingsRecord };

export type RecordResult = { ok: true; value: StoreRecord } | { ok: false; problems: ReconcileProblem[] };

export async function toRecord(object: ManifestObject, context: RecordContext): Promise<RecordResult> {
  const base = { v: RECORD_VERSION as typeof RECORD_VERSION, name: object.name, path: object.path, commit: context.commit };
  switch (object.kind) {
    case 'Application': {
      const { credentials, ...spec } = object.manifest.spec;
      const secrets: ApplicationRecord['secrets'] = [];
      const problems: ReconcileProblem[] = [];
      for (const [index, secret] of (credentials?.secrets ?? []).entries()) {
        try {
          const plaintext = await context.opener.unseal(secret.sealed, { kind: 'Application', name: object.name });
          secrets.push({ hash: hashClientSecret(context.secretHashKey, plaintext), ...(secret.expiresAt === undefined ? {} : { expiresAt: secret.expiresAt }) });
        } catch (error) {
          problems.push(sealedProblem(object, ['spec', 'credentials', 'secrets', index, 'sealed'], error));
        }
      }
      if (problems.length > 0) return { ok: false, problems };
      const record: ApplicationRecord = { ...base, spec, secrets, ...(credentials?.jwks === undefined ? {} : { jwks: credentials.jwks }) };
      return { ok: true, value: { kind: 'Application', record } };
    }
    case 'User': {
      const { password, ...spec } = object.manifest.spec;
      let opened: Pick<UserRecord, 'passwordHash' | 'passwordSealed'> = {};
      if (password !== undefined) {
        try {
          opened = {
            passwordHash: await hashPassword(
              await context.opener.unseal(password.sealed, { kind: 'User', name: object.name }),
              passwordSalt(context.secretHashKey, object.name, password.sealed),
            ),
            passwordSealed: createHash('sha256').update(password.sealed, 'utf8').digest('base64url'),
          };
        } catch (error) {
          return { ok: false, problems: [sealedProblem(object, ['spec', 'password', 'sealed'], error)] };
        }
      }
      return { ok: true, value: { kind: 'User', record: { ...base, spec, ...opened } } };
    }
    case 'Api':
      return { ok: true, value: { kind: 'Api', record: { ...base, spec: object.manifest.spec } } };
    case 'Plan':
      return { ok: true, value: { kind: 'Plan', record: { ...base, spec: object.manifest.spec } } };
    case 'Settings':
      return { ok: true, value: { kind: 'Settings', record: { ...base, spec: object.manifest.spec } } };
  }
}

function sealedProblem(object: ManifestObject, pointer: (string | number)[], error: unknown): ReconcileProblem {
  const reason = error instanceof Error ? error.message : String(error);
  return {
    path: object.path,
    ...object.locate(pointer),
    code: 'sealed.unopenable',
    message: `${pointer.join('.').replace(/\.(\d+)\./g, '[$1].')} cannot be opened: ${reason}`,
  };
}

/**
 * A stable hash of a manifest (keys sorted): equal fingerprints mean the stored record is already
 * right, so unchanged objects are neither unsealed nor rewritten.
 */
export function fingerprint(manifest: unknown): string {
  return createHash('sha256').update(canonicalJson(manifest)).digest('base64url');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * A stand-in object built from a stored record, for the cross-object rules only: when a manifest
 * is invalid at startup, its last good version still exists (other objects may name it), but the
 * in-memory copy of it was lost with the previous process. Sealed values are not needed by rules.
 */
export function objectFromRecord(kind: Kind, record: { name: string; path: string; spec: object }): ManifestObject {
  const spec: Record<string, unknown> = { ...record.spec };
  if (kind === 'Application') spec.credentials = {};
  return {
    path: record.path,
    kind,
    name: record.name,
    manifest: { apiVersion: 'mergekey/v1', kind, metadata: { name: record.name }, spec },
    locate: () => ({ line: 1, column: 1 }),
  } as unknown as ManifestObject;
}
