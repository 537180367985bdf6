// The Generate Access Token and Active Access Tokens sections.
//
// Generating calls the server's own token endpoint over HTTP, exactly as a client would: the
// developer pastes the application's client secret into the form (the portal never has it after
// creation), the portal sends it once and keeps it nowhere.
//
// Listing and revoking read and write the token state in-process, under the signed-in owner's
// authority (the routes check ownership first): the HTTP listing (`/api/v1/apps/:name/tokens`)
// answers only to the application's own client credentials, which the portal does not hold. The
// rules of what counts as live are those of `controller/oauth/app-tokens.ts`; an access token
// issued in the last few milliseconds may be missing, as from another worker (its record is
// written in a batch).
import { USER_SUBJECT_PREFIX } from '../oauth/defaults.ts';
import type { Store } from '../store/open.ts';
import type { ApplicationRecord } from '../store/records.ts';
import { tokenState, type TokenState } from '../store/token-state.ts';

export interface PortalToken {
  /** `at_<jti>` or `rt_<hash>`, as the HTTP listing names it: a handle, not the token. */
  id: string;
  masked: string;
  type: 'access_token' | 'refresh_token';
  subject: string;
  scope: string;
  issuedAt: string;
  expiresAt: string;
}

const ACCESS = 'at_';
const REFRESH = 'rt_';
const PAGE = 200;

export class AppTokens {
  readonly #store: Store;
  readonly #tokens: TokenState;
  readonly #now: () => number;

  constructor(store: Store, now: () => number) {
    this.#store = store;
    this.#tokens = tokenState(store);
    this.#now = now;
  }

  /** The application's live tokens (the first 200 records), access tokens first. */
  list(app: ApplicationRecord): { tokens: PortalToken[]; more: boolean } {
    if (app.spec.state !== 'active') return { tokens: [], more: false };
    const page = this.#tokens.listTokens(app.name, { limit: PAGE });
    const now = Math.floor(this.#now() / 1000);
    const revokedBefore = this.#tokens.revokedBefore(app.name);
    const live = (record: { iat: number; exp: number; sub: string }) =>
      record.exp > now && (revokedBefore === undefined || record.iat > revokedBefore) && this.#subjectExists(record.sub);
    const familyLive = (family: string) => {
      const found = this.#tokens.family(app.name, family);
      return found !== undefined && found.revokedAt === undefined;
    };
    const tokens: PortalToken[] = [];
    for (const record of page.access) {
      if (!live(record) || this.#tokens.accessTokenRevoked(app.name, record.jti) || (record.family !== undefined && !familyLive(record.family))) continue;
      tokens.push(summary(`${ACCESS}${record.jti}`, 'access_token', record));
    }
    for (const record of page.refresh) {
      if (!live(record) || record.usedAt !== undefined || !familyLive(record.family)) continue;
      tokens.push(summary(`${REFRESH}${record.id}`, 'refresh_token', record));
    }
    return { tokens, more: page.next !== undefined };
  }

  /** Revokes one token by its id: an access token, or a refresh token with its whole family. False when it is not live. */
  async revoke(app: ApplicationRecord, id: string): Promise<boolean> {
    if (id.length > 100) return false;
    if (id.startsWith(ACCESS)) {
      const record = this.#tokens.accessToken(app.name, id.slice(ACCESS.length));
      return record === undefined ? false : this.#tokens.revokeAccessToken(app.name, record.jti, record.exp);
    }
    if (id.startsWith(REFRESH)) {
      const record = this.#tokens.refreshToken(app.name, id.slice(REFRESH.length));
      if (record === undefined || record.usedAt !== undefined) return false;
      return this.#tokens.revokeFamily(app.name, record.family, Math.floor(this.#now() / 1000));
    }
    return false;
  }

  #subjectExists(sub: string): boolean {
    return !sub.startsWith(USER_SUBJECT_PREFIX) || this.#store.users.get(sub.slice(USER_SUBJECT_PREFIX.length)) !== undefined;
  }
}

function summary(id: string, type: PortalToken['type'], record: { sub: string; scope: string; iat: number; exp: number }): PortalToken {
  const random = id.slice(3);
  return {
    id,
    masked: `${id.slice(0, 3)}${random.slice(0, 4)}…${random.slice(-4)}`,
    type,
    subject: record.sub,
    scope: record.scope,
    issuedAt: new Date(record.iat * 1000).toISOString(),
    expiresAt: new Date(record.exp * 1000).toISOString(),
  };
}

export type PortalGrant = 'client_credentials' | 'password' | 'refresh_token';

export interface TokenRequest {
  grantType: PortalGrant;
  clientSecret: string;
  scopes?: readonly string[];
  username?: string;
  password?: string;
  refreshToken?: string;
}

export interface TokenSuccess {
  ok: true;
  accessToken: string;
  tokenType: string;
  expiresIn: number | undefined;
  scope: string | undefined;
  refreshToken: string | undefined;
}

export interface TokenFailure {
  ok: false;
  status: number;
  /** The RFC 6749 error code, or `unreachable`. */
  error: string;
  description: string | undefined;
}

/** RFC 6749 section 2.3.1: client id and secret are form-urlencoded before Basic encoding. */
function basic(clientId: string, secret: string): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(secret)}`).toString('base64')}`;
}

/** POSTs a token request to `endpoint` as the application would, authenticating as its manifest says. */
export async function requestToken(endpoint: string, app: ApplicationRecord, input: TokenRequest): Promise<TokenSuccess | TokenFailure> {
  const form = new URLSearchParams({ grant_type: input.grantType });
  if (input.scopes !== undefined && input.scopes.length > 0) form.set('scope', input.scopes.join(' '));
  if (input.grantType === 'password') {
    form.set('username', input.username ?? '');
    form.set('password', input.password ?? '');
  }
  if (input.grantType === 'refresh_token') form.set('refresh_token', input.refreshToken ?? '');
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  if (app.spec.tokenEndpointAuthMethod === 'client_secret_post') {
    form.set('client_id', app.spec.clientId);
    form.set('client_secret', input.clientSecret);
  } else {
    headers.authorization = basic(app.spec.clientId, input.clientSecret);
  }
  let response: Response;
  try {
    response = await fetch(endpoint, { method: 'POST', headers, body: form, signal: AbortSignal.timeout(15_000) });
  } catch (error) {
    return { ok: false, status: 0, error: 'unreachable', description: `the token endpoint did not answer: ${(error as Error).message}` };
  }
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  const text = (key: string) => (typeof body[key] === 'string' ? (body[key] as string) : undefined);
  if (!response.ok || text('access_token') === undefined) {
    if (text('error') === undefined) return { ok: false, status: response.status, error: 'unavailable', description: `the token endpoint answered HTTP ${response.status} without an OAuth error` };
    return { ok: false, status: response.status, error: text('error')!, description: text('error_description') };
  }
  return {
    ok: true,
    accessToken: text('access_token')!,
    tokenType: text('token_type') ?? 'Bearer',
    expiresIn: typeof body.expires_in === 'number' ? body.expires_in : undefined,
    scope: text('scope'),
    refreshToken: text('refresh_token'),
  };
}
