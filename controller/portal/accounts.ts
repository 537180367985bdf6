// Portal accounts are the User manifests the controller applied: a user signs in with the
// password sealed in their manifest (kept in the store as a scrypt hash) and acts with the roles
// it lists. Roles and passwords are read from the store on every request, so a merged change to
// users/NAME.yaml takes effect at once.
import { passwordMatches } from '../sealing/hashes.ts';
import type { ConfigReader } from '../store/config.ts';
import type { UserRecord } from '../store/records.ts';

export type Role = 'developer' | 'publisher';

export interface PortalUser {
  /** metadata.name: what owners lists and what requests record. */
  name: string;
  displayName: string;
  roles: readonly Role[];
  githubLogin?: string;
}

export function portalUser(record: UserRecord): PortalUser {
  return {
    name: record.name,
    displayName: record.spec.displayName ?? record.name,
    roles: record.spec.roles,
    ...(record.spec.githubLogin === undefined ? {} : { githubLogin: record.spec.githubLogin }),
  };
}

export function hasRole(user: PortalUser, role: Role): boolean {
  return user.roles.includes(role);
}

// An unknown user costs the same scrypt as a known one, so response times do not tell names apart.
const DUMMY_HASH = 'scrypt$32768$8$1$nmnrpAwPH5ZJvLeZv2U8fg$Zct0wpk2hlWhOZF6yNVXLKAwGh5ix-ywsCj6nkp4suQ';

const NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
// scrypt's cost does not depend on the length, but the body does not need to carry a novel.
const MAX_PASSWORD_LENGTH = 1024;

/** The name, when it is an account's (so a log line may carry it); undefined for anything else typed. */
export function accountNamed(config: Pick<ConfigReader, 'user'>, typed: string): string | undefined {
  return NAME.test(typed) && config.user(typed) !== undefined ? typed : undefined;
}

/**
 * What the sign-in throttles count a name under: the name itself when it could be an account's,
 * one shared key for anything else (no account has such a name, and a 60 KB "name" must not
 * become a 60 KB key in memory).
 */
export function throttleName(typed: string): string {
  return NAME.test(typed) ? typed : '\u0000not-a-name';
}

/** The user whose password this is, or undefined (unknown user, no password, wrong password). */
export async function checkPassword(config: Pick<ConfigReader, 'user'>, name: string, password: string): Promise<UserRecord | undefined> {
  const record = NAME.test(name) ? config.user(name) : undefined;
  const hash = record?.passwordHash;
  if (password.length > MAX_PASSWORD_LENGTH) return undefined;
  const matches = await passwordMatches(password, hash ?? DUMMY_HASH);
  return matches && hash !== undefined ? record : undefined;
}
