// Try sign-in's pages: why it cannot start (the callback is not a registered redirect URI), the
// client secret a confidential application's exchange needs, and what the exchange gave.
import { html, type SafeHtml } from '../html.ts';
import type { TokenFailure, TokenSuccess } from '../tokens.ts';
import { BASE, csrfField, layout, shownOnce, type PageContext } from './layout.ts';

function page(ctx: PageContext, name: string, title: string, body: SafeHtml): string {
  return layout(
    { ...ctx, nav: 'apps' },
    title,
    html`<nav class="breadcrumbs" aria-label="Breadcrumbs"><a href="${BASE}/apps">My Applications</a> › <a href="${BASE}/apps/${name}">${name}</a> › Try sign-in</nav>
    <section class="narrow" aria-labelledby="try-title">
      <h1 id="try-title">${title}</h1>
      ${body}
      <p><a class="button" href="${BASE}/apps/${name}">Back to ${name}</a></p>
    </section>`,
  );
}

/** The application does not list the portal's callback among its redirect URIs (or the server has no issuer). */
export function tryUnavailablePage(ctx: PageContext, name: string, callback: string | undefined): string {
  return page(ctx, name, `Try sign-in with ${name}`, callback === undefined
    ? html`<p>The server has no issuer configured yet, so the portal cannot name its callback address.</p>`
    : html`<p>The portal signs you in as ${name} would, and shows the tokens it gets, through its own callback page. The authorization server sends the browser back only to a redirect URI the application registered, exactly, so to try it here ${name} must list this one among its <code>redirectUris</code> (an edit request):</p>
      <p><code id="callback-url">${callback}</code> <button type="button" class="button button--quiet copy" data-copy="callback-url" hidden>Copy</button></p>`);
}

/** A confidential application: the exchange authenticates with its secret, which the portal does not keep. */
export function trySecretPage(ctx: PageContext, name: string, code: string): string {
  return page(ctx, name, `Finish signing in to ${name}`, html`<p>You were signed in and the portal received an authorization code for ${name}. ${name} is a confidential client: exchanging the code needs its client secret, which the portal does not keep. Paste it; it is sent once to the token endpoint and stored nowhere. The code expires within a minute.</p>
    <form method="post" action="${BASE}/try-sign-in/callback" class="form" autocomplete="off">
      ${csrfField(ctx.csrf)}
      <input type="hidden" name="code" value="${code}">
      <div class="field">
        <label for="client_secret">Client secret</label>
        <input id="client_secret" name="client_secret" type="password" required autocomplete="off" spellcheck="false">
      </div>
      <button type="submit" class="button button--primary">Exchange the code</button>
    </form>`);
}

function claimsList(claims: Record<string, unknown> | undefined): SafeHtml {
  if (claims === undefined) return html`<p class="hint">Not a JWT the portal can read.</p>`;
  return html`<dl class="facts claims">${Object.entries(claims).map(([key, value]) => html`<div><dt><code>${key}</code></dt><dd><code>${typeof value === 'string' ? value : JSON.stringify(value)}</code></dd></div>`)}</dl>`;
}

export interface TryResult {
  result: TokenSuccess | TokenFailure | { ok: false; error: string; description: string | undefined; status?: number };
  accessClaims?: Record<string, unknown> | undefined;
  idClaims?: Record<string, unknown> | undefined;
  /** Whether the ID token's nonce is the one the portal sent. */
  nonceMatches?: boolean;
}

/** What the callback got: the tokens (shown once, kept nowhere) with their claims, or the error. */
export function tryResultPage(ctx: PageContext, name: string, outcome: TryResult): string {
  const { result } = outcome;
  if (!result.ok) {
    return page(ctx, name, `Sign-in to ${name} failed`, html`<div class="banner banner--error" role="alert"><p><strong>No tokens:</strong> the answer was <code>${result.error}</code>${result.description === undefined ? undefined : html`: ${result.description}`}.</p></div>`);
  }
  return page(ctx, name, `Signed in to ${name}`, html`<div class="banner banner--success" role="status"><p>The authorization code was exchanged: these are the tokens ${name} would get. The portal keeps none of them.</p></div>
    <h2>Access token</h2>
    ${shownOnce('access-token', 'Access token', result.accessToken, 'Shown once: the token server keeps only its id.')}
    ${claimsList(outcome.accessClaims)}
    ${result.idToken === undefined
      ? html`<h2>ID token</h2><p class="hint">None: the application did not ask for the <code>openid</code> scope.</p>`
      : html`<h2>ID token</h2>
        ${outcome.nonceMatches === true ? html`<p>Its <code>nonce</code> is the one the portal sent.</p>` : html`<div class="banner banner--error" role="alert"><p>Its <code>nonce</code> is not the one the portal sent.</p></div>`}
        ${claimsList(outcome.idClaims)}`}
    <h2>Refresh token</h2>
    <p>${result.refreshToken === undefined ? 'None (the application does not list the refresh_token grant).' : 'Received (not shown: nothing here would use it).'}</p>`);
}
