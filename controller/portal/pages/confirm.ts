// Confirmation steps: a page that says what will happen and a form that does it. They work
// without JavaScript and put the focus where a keyboard user expects it (the heading, then the
// primary button).
import { html, type SafeHtml } from '../html.ts';
import { BASE, banner, csrfField, layout, type PageContext } from './layout.ts';

export interface Confirmation {
  title: string;
  /** What happens, in a sentence or two. */
  explanation: SafeHtml | string;
  action: string;
  button: string;
  danger?: boolean;
  back: string;
  /** Extra fields (a rejection's reason). */
  fields?: SafeHtml;
}

export function confirmPage(ctx: PageContext, confirmation: Confirmation, nav: PageContext['nav'] = 'apps'): string {
  return layout(
    { ...ctx, nav },
    confirmation.title,
    html`<section class="narrow confirm" aria-labelledby="confirm-title">
      <h1 id="confirm-title">${confirmation.title}</h1>
      <p>${confirmation.explanation}</p>
      <form method="post" action="${confirmation.action}" class="form">
        ${csrfField(ctx.csrf)}
        ${confirmation.fields}
        <div class="actions">
          <button type="submit" class="button ${confirmation.danger === true ? 'button--danger' : 'button--primary'}">${confirmation.button}</button>
          <a class="button button--quiet" href="${confirmation.back}">Cancel</a>
        </div>
      </form>
    </section>`,
  );
}

/** A refusal or failure as a page: what went wrong, what to do, and the way back. */
export function errorPage(ctx: PageContext, status: number, message: string, hint: string | undefined, back = `${BASE}/apps`): string {
  const title = status === 403 ? 'Not allowed' : status === 404 ? 'Not found' : status === 409 ? 'Not possible now' : status >= 500 ? 'Something failed' : 'Cannot do that';
  return layout(
    ctx,
    title,
    html`<section class="narrow" aria-labelledby="error-title">
      <h1 id="error-title">${title}</h1>
      ${banner('error', message, hint)}
      <p><a class="button" href="${back}">Go back</a></p>
    </section>`,
  );
}
