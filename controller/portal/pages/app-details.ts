// Application Details: Overview, Keys, Generate Access Token, Active Access Tokens and the
// request history, with the actions the application's status allows.
import { GRANT_TYPES, type GrantType } from '../../manifests/vocabulary.ts';
import { ACTION_WORDS, REQUEST_WORDS, STATUS_WORDS, statusOfApp, type Action, type Offer } from '../../requests/index.ts';
import { html, safeUrl, type SafeHtml } from '../html.ts';
import type { HistoryEntry } from '../history.ts';
import { mayTrySignIn } from '../policy.ts';
import type { ApplicationRecord } from '../../store/records.ts';
import type { AppDetail } from '../service.ts';
import type { PortalToken, TokenFailure, TokenSuccess } from '../tokens.ts';
import { snapshotProblems, statusSentence } from './apps.ts';
import { BASE, csrfField, layout, shownOnce, stateBadge, statusBadge, time, type PageContext } from './layout.ts';

export interface TokenSection {
  tokens: PortalToken[];
  more: boolean;
}

const GRANT_LABELS: Readonly<Record<GrantType, string>> = {
  client_credentials: 'Client Credentials',
  password: 'Password',
  refresh_token: 'Refresh Token',
  authorization_code: 'Authorization Code',
};

/** The grants that take a `scope` (RFC 6749 sections 4.3.2, 4.4.2 and 6), offered the scope picker. */
const SCOPED_GRANTS: readonly GrantType[] = ['client_credentials', 'password', 'refresh_token'];

const OUTCOME_WORDS = { open: STATUS_WORDS['awaiting-approval'], approved: STATUS_WORDS.approved, rejected: STATUS_WORDS.rejected, cancelled: STATUS_WORDS.cancelled } as const;

export function detailsPage(ctx: PageContext, detail: AppDetail, tokens: TokenSection | undefined): string {
  const { view, manifest } = detail;
  const name = view.app;
  const title = manifest?.spec.displayName ?? name;
  const sections: [string, string][] = [
    ['overview', 'Overview'],
    ['keys', 'Keys'],
    ...(tokens === undefined ? [] : ([['generate', 'Generate Access Token'], ['tokens', 'Active Access Tokens']] as [string, string][])),
    ['history', 'Requests'],
  ];
  return layout(
    { ...ctx, nav: 'apps' },
    title,
    html`<nav class="breadcrumbs" aria-label="Breadcrumbs"><a href="${BASE}/apps">My Applications</a> › ${name}</nav>
    <div class="page-head">
      <h1>${title} ${statusBadge(view.status)} ${stateBadge(view.status)}</h1>
      ${actions(detail)}
    </div>
    <p class="hint">${statusSentence(view, detail.history)}</p>
    ${snapshotProblems(detail)}
    ${rejection(detail)}
    <nav class="sections" aria-label="Sections of this page"><ul>${sections.map(([id, label]) => html`<li><a href="#${id}">${label}</a></li>`)}</ul></nav>
    ${overview(detail)}
    ${keys(detail)}
    ${tokens === undefined ? undefined : html`${generateForm(ctx, detail)}${tokenList(detail, tokens)}`}
    ${history(detail.history)}`,
  );
}

/** Where each action's page is, under the application's. */
const ACTION_PATHS: Readonly<Record<Action, string>> = {
  edit: 'edit',
  deactivate: 'deactivate',
  reactivate: 'reactivate',
  'rotate-secret': 'rotate',
  'cancel-request': 'cancel',
  'ask-again': 'ask-again',
};

/**
 * The actions policy.ts offers (none to those who may not act, or without a forge), and Try
 * sign-in. One that cannot be taken now is a disabled button with its reason beside the group,
 * said once however many buttons it disables.
 */
function actions(detail: AppDetail): SafeHtml | undefined {
  const name = detail.view.app;
  const offers = detail.offers;
  const tryIt = mayTrySignIn(detail.canAct, detail.record);
  if (offers === undefined && !tryIt) return undefined;
  // Rotate secret is offered in the Keys section, beside what it rotates.
  const shown = offers === undefined ? [] : (['edit', 'deactivate', 'reactivate', 'cancel-request'] as const).flatMap((action) => (offers[action].shown ? [{ action, offer: offers[action] }] : []));
  const reasons = reasonsOf(shown.map(({ offer }) => offer));
  return html`<div class="actions" role="group" aria-label="Actions">
    ${shown.map(({ action, offer }) => actionButton(name, action, offer, reasons, 'action-reason', ACTION_STYLES[action]))}
    ${tryIt ? html`<a class="button" href="${BASE}/apps/${name}/try-sign-in">Try sign-in</a>` : undefined}
    ${reasonList(reasons, 'action-reason')}
  </div>`;
}

/** Each distinct reason once, numbered in order, for the buttons it disables to point at. */
function reasonsOf(offers: readonly Offer[]): string[] {
  return [...new Set(offers.flatMap((offer) => (offer.reason === undefined ? [] : [offer.reason])))];
}

function reasonList(reasons: readonly string[], idPrefix: string): SafeHtml | undefined {
  return reasons.length === 0 ? undefined : html`<div class="action-reasons">${reasons.map((reason, i) => html`<p class="hint" id="${idPrefix}-${i}">${reason}.</p>`)}</div>`;
}

const ACTION_STYLES: Partial<Record<Action, string>> = { deactivate: 'button--danger', 'cancel-request': 'button--quiet' };

/** A link to the action's page, or a disabled button described by its reason (`idPrefix`-N in `reasons`). */
function actionButton(name: string, action: Action, offer: Offer, reasons: readonly string[], idPrefix: string, style?: string): SafeHtml {
  const classes = style === undefined ? 'button' : `button ${style}`;
  if (offer.reason === undefined) return html`<a class="${classes}" href="${BASE}/apps/${name}/${ACTION_PATHS[action]}">${ACTION_WORDS[action]}</a>`;
  return html`<button type="button" class="button" disabled aria-describedby="${idPrefix}-${reasons.indexOf(offer.reason)}">${ACTION_WORDS[action]}</button>`;
}

/**
 * The latest request, when a publisher rejected it: who, when and why, and "Ask again" where the
 * lifecycle allows asking for it again (controller/requests/ askAgainOf) and the user may act.
 */
function rejection(detail: AppDetail): SafeHtml | undefined {
  const latest = detail.history[0];
  if (latest === undefined || latest.outcome !== 'rejected') return undefined;
  // Offered (policy.ts) only to those who may act, with a forge, when the lifecycle allows it.
  const again = detail.offers?.['ask-again'].shown === true;
  return html`<section id="rejection" aria-labelledby="rejection-title" class="card rejection">
    <h2 id="rejection-title">${REQUEST_WORDS[latest.kind]} #${latest.number} was rejected</h2>
    <p>Rejected by <strong>${latest.decidedBy ?? 'someone GitHub no longer knows'}</strong>${latest.decidedAt === undefined ? undefined : html`, ${time(latest.decidedAt)}`}${latest.reason === undefined ? '.' : ':'}</p>
    ${latest.reason === undefined ? html`<p class="hint">No reason was given.</p>` : html`<blockquote class="reason">${latest.reason}</blockquote>`}
    ${again ? html`<p><a class="button button--primary" href="${BASE}/apps/${detail.view.app}/ask-again">Ask again</a> <span class="hint">${ASK_AGAIN_HINT[latest.kind]}</span></p>` : undefined}
  </section>`;
}

const ASK_AGAIN_HINT = {
  create: 'A new create request, starting from what this one asked for.',
  edit: 'A new edit request, starting from what this one asked for.',
  deactivate: 'A new deactivation request.',
  reactivate: 'A new reactivation request.',
} as const;

function row(label: string, value: SafeHtml | string | undefined): SafeHtml {
  return html`<div><dt>${label}</dt><dd>${value === undefined || value === '' ? html`<span class="hint">none</span>` : value}</dd></div>`;
}

function codes(values: readonly string[]): SafeHtml {
  return html`${values.map((value, i) => html`${i === 0 ? '' : ', '}<code>${value}</code>`)}`;
}

function overview(detail: AppDetail): SafeHtml {
  const { manifest, view } = detail;
  const spec = manifest?.spec;
  const defaultPlan = detail.main.settings?.spec.defaultPlan;
  return html`<section id="overview" aria-labelledby="overview-title" class="card">
    <h2 id="overview-title">Overview${detail.manifestSource === 'request' ? ' (as requested)' : ''}</h2>
    ${spec === undefined
      ? html`<p>The manifest of ${view.app} is not on the main branch${view.status === 'rejected' || view.status === 'cancelled' ? ` (its create request was ${STATUS_WORDS[statusOfApp(view.status)]})` : ''}.</p>`
      : html`<dl class="facts">
          ${row('Name', html`<code>${view.app}</code>`)}
          ${row('Description', spec.description)}
          ${row('Status', statusBadge(view.status))}
          ${row('State', stateBadge(view.status))}
          ${row('Owners', spec.owners.join(', '))}
          ${row('Scopes', codes(spec.scopes))}
          ${row('Grant types', codes(spec.grantTypes))}
          ${row('Redirect URIs', spec.redirectUris === undefined ? undefined : codes(spec.redirectUris))}
          ${row('Plan', spec.plan ?? (defaultPlan === undefined ? 'the default plan' : `${defaultPlan} (default)`))}
          ${row('Client authentication', html`<code>${spec.tokenEndpointAuthMethod}</code>`)}
          ${row('Token server', detail.record === undefined ? 'not served yet' : html`serves it from commit <code>${detail.record.commit.slice(0, 12)}</code> (${detail.record.spec.state})`)}
        </dl>`}
  </section>`;
}

function keys(detail: AppDetail): SafeHtml {
  const spec = detail.manifest?.spec;
  const secrets = spec?.credentials?.secrets ?? [];
  return html`<section id="keys" aria-labelledby="keys-title" class="card">
    <h2 id="keys-title">Keys</h2>
    ${spec === undefined
      ? html`<p>No keys: the application is not registered.</p>`
      : html`<dl class="facts">
          ${row('Client ID', html`<code id="client-id">${spec.clientId}</code> <button type="button" class="button button--quiet copy" data-copy="client-id" hidden>Copy</button>`)}
          ${secrets.map((secret, i) =>
            row(
              secrets.length === 1 ? 'Client secret' : `Client secret ${i + 1}`,
              html`<span class="masked" aria-label="masked">••••••••••••••••</span>${secret.expiresAt === undefined ? undefined : html` <span class="hint">expires ${time(secret.expiresAt)}</span>`}`,
            ),
          )}
          ${spec.credentials?.jwks === undefined ? undefined : row('Public keys', codes(spec.credentials.jwks.keys.map((key) => key.kid ?? key.kty)))}
        </dl>
        ${spec.tokenEndpointAuthMethod === 'none'
          ? html`<p class="hint" id="public-client">A public client: it has no client secret to show or rotate. It signs people in with the authorization code grant and PKCE (S256), with the client ID alone.</p>`
          : html`<p class="hint">The client secret is shown once, when the application is created or its secret rotated: the portal never holds it afterwards (the manifest keeps it sealed, the token server only a hash). To get a new one, rotate it: an edit request that adds a new secret and gives the current one seven more days.</p>
        <p class="hint" id="from-the-cli">From the command line: <code>mergekey token get ${detail.view.app} --client-id ${spec.clientId} --save</code> asks for the secret once and keeps it in your credentials file (or give it on stdin with <code>--secret-stdin</code>).</p>
        ${rotate(detail)}`}`}
  </section>`;
}

/** Rotate secret, where policy.ts offers it: a link, or disabled with its reason. */
function rotate(detail: AppDetail): SafeHtml | undefined {
  const offer = detail.offers?.['rotate-secret'];
  if (offer === undefined || !offer.shown) return undefined;
  const reasons = reasonsOf([offer]);
  return html`<div class="actions">${actionButton(detail.view.app, 'rotate-secret', offer, reasons, 'rotate-reason')}${reasonList(reasons, 'rotate-reason')}</div>`;
}

function generateForm(ctx: PageContext, detail: AppDetail): SafeHtml {
  const record = detail.record!;
  const name = detail.view.app;
  // The authorization code comes from a sign-in, which Try sign-in runs: it is no field to fill here.
  const grants = GRANT_TYPES.filter((grant) => grant !== 'authorization_code' && record.spec.grantTypes.includes(grant));
  const confidential = record.spec.tokenEndpointAuthMethod !== 'none';
  const usable = record.spec.state === 'active' && record.spec.tokenEndpointAuthMethod !== 'private_key_jwt';
  return html`<section id="generate" aria-labelledby="generate-title" class="card">
    <h2 id="generate-title">Generate Access Token</h2>
    ${!usable
      ? html`<p>${record.spec.state !== 'active' ? `${name} is inactive: the token server issues it no tokens.` : `${name} authenticates with private_key_jwt: sign a client assertion with its private key to get tokens.`}</p>`
      : grants.length === 0
      ? html`<p>${name} gets its tokens by signing someone in (the authorization code grant): use Try sign-in.</p>`
      : html`<p class="hint">${confidential
          ? 'The portal asks the token endpoint exactly as your application would. It needs the client secret, which it does not keep: paste it here; it is sent once and stored nowhere.'
          : 'The portal asks the token endpoint exactly as your application would: a public client sends its client ID alone.'}</p>
    <form method="post" action="${BASE}/apps/${name}/token" class="form" autocomplete="off" data-grant-form>
      ${csrfField(ctx.csrf)}
      <fieldset class="field choices">
        <legend>Grant type</legend>
        ${grants.map(
          (grant, i) => html`<div class="choice"><input type="radio" id="grant-${grant}" name="grant_type" value="${grant}"${i === 0 ? html` checked` : undefined}><label for="grant-${grant}">${GRANT_LABELS[grant]}</label></div>`,
        )}
      </fieldset>
      ${confidential
        ? html`<div class="field">
            <label for="client_secret">Client secret</label>
            <input id="client_secret" name="client_secret" type="password" required autocomplete="off" spellcheck="false" aria-describedby="client_secret-hint">
            <p class="hint" id="client_secret-hint">Shown once when ${name} was created (or its secret rotated).</p>
          </div>`
        : undefined}
      ${grants.includes('password')
        ? html`<fieldset class="field grant-fields" data-grant="password">
            <legend>Password grant: the resource owner</legend>
            <div class="field"><label for="username">User name</label><input id="username" name="username" type="text" autocomplete="off" spellcheck="false"></div>
            <div class="field"><label for="password">User’s password</label><input id="password" name="password" type="password" autocomplete="off"></div>
          </fieldset>`
        : undefined}
      ${grants.some((grant) => SCOPED_GRANTS.includes(grant))
        ? html`<fieldset class="field choices grant-fields" data-grant="${SCOPED_GRANTS.filter((grant) => grants.includes(grant)).join(' ')}">
            <legend>Scope</legend>
            <p class="hint">Only scopes the application holds; none chosen asks for all of them. With a refresh token: only scopes it was granted, and none chosen keeps them all.</p>
            ${record.spec.scopes.map((scope, i) => html`<div class="choice"><input type="checkbox" id="token-scope-${i}" name="scope" value="${scope}"><label for="token-scope-${i}"><code>${scope}</code></label></div>`)}
          </fieldset>`
        : undefined}
      ${grants.includes('refresh_token')
        ? html`<div class="field grant-fields" data-grant="refresh_token">
            <label for="refresh_token">Refresh token</label>
            <textarea id="refresh_token" name="refresh_token" rows="2" spellcheck="false" autocomplete="off" aria-describedby="refresh_token-hint"></textarea>
            <p class="hint" id="refresh_token-hint">For the Refresh Token grant: the refresh token a password grant returned. It is single-use: the answer carries a new one.</p>
          </div>`
        : undefined}
      <button type="submit" class="button button--primary">Generate Token</button>
    </form>`}
  </section>`;
}

function tokenList(detail: AppDetail, section: TokenSection): SafeHtml {
  const name = detail.view.app;
  return html`<section id="tokens" aria-labelledby="tokens-title" class="card">
    <h2 id="tokens-title">Active Access Tokens</h2>
    ${section.tokens.length === 0
      ? html`<p class="empty">${detail.record?.spec.state === 'active' ? 'No active tokens.' : `${name} is inactive: none of its tokens work.`}</p>`
      : html`<div class="table-wrap"><table class="tokens">
          <caption>${section.tokens.length} live token${section.tokens.length === 1 ? '' : 's'}${section.more ? ' (the first page)' : ''}, by id</caption>
          <thead><tr><th scope="col">Token</th><th scope="col">Type</th><th scope="col">Subject</th><th scope="col">Scope</th><th scope="col">Expires</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
          <tbody>${section.tokens.map(
            (token) => html`<tr>
              <td data-label="Token"><code class="token-id">${token.masked}</code></td>
              <td data-label="Type">${token.type === 'access_token' ? 'access' : 'refresh'}</td>
              <td data-label="Subject"><code>${token.subject}</code></td>
              <td data-label="Scope">${token.scope === '' ? html`<span class="hint">none</span>` : codes(token.scope.split(' '))}</td>
              <td data-label="Expires">${time(token.expiresAt)}</td>
              <td data-label="Actions"><a class="button button--danger button--small" href="${BASE}/apps/${name}/tokens/${token.id}/revoke" aria-label="Revoke token ${token.masked}">Revoke</a></td>
            </tr>`,
          )}</tbody>
        </table></div>`}
    <p class="hint">A token's value is shown only when it is generated and kept nowhere; the list shows its id (the access token's <code>jti</code>, or a refresh token's hash), shortened as <code>mergekey token list</code> shows it. An id is not a credential: there is nothing to reveal.</p>
  </section>`;
}

function history(entries: readonly HistoryEntry[]): SafeHtml {
  return html`<section id="history" aria-labelledby="history-title" class="card">
    <h2 id="history-title">Requests</h2>
    ${entries.length === 0
      ? html`<p class="empty">No requests: the application was added to the repository directly.</p>`
      : html`<div class="table-wrap"><table class="history">
          <caption>Every request about this application, newest first</caption>
          <thead><tr><th scope="col">Request</th><th scope="col">Asked by</th><th scope="col">Opened</th><th scope="col">Outcome</th><th scope="col">Decided by</th><th scope="col">Commit</th></tr></thead>
          <tbody>${entries.map(
            (entry) => html`<tr>
              <td data-label="Request"><a href="${safeUrl(entry.url)}">${entry.kind} #${entry.number}</a></td>
              <td data-label="Asked by">${entry.requestedBy}</td>
              <td data-label="Opened">${time(entry.openedAt)}</td>
              <td data-label="Outcome"><span class="outcome outcome--${entry.outcome}">${OUTCOME_WORDS[entry.outcome]}</span>${entry.reason === undefined ? undefined : html`<blockquote class="reason">${entry.reason}</blockquote>`}${entry.comment === undefined ? undefined : html`<blockquote class="comment">${entry.comment}</blockquote>`}</td>
              <td data-label="Decided by">${entry.decidedBy === undefined ? (entry.outcome === 'open' ? html`<span class="hint">not yet</span>` : html`<span class="hint">unknown</span>`) : html`${entry.decidedBy}, ${time(entry.decidedAt)}`}</td>
              <td data-label="Commit"><code title="${entry.commit}">${entry.commit.slice(0, 12)}</code></td>
            </tr>`,
          )}</tbody>
        </table></div>`}
  </section>`;
}

/** The answer of the token endpoint, shown once (post/redirect/get): the token, or the RFC 6749 error. */
export function tokenResultPage(ctx: PageContext, record: ApplicationRecord, grant: GrantType, result: TokenSuccess | TokenFailure): string {
  const name = record.name;
  const body = result.ok
    ? html`<div class="banner banner--success" role="status"><p><strong>Access token generated</strong> with the ${GRANT_LABELS[grant]} grant.</p></div>
      <h1>Access token for ${name}</h1>
      ${shownOnce('access-token', 'Access token', result.accessToken, 'Shown once: the token server keeps only its id, and reloading this page does not show it again. Send it as "Authorization: Bearer …".')}
      <dl class="facts">
        <div><dt>Token type</dt><dd>${result.tokenType}</dd></div>
        <div><dt>Expires in</dt><dd>${result.expiresIn === undefined ? 'unknown' : `${result.expiresIn} seconds`}</dd></div>
        <div><dt>Scope</dt><dd>${result.scope === undefined || result.scope === '' ? html`<span class="hint">none</span>` : codes(result.scope.split(' '))}</dd></div>
      </dl>
      ${result.refreshToken === undefined ? undefined : shownOnce('refresh-token', 'Refresh token', result.refreshToken, 'Use it with the Refresh Token grant when the access token expires; it works once and the answer carries the next one.')}
      ${result.refreshToken === undefined ? undefined : useRefreshTokenForm(ctx, record, result.refreshToken, result.scope)}`
    : html`<div class="banner banner--error" role="alert"><p><strong>No token:</strong> the token endpoint answered <code>${result.error}</code>${result.description === undefined ? undefined : html`: ${result.description}`}.</p></div>
      <h1>No access token for ${name}</h1>
      <p>${hintFor(result.error)}</p>`;
  return layout({ ...ctx, nav: 'apps' }, `Access token for ${name}`, html`${body}<p><a class="button" href="${BASE}/apps/${name}#tokens">Back to ${name}</a></p>`);
}

/**
 * "Use this refresh token": the Refresh Token grant with the token just shown, a scope picker to
 * narrow the next access token (RFC 6749 section 6: never beyond what the refresh token was
 * granted), and the client secret again, which the portal does not keep.
 */
function useRefreshTokenForm(ctx: PageContext, record: ApplicationRecord, refreshToken: string, granted: string | undefined): SafeHtml | undefined {
  if (!record.spec.grantTypes.includes('refresh_token')) return undefined;
  const scopes = granted === undefined || granted === '' ? [] : granted.split(' ');
  const confidential = record.spec.tokenEndpointAuthMethod !== 'none';
  return html`<section class="card" aria-labelledby="refresh-title">
    <h2 id="refresh-title">Use this refresh token</h2>
    <form method="post" action="${BASE}/apps/${record.name}/token" class="form" autocomplete="off">
      ${csrfField(ctx.csrf)}
      <input type="hidden" name="grant_type" value="refresh_token">
      <input type="hidden" name="refresh_token" value="${refreshToken}">
      ${confidential
        ? html`<div class="field">
            <label for="refresh-client-secret">Client secret</label>
            <input id="refresh-client-secret" name="client_secret" type="password" required autocomplete="off" spellcheck="false">
          </div>`
        : undefined}
      ${scopes.length === 0
        ? undefined
        : html`<fieldset class="field choices">
            <legend>Scope</legend>
            <p class="hint">Narrow the next access token to some of the scopes this one carries; none chosen asks for all the refresh token was granted.</p>
            ${scopes.map((scope, i) => html`<div class="choice"><input type="checkbox" id="refresh-scope-${i}" name="scope" value="${scope}"><label for="refresh-scope-${i}"><code>${scope}</code></label></div>`)}
          </fieldset>`}
      <button type="submit" class="button button--primary">Use this refresh token</button>
    </form>
  </section>`;
}

function hintFor(error: string): string {
  switch (error) {
    case 'invalid_client':
      return 'The client secret is wrong (or expired, or the application inactive). Paste the secret shown when the application was created or its secret rotated.';
    case 'invalid_scope':
      return 'Ask only for scopes the application was registered with.';
    case 'invalid_grant':
      return 'The user name and password, or the refresh token, were not accepted. A refresh token works once.';
    case 'unauthorized_client':
      return 'The application is not registered for this grant type; add it with an edit request.';
    case 'slow_down':
    case 'rate_limited':
      return 'Too many token requests: wait a moment.';
    default:
      return 'Try again; if it persists, the operator can look at the server’s logs.';
  }
}
