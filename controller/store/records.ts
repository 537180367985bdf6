// What the controller keeps in LMDB for each manifest kind. A record is the validated spec minus
// every sealed value: sealed secrets are opened once, at reconcile time, and only their hashes are
// kept. `v` is the record layout's version, so a later release can migrate old records.
import type { ApiSpec, ApplicationSpec, Jwks, PlanSpec, Settings, UserSpec } from '../manifests/types.generated.ts';

export const RECORD_VERSION = 1;

interface RecordBase {
  v: typeof RECORD_VERSION;
  /** metadata.name */
  name: string;
  /** Repository path of the manifest, for status and error messages. */
  path: string;
  /** The commit this version of the object was applied from. */
  commit: string;
}

export interface StoredClientSecret {
  /** base64url HMAC-SHA256 of the secret under the controller's secret-hash key. */
  hash: string;
  expiresAt?: string;
}

export interface ApplicationRecord extends RecordBase {
  spec: Omit<ApplicationSpec, 'credentials'>;
  secrets: StoredClientSecret[];
  jwks?: Jwks;
}

export interface ApiRecord extends RecordBase {
  spec: ApiSpec;
}

export interface PlanRecord extends RecordBase {
  spec: PlanSpec;
}

export interface UserRecord extends RecordBase {
  spec: Omit<UserSpec, 'password'>;
  /**
   * scrypt hash of the opened password, in the PHC-like form `scrypt$N$r$p$salt$hash`, its salt
   * derived from the keys, the user and the sealed value (sealing/hashes.ts `passwordSalt`): the
   * same on every replica sharing the keys. Records written before that have a random salt.
   */
  passwordHash?: string;
  /**
   * SHA-256 (base64url) of the sealed password as the manifest holds it. Each sealing differs,
   * so it changes whenever the password is changed or sealed again, and not when another field
   * is edited (nor does the hash above any more, but records from before hashed with a new salt
   * at every write). A change ends the user's tokens and portal sessions (store/config.ts).
   */
  passwordSealed?: string;
}

export interface SettingsRecord extends RecordBase {
  spec: Settings['spec'];
}
