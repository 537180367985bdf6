// The grants the token endpoint knows, by wire name. Adding a grant is one file and one line
// here; the token endpoint does not change.
import * as client_credentials from './client_credentials.ts';
import * as password from './password.ts';
import * as refresh_token from './refresh_token.ts';
import type { Grant, GrantType } from './types.ts';

export const GRANTS: ReadonlyMap<string, Grant> = new Map<GrantType, Grant>(
  [client_credentials, password, refresh_token].map((grant) => [grant.grantType, grant]),
);

export type { Grant, GrantRequest, GrantType } from './types.ts';
