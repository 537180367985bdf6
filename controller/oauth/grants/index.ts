// The grants the token endpoint knows, by wire name. Adding a grant is one file and one line
// here; the token endpoint does not change. The registry is typed as covering exactly the grant
// types the application schema allows (manifests/vocabulary.ts): a grant type added to the schema
// without a file here, or a file for one the schema does not know, fails to compile.
import { GRANT_TYPES, type GrantType } from '../../manifests/vocabulary.ts';
import * as authorization_code from './authorization_code.ts';
import * as client_credentials from './client_credentials.ts';
import * as password from './password.ts';
import * as refresh_token from './refresh_token.ts';
import type { Grant } from './types.ts';

const IMPLEMENTATIONS: { readonly [G in GrantType]: Grant<G> } = { client_credentials, password, refresh_token, authorization_code };

export const GRANTS: ReadonlyMap<string, Grant> = new Map(GRANT_TYPES.map((grantType) => [grantType, IMPLEMENTATIONS[grantType]]));

export type { Grant, GrantRequest } from './types.ts';
