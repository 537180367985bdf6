// The consent page of /portal/authorize: which application asks (its name, description and
// owners), for what (each scope in words: the Api's description, or fixed words for the built-in
// scopes), and two buttons that post the decision back with the session's CSRF token. The
// request itself travels in the form's action (the query string /oauth2/authorize validated),
// and is validated again when the decision arrives.
import { html } from '../html.ts';
import { BASE, csrfField, layout, type PageContext } from './layout.ts';

export interface ConsentScope {
  name: string;
  /** What it lets the application do, in words. */
  description: string;
  /** The Api publishing it (display name), for scopes that are not built in. */
  api?: string;
}

export interface ConsentView {
  app: { name: string; displayName: string; description: string; owners: readonly string[] };
  scopes: readonly ConsentScope[];
  /** Where the decision is posted: /portal/authorize with the request's query. */
  action: string;
  /** The redirect URI's origin, where the browser goes next. */
  returnsTo: string;
  /** A remembered consent covers fewer scopes than this request asks for. */
  more: boolean;
}

export function consentPage(ctx: PageContext, view: ConsentView): string {
  const { app } = view;
  return layout(
    ctx,
    `Sign in to ${app.displayName}`,
    html`<section class="narrow consent" aria-labelledby="consent-title">
      <h1 id="consent-title">${app.displayName} wants to sign you in</h1>
      <p>${app.description}</p>
      <dl class="facts">
        <div><dt>Application</dt><dd><code>${app.name}</code></dd></div>
        <div><dt>Registered by</dt><dd>${app.owners.join(', ')}</dd></div>
        <div><dt>Returns you to</dt><dd><code>${view.returnsTo}</code></dd></div>
      </dl>
      <h2 id="scopes-title">${view.more ? 'It now also asks to' : 'It asks to'}</h2>
      <ul class="scopes" aria-labelledby="scopes-title">
        ${view.scopes.map((scope) => html`<li><code>${scope.name}</code>: ${scope.description}${scope.api === undefined ? undefined : html` <span class="hint">(${scope.api})</span>`}</li>`)}
      </ul>
      <p class="hint">Allowing is remembered: next time ${app.displayName} asks for these (or fewer), you are signed in without this page. You can withdraw it under <a href="${BASE}/authorized">Authorized applications</a>, which also ends the tokens it holds.</p>
      <form method="post" action="${view.action}" class="form">
        ${csrfField(ctx.csrf)}
        <div class="actions">
          <button type="submit" name="decision" value="allow" class="button button--primary">Allow</button>
          <button type="submit" name="decision" value="deny" class="button">Deny</button>
        </div>
      </form>
    </section>`,
  );
}
