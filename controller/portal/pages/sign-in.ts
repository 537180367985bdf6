// Sign-in: the User's name and the password sealed in their manifest.
import { html } from '../html.ts';
import { BASE, banner, layout, type PageContext } from './layout.ts';

export interface SignInForm {
  /** The pre-session token (double-submit cookie): a sign-in form cannot be posted from another site. */
  token: string;
  name?: string;
  error?: string;
  /** When the user must come back. */
  retryAfter?: string;
  next?: string;
  /** The application an authorization request in `next` signs the person in to (its display name). */
  signingInTo?: string;
}

export function signInPage(ctx: PageContext, form: SignInForm): string {
  return layout(
    ctx,
    'Sign in',
    html`<section class="narrow" aria-labelledby="sign-in-title">
      <h1 id="sign-in-title">Sign in</h1>
      ${form.signingInTo === undefined ? undefined : html`<p class="lead">to continue to <strong>${form.signingInTo}</strong></p>`}
      <p>Sign in with your user name (the name of your file in <code>users/</code>) and the password a publisher sealed for you.</p>
      ${form.error === undefined ? undefined : banner('error', form.error, form.retryAfter)}
      <form method="post" action="${BASE}/sign-in" class="form">
        <input type="hidden" name="_csrf" value="${form.token}">
        ${form.next === undefined ? undefined : html`<input type="hidden" name="next" value="${form.next}">`}
        <div class="field">
          <label for="name">User name</label>
          <input id="name" name="name" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required maxlength="63" value="${form.name ?? ''}"${form.name === undefined ? html` autofocus` : undefined}>
        </div>
        <div class="field">
          <label for="password">Password</label>
          <input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1024"${form.name === undefined ? undefined : html` autofocus`}>
        </div>
        <button type="submit" class="button button--primary">Sign in</button>
      </form>
    </section>`,
  );
}
