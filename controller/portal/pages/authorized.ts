// Authorized applications: the applications the signed-in user let sign them in (their remembered
// consents), each with the scopes agreed to and when, and a Withdraw button leading to a
// confirmation (confirm.ts), as every destructive action in the portal does.
import { html } from '../html.ts';
import { BASE, layout, time, type PageContext } from './layout.ts';

/** Authorized applications: the user's remembered consents, each with its Withdraw button. */
export interface AuthorizedEntry {
  app: string;
  displayName: string;
  scopes: readonly string[];
  /** RFC 3339 */
  grantedAt: string;
}

export function authorizedPage(ctx: PageContext, entries: readonly AuthorizedEntry[]): string {
  return layout(
    { ...ctx, nav: 'authorized' },
    'Authorized applications',
    html`<section aria-labelledby="authorized-title">
      <h1 id="authorized-title">Authorized applications</h1>
      <p>Applications you let sign you in, and what you let them have. Withdrawing one ends every token it holds for you at once; it asks again the next time it signs you in.</p>
      ${entries.length === 0
        ? html`<p class="empty">You have not authorized any application.</p>`
        : html`<div class="table-wrap"><table class="authorized">
          <caption>${entries.length} application${entries.length === 1 ? '' : 's'}</caption>
          <thead><tr><th scope="col">Application</th><th scope="col">Scopes</th><th scope="col">Since</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
          <tbody>${entries.map(
            (entry) => html`<tr>
              <td data-label="Application">${entry.displayName} <code>${entry.app}</code></td>
              <td data-label="Scopes">${entry.scopes.map((scope, i) => html`${i === 0 ? '' : ', '}<code>${scope}</code>`)}</td>
              <td data-label="Since">${time(entry.grantedAt)}</td>
              <td data-label="Actions"><a class="button button--danger button--small" href="${BASE}/authorized/${entry.app}/withdraw" aria-label="Withdraw ${entry.displayName}">Withdraw</a></td>
            </tr>`,
          )}</tbody>
        </table></div>`}
    </section>`,
  );
}
