// The Generate Access Token and Active Access Tokens sections.
//
// Generating calls the server's own token endpoint over HTTP, exactly as a client would: the
// developer pastes the application's client secret into the form (the portal never has it after
// creation), the portal sends it once and keeps it nowhere.
//
// Listing and revoking read and write the token state in-process, under the signed-in owner's
// authority (the routes check ownership first): the HTTP listing (`/api/v1/apps/:name/tokens`)
// answers only to the application's own client credentials, which the portal does not hold. The
// rules of what is live (`controller/oauth/liveness.ts`), and revoking by id, are the HTTP listing's
// (`controller/oauth/live-tokens.ts`).
// An access token issued in the last few milliseconds may be missing, as from another worker (its
// record is written in a batch).
import type { GrantType } from '../manifests/vocabulary.ts';
import { liveTokens, revokeTokenById, type TokenSummary } from '../oauth/live-tokens.ts';
import type { Store } from '../store/open.ts';
import type { ApplicationRecord } from '../store/records.ts';
import type { TokenState } from '../store/token-state.ts';

/** One live token as the portal shows it: what the HTTP listing answers. */
export type PortalToken = TokenSummary;

const PAGE = 200;

export class AppTokens {
  readonly #store: Pick<Store, 'config' | 'tokens'>;
  readonly #tokens: TokenState;
  readonly #now: () => number;

  constructor(store: Pick<Store, 'config' | 'tokens'>, now: () => number) {
    this.#store = store;
    this.#tokens = store.tokens;
    this.#now = now;
  }

  /** The application's live tokens (the first 200 records), access tokens first. */
  async list(app: ApplicationRecord): Promise<{ tokens: PortalToken[]; more: boolean }> {
    if (app.spec.state !== 'active') return { tokens: [], more: false };
    const page = await this.#tokens.listTokens(app.name, { limit: PAGE });
    const sources = { tokens: this.#tokens, userExists: (name: string) => this.#store.config.user(name) !== undefined };
    return { tokens: await liveTokens(sources, app, page, Math.floor(this.#now() / 1000)), more: page.next !== undefined };
  }

  /** Revokes one token by its id: an access token, or a refresh token with its whole family. False when it is not live. */
  revoke(app: ApplicationRecord, id: string): Promise<boolean> {
    return revokeTokenById(this.#tokens, app.name, id, Math.floor(this.#now() / 1000));
  }
}

export interface TokenRequest {
  grantType: GrantType;
  /** Ignored for a public client (`tokenEndpointAuthMethod: none`), which sends its client_id alone. */
  clientSecret: string;
  scopes?: readonly string[];
  username?: string;
  password?: string;
  refreshToken?: string;
  /** The authorization_code grant (RFC 6749 4.1.3, RFC 7636 4.5): the code, the redirect URI it was issued to, the PKCE verifier. */
  code?: string;
  redirectUri?: string;
  codeVerifier?: string;
}

export interface TokenSuccess {
  ok: true;
  accessToken: string;
  tokenType: string;
  expiresIn: number | undefined;
  scope: string | undefined;
  refreshToken: string | undefined;
  /** With scope openid (OpenID Connect Core 3.1.3.3). */
  idToken: string | undefined;
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

/** Sends a form-encoded POST to the token endpoint; answers its status and body text. */
export type TokenEndpointCall = (headers: Record<string, string>, body: string) => Promise<{ status: number; body: string }>;

/** The token endpoint at a URL, over the network. */
export function tokenEndpointAt(endpoint: string): TokenEndpointCall {
  return async (headers, body) => {
    const response = await fetch(endpoint, { method: 'POST', headers, body, signal: AbortSignal.timeout(15_000) });
    return { status: response.status, body: await response.text() };
  };
}

/** POSTs a token request through `call` as the application would, authenticating as its manifest says. */
export async function requestToken(call: TokenEndpointCall, app: ApplicationRecord, input: TokenRequest): Promise<TokenSuccess | TokenFailure> {
  const form = new URLSearchParams({ grant_type: input.grantType });
  if (input.scopes !== undefined && input.scopes.length > 0) form.set('scope', input.scopes.join(' '));
  if (input.grantType === 'password') {
    form.set('username', input.username ?? '');
    form.set('password', input.password ?? '');
  }
  if (input.grantType === 'refresh_token') form.set('refresh_token', input.refreshToken ?? '');
  if (input.grantType === 'authorization_code') {
    form.set('code', input.code ?? '');
    form.set('redirect_uri', input.redirectUri ?? '');
    form.set('code_verifier', input.codeVerifier ?? '');
  }
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  if (app.spec.tokenEndpointAuthMethod === 'none') {
    // A public client identifies itself and proves nothing more: PKCE protects its codes.
    form.set('client_id', app.spec.clientId);
  } else if (app.spec.tokenEndpointAuthMethod === 'client_secret_post') {
    form.set('client_id', app.spec.clientId);
    form.set('client_secret', input.clientSecret);
  } else {
    headers.authorization = basic(app.spec.clientId, input.clientSecret);
  }
  let response: { status: number; body: string };
  try {
    response = await call(headers, form.toString());
  } catch (error) {
    return { ok: false, status: 0, error: 'unreachable', description: `the token endpoint did not answer: ${(error as Error).message}` };
  }
  const body = parseObject(response.body);
  const text = (key: string) => (typeof body[key] === 'string' ? (body[key] as string) : undefined);
  if (response.status !== 200 || text('access_token') === undefined) {
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
    idToken: text('id_token'),
  };
}

function parseObject(text: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
