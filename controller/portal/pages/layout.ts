// The page shell and the small pieces every page uses: landmarks (header, nav, main, footer), a
// skip link, the live region confirmations are announced in, banners, forms that carry the CSRF
// token, and status badges that say their status in words (never by colour alone).
import { isoTime, STATUS_WORDS, stateOfApp, statusOfApp, type AppStatus } from '../../requests/index.ts';
import type { PortalUser } from '../accounts.ts';
import { html, type SafeHtml } from '../html.ts';
import { mayReview, seesEveryApplication } from '../policy.ts';
import type { Flash } from '../../store/sessions.ts';

export const BASE = '/portal';

export interface PageContext {
  user?: PortalUser | undefined;
  /** The session's CSRF token, for the sign-out form and every other form. */
  csrf?: string | undefined;
  flash?: Flash | undefined;
  /** Versioned asset URLs, so browsers may cache them. */
  assets: { css: string; js: string; icon: string };
  nav?: 'apps' | 'review' | 'authorized';
  /** The server has no forge: nothing to review, so the navigation does not offer it. */
  noForge?: boolean;
}

export function layout(ctx: PageContext, title: string, body: SafeHtml): string {
  return `<!doctype html>\n${html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Mergekey</title>
<link rel="icon" href="${ctx.assets.icon}" type="image/svg+xml">
<link rel="stylesheet" href="${ctx.assets.css}">
<script src="${ctx.assets.js}" defer></script>
</head>
<body>
<a class="skip-link" href="#main">Skip to content</a>
<header class="site-header">
  <a class="brand" href="${BASE}/apps">Mergekey <span class="brand-sub">developer portal</span></a>
  ${ctx.user === undefined ? undefined : navigation(ctx, ctx.user)}
</header>
<main id="main" tabindex="-1">
  <div class="live" id="live" role="status" aria-live="polite">${ctx.flash?.kind === 'success' ? flashMessage(ctx.flash) : undefined}</div>
  ${ctx.flash?.kind === 'error' ? html`<div class="banner banner--error" role="alert">${ctx.flash.message}</div>` : undefined}
  ${body}
</main>
<footer class="site-footer"><p>Applications are registered by pull request and approved by publishers; git history is the record.</p></footer>
</body>
</html>`.value}\n`;
}

function flashMessage(flash: Flash): SafeHtml {
  return html`<div class="banner banner--success">${flash.message}</div>`;
}

function navigation(ctx: PageContext, user: PortalUser): SafeHtml {
  const current = (item: PageContext['nav']) => (ctx.nav === item ? html` aria-current="page"` : undefined);
  return html`<nav class="site-nav" aria-label="Main">
    <ul>
      <li><a href="${BASE}/apps"${current('apps')}>${seesEveryApplication(user) ? 'Applications' : 'My Applications'}</a></li>
      ${mayReview(user) && ctx.noForge !== true ? html`<li><a href="${BASE}/review"${current('review')}>Requests to review</a></li>` : undefined}
      <li><a href="${BASE}/authorized"${current('authorized')}>Authorized applications</a></li>
    </ul>
  </nav>
  <form class="sign-out" method="post" action="${BASE}/sign-out">
    ${csrfField(ctx.csrf)}
    <span class="who">Signed in as <strong>${user.displayName}</strong> <span class="roles">(${user.roles.join(', ')})</span></span>
    <button type="submit" class="button button--quiet">Sign out</button>
  </form>`;
}

export function csrfField(token: string | undefined): SafeHtml {
  return html`<input type="hidden" name="_csrf" value="${token ?? ''}">`;
}

/** The status in the shared words ("awaiting approval", "approved", …): the request's decision, not the state. */
export function statusBadge(status: AppStatus): SafeHtml {
  const shown = statusOfApp(status);
  return html`<span class="status status--${shown}">${STATUS_WORDS[shown]}</span>`;
}

/** An approved application's state (active or inactive), shown apart from its status; nothing before approval. */
export function stateBadge(status: AppStatus): SafeHtml | undefined {
  const state = stateOfApp(status);
  return state === undefined ? undefined : html`<span class="state state--${state}">${state}</span>`;
}

export function banner(kind: 'error' | 'warning' | 'info', message: string | SafeHtml, hint?: string): SafeHtml {
  return html`<div class="banner banner--${kind}"${kind === 'error' ? html` role="alert"` : undefined}><p>${message}</p>${hint === undefined ? undefined : html`<p class="hint">${hint}</p>`}</div>`;
}

/** A secret or token shown once: selectable text, a copy button (with JavaScript), and the warning. */
export function shownOnce(id: string, label: string, value: string, note: string | SafeHtml): SafeHtml {
  return html`<div class="secret">
    <p class="secret-label" id="${id}-label">${label}</p>
    <div class="secret-row">
      <code class="secret-value" id="${id}" aria-labelledby="${id}-label">${value}</code>
      <button type="button" class="button copy" data-copy="${id}" hidden>Copy</button>
    </div>
    <p class="hint">${note}</p>
  </div>`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

/**
 * A moment as the portal shows it, one form everywhere: readable and in UTC ("7 Dec 2026, 12:00
 * UTC"), with the ISO 8601 value in `datetime` for machines and for the CLI's users to compare.
 * A value that is not a time is shown as it is.
 */
export function time(iso: string | undefined): SafeHtml | undefined {
  if (iso === undefined) return undefined;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return html`${iso}`;
  const pad = (n: number) => String(n).padStart(2, '0');
  const shown = `${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()}, ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())} UTC`;
  return html`<time datetime="${isoTime(iso)}">${shown}</time>`;
}

/** A field's error, tied to its input by `aria-describedby`. */
export interface FieldErrors {
  [field: string]: string | undefined;
}

export function fieldError(errors: FieldErrors, field: string): SafeHtml | undefined {
  const message = errors[field];
  return message === undefined ? undefined : html`<p class="field-error" id="${field}-error">${message}</p>`;
}

export function invalid(errors: FieldErrors, field: string, describedBy?: string): SafeHtml {
  const ids = [describedBy, errors[field] === undefined ? undefined : `${field}-error`].filter((id) => id !== undefined).join(' ');
  return html`${errors[field] === undefined ? undefined : html` aria-invalid="true"`}${ids === '' ? undefined : html` aria-describedby="${ids}"`}`;
}

export function errorSummary(errors: FieldErrors): SafeHtml | undefined {
  const entries = Object.entries(errors).filter((entry): entry is [string, string] => entry[1] !== undefined);
  if (entries.length === 0) return undefined;
  return html`<div class="banner banner--error" role="alert" tabindex="-1" id="error-summary">
    <p>The form needs changes:</p>
    <ul>${entries.map(([field, message]) => html`<li><a href="#${field}">${message}</a></li>`)}</ul>
  </div>`;
}
