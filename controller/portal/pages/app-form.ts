// The New Application and Edit Application forms, their validation, and the pages that confirm
// what was submitted (the new client secret is shown there, once).
import { REQUEST_WORDS, type ChangePlan } from '../../requests/index.ts';
import type { Application } from '../../manifests/types.generated.ts';
import { redirectUriProblem } from '../../manifests/redirect-uris.ts';
import { DEFAULT_GRANT_TYPES, GRANT_TYPES, isGrantType, PUBLIC_CLIENT_GRANT_TYPES, type GrantType } from '../../manifests/vocabulary.ts';
import type { RequestRecord } from '../../requests/decisions.ts';
import { html, inlineMarkdown, safeUrl, type SafeHtml } from '../html.ts';
import { BASE, csrfField, errorSummary, fieldError, invalid, layout, shownOnce, time, type FieldErrors, type PageContext } from './layout.ts';

export interface AppFormValues {
  name: string;
  displayName: string;
  description: string;
  /** One per line. */
  redirectUris: string;
  scopes: string[];
  grantTypes: string[];
  /**
   * `public`: a single-page or mobile app (tokenEndpointAuthMethod none), which gets no secret
   * and uses PKCE; `confidential`: a server that keeps the secret the portal shows once. Chosen
   * when the application is registered; an edit keeps the application's own.
   */
  clientType: ClientType;
}

export type ClientType = 'confidential' | 'public';

export interface ScopeChoice {
  name: string;
  description: string;
  api?: string;
}

/** The form's words for each grant type: a record, so a grant type the schema adds must be worded here. */
const GRANT_WORDS: Readonly<Record<GrantType, { label: string; hint: string }>> = {
  client_credentials: { label: 'Client credentials', hint: 'The application acts for itself.' },
  password: { label: 'Password', hint: 'The application sends a user’s name and password (discouraged by RFC 9700; throttled).' },
  refresh_token: { label: 'Refresh token', hint: 'Password grants also return a refresh token, exchanged for new access tokens.' },
  authorization_code: { label: 'Authorization code', hint: 'People sign in through the browser and consent (PKCE required); needs a redirect URI.' },
};

/** The grant types the form offers: every one a manifest may list, in the schema's order. */
const GRANT_CHOICES: readonly { value: GrantType; label: string; hint: string }[] = GRANT_TYPES.map((value) => ({ value, ...GRANT_WORDS[value] }));

const NAME = /^[a-z0-9](?:[a-z0-9-]{1,61})[a-z0-9]$/;

export interface ValidForm {
  name: string;
  displayName: string | undefined;
  description: string;
  redirectUris: string[];
  scopes: string[];
  grantTypes: GrantType[];
  publicClient: boolean;
}

/** Checks the form as the manifest schema will, with a message per field; `scopes` must be published ones. */
export function validateAppForm(values: AppFormValues, published: readonly string[], options: { isNew: boolean }): { errors: FieldErrors; valid?: ValidForm } {
  const errors: FieldErrors = {};
  const name = values.name.trim();
  if (options.isNew) {
    if (name === '') errors.name = 'Enter the application name.';
    else if (!NAME.test(name)) errors.name = 'The name must be 3 to 63 lowercase letters, digits or hyphens, starting and ending with a letter or digit.';
  }
  const description = values.description.trim();
  if (description === '') errors.description = 'Enter a description: publishers read it to decide.';
  else if (description.length > 1000) errors.description = 'The description must be at most 1000 characters.';
  const displayName = values.displayName.trim();
  if (displayName.length > 100) errors.displayName = 'The display name must be at most 100 characters.';
  const redirectUris = [...new Set(values.redirectUris.split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== ''))];
  // The manifest's own checks (schema, unambiguous URL, https or loopback http, no wildcard).
  const bad = redirectUris.map((uri) => ({ uri, problem: redirectUriProblem(uri) })).find(({ problem }) => problem !== undefined);
  if (bad !== undefined) errors.redirectUris = `“${bad.uri}” is not a redirect URI: ${bad.problem!}.`;
  else if (redirectUris.length > 10) errors.redirectUris = 'At most 10 redirect URIs.';
  const unknownScope = values.scopes.find((scope) => !published.includes(scope));
  if (unknownScope !== undefined) errors.scopes = `“${unknownScope}” is not a published scope.`;
  const grantTypes = values.grantTypes.filter(isGrantType);
  const publicClient = values.clientType === 'public';
  if (grantTypes.length === 0 || grantTypes.length !== values.grantTypes.length) errors.grantTypes = 'Choose at least one grant type.';
  else if (publicClient && grantTypes.some((grant) => !(PUBLIC_CLIENT_GRANT_TYPES as readonly string[]).includes(grant))) {
    errors.grantTypes = 'A public client has no secret to prove who asks: it may use only the authorization code grant (with PKCE) and refresh tokens.';
  }
  if (grantTypes.includes('authorization_code') && redirectUris.length === 0 && errors.redirectUris === undefined) {
    errors.redirectUris = 'The authorization code grant sends people back to a redirect URI: enter at least one.';
  }
  if (Object.keys(errors).length > 0) return { errors };
  return {
    errors,
    valid: {
      name,
      displayName: displayName === '' ? undefined : displayName,
      description,
      redirectUris,
      scopes: [...new Set(values.scopes)],
      grantTypes: [...new Set(grantTypes)],
      publicClient,
    },
  };
}

export function valuesOf(app: Application): AppFormValues {
  return {
    name: app.metadata.name,
    displayName: app.spec.displayName ?? '',
    description: app.spec.description,
    redirectUris: (app.spec.redirectUris ?? []).join('\n'),
    scopes: app.spec.scopes,
    grantTypes: app.spec.grantTypes,
    clientType: clientTypeOf(app),
  };
}

export function clientTypeOf(app: Application): ClientType {
  return app.spec.tokenEndpointAuthMethod === 'none' ? 'public' : 'confidential';
}

export const EMPTY_FORM: AppFormValues = { name: '', displayName: '', description: '', redirectUris: '', scopes: [], grantTypes: [...DEFAULT_GRANT_TYPES], clientType: 'confidential' };

/** The form's words for each kind of client. */
const CLIENT_TYPES: readonly { value: ClientType; label: string; hint: string }[] = [
  { value: 'confidential', label: 'Confidential client', hint: 'A server-side application that keeps the client secret shown once after you add it.' },
  { value: 'public', label: 'Public client (SPA or mobile app: no secret, PKCE)', hint: 'Code in a browser or on a device cannot keep a secret: it signs people in with the authorization code grant and PKCE.' },
];

export function appFormPage(
  ctx: PageContext,
  mode: { kind: 'new' } | { kind: 'edit'; name: string },
  values: AppFormValues,
  scopes: readonly ScopeChoice[],
  errors: FieldErrors = {},
  again?: RequestRecord,
): string {
  const isNew = mode.kind === 'new';
  const title = isNew ? 'New Application' : `Edit ${mode.name}`;
  const action = isNew ? `${BASE}/apps` : `${BASE}/apps/${mode.name}/edit`;
  return layout(
    { ...ctx, nav: 'apps' },
    title,
    html`<nav class="breadcrumbs" aria-label="Breadcrumbs"><a href="${BASE}/apps">My Applications</a>${isNew ? undefined : html` › <a href="${BASE}/apps/${mode.name}">${mode.name}</a>`}</nav>
    <h1>${title}</h1>
    <p>${isNew
      ? 'Your application is submitted to a publisher for approval as a pull request on the manifests repository. Fields marked required must be filled in.'
      : 'Your changes are submitted to a publisher for approval; until then the application keeps its current settings.'}</p>
    ${again === undefined ? undefined : askingAgain(again)}
    ${errorSummary(errors)}
    <form method="post" action="${action}" class="form" novalidate>
      ${csrfField(ctx.csrf)}
      ${isNew
        ? html`<div class="field">
            <label for="name">Application name <span class="required">(required)</span></label>
            <input id="name" name="name" type="text" required minlength="3" maxlength="63" pattern="[a-z0-9][a-z0-9-]{1,61}[a-z0-9]" autocapitalize="none" spellcheck="false" value="${values.name}"${invalid(errors, 'name', 'name-hint')}>
            <p class="hint" id="name-hint">Lowercase letters, digits and hyphens; it names the file <code>apps/NAME.yaml</code> and cannot change later.</p>
            ${fieldError(errors, 'name')}
          </div>`
        : html`<input type="hidden" name="confirm" value="">`}
      <div class="field">
        <label for="description">Description <span class="required">(required)</span></label>
        <textarea id="description" name="description" rows="3" required maxlength="1000"${invalid(errors, 'description', 'description-hint')}>${values.description}</textarea>
        <p class="hint" id="description-hint">What the application does, for the publisher who approves it.</p>
        ${fieldError(errors, 'description')}
      </div>
      <div class="field">
        <label for="displayName">Display name <span class="optional">(optional)</span></label>
        <input id="displayName" name="displayName" type="text" maxlength="100" value="${values.displayName}"${invalid(errors, 'displayName')}>
        ${fieldError(errors, 'displayName')}
      </div>
      ${isNew
        ? html`<fieldset class="field choices" id="clientType">
            <legend>Client type</legend>
            ${CLIENT_TYPES.map(
              (type) => html`<div class="choice">
                <input type="radio" id="clientType-${type.value}" name="clientType" value="${type.value}"${values.clientType === type.value ? html` checked` : undefined}>
                <label for="clientType-${type.value}">${type.label} <span class="hint">— ${type.hint}</span></label>
              </div>`,
            )}
          </fieldset>`
        : values.clientType === 'public'
          ? html`<p class="hint" id="clientType">A public client (SPA or mobile app: no secret, PKCE): it may use only the authorization code grant and refresh tokens.</p>`
          : undefined}
      <div class="field">
        <label for="redirectUris">Redirect URIs <span class="optional">(needed for the authorization code grant)</span></label>
        <textarea id="redirectUris" name="redirectUris" rows="2" spellcheck="false"${invalid(errors, 'redirectUris', 'redirectUris-hint')}>${values.redirectUris}</textarea>
        <p class="hint" id="redirectUris-hint">One per line, matched exactly: <code>https://…</code>, or <code>http://127.0.0.1/…</code> or <code>http://[::1]/…</code> for a native app (any port at sign-in). No fragment, no wildcard, no <code>localhost</code>.</p>
        ${fieldError(errors, 'redirectUris')}
      </div>
      <fieldset class="field choices" id="scopes"${invalid(errors, 'scopes', 'scopes-hint')}>
        <legend>Scopes</legend>
        <p class="hint" id="scopes-hint">Choose one, several or all of the published scopes. None chosen means <code>open</code>.</p>
        <button type="button" class="button button--quiet select-all" data-select-all="scope" hidden>Select all scopes</button>
        ${scopes.map(
          (scope, i) => html`<div class="choice">
            <input type="checkbox" id="scope-${i}" name="scope" value="${scope.name}"${values.scopes.includes(scope.name) ? html` checked` : undefined}>
            <label for="scope-${i}"><code>${scope.name}</code>${scope.api === undefined ? undefined : html` <span class="hint">(${scope.api})</span>`}${scope.description === '' ? undefined : html` — ${scope.description}`}</label>
          </div>`,
        )}
        ${fieldError(errors, 'scopes')}
      </fieldset>
      <fieldset class="field choices" id="grantTypes"${invalid(errors, 'grantTypes')}>
        <legend>Grant types</legend>
        ${GRANT_CHOICES.map(
          (grant) => html`<div class="choice">
            <input type="checkbox" id="grant-${grant.value}" name="grantType" value="${grant.value}"${values.grantTypes.includes(grant.value) ? html` checked` : undefined}>
            <label for="grant-${grant.value}">${grant.label} <span class="hint">— ${grant.hint}</span></label>
          </div>`,
        )}
        ${fieldError(errors, 'grantTypes')}
      </fieldset>
      <div class="actions">
        <button type="submit" class="button button--primary">${isNew ? 'Add' : 'Review changes'}</button>
        <a class="button button--quiet" href="${isNew ? `${BASE}/apps` : `${BASE}/apps/${mode.name}`}">Cancel</a>
      </div>
    </form>`,
  );
}

/** Above a form that asks again: the rejection it answers, so the developer can change what was refused. */
function askingAgain(rejected: RequestRecord): SafeHtml {
  return html`<div class="banner banner--info" id="asking-again">
    <p><strong>Asking again.</strong> ${REQUEST_WORDS[rejected.kind]} #${rejected.number} was rejected${rejected.decidedBy === undefined ? '' : ` by ${rejected.decidedBy}`}${rejected.reason === undefined ? '.' : ':'}</p>
    ${rejected.reason === undefined ? undefined : html`<blockquote class="reason">${rejected.reason}</blockquote>`}
    <p>The form holds what it asked for: change what the publisher refused, then send it.</p>
  </div>`;
}

/** The edit's confirmation step: what merging would change, and the form's values carried along. */
export function editConfirmPage(ctx: PageContext, name: string, values: AppFormValues, plan: ChangePlan, what: readonly string[]): string {
  return layout(
    { ...ctx, nav: 'apps' },
    `Update ${name}?`,
    html`<nav class="breadcrumbs" aria-label="Breadcrumbs"><a href="${BASE}/apps">My Applications</a> › <a href="${BASE}/apps/${name}">${name}</a></nav>
    <h1>Update ${name}?</h1>
    <p>This opens an edit request changing the ${what.join(', ')}. A publisher approves it before it takes effect.</p>
    <h2>What approving it changes</h2>
    <ul class="plan">${plan.lines.length === 0 ? html`<li>No effective change.</li>` : plan.lines.map((line) => html`<li>${inlineMarkdown(line)}</li>`)}</ul>
    <form method="post" action="${BASE}/apps/${name}/edit" class="form">
      ${csrfField(ctx.csrf)}
      <input type="hidden" name="confirm" value="yes">
      <input type="hidden" name="description" value="${values.description}">
      <input type="hidden" name="displayName" value="${values.displayName}">
      <input type="hidden" name="redirectUris" value="${values.redirectUris}">
      ${values.scopes.map((scope) => html`<input type="hidden" name="scope" value="${scope}">`)}
      ${values.grantTypes.map((grant) => html`<input type="hidden" name="grantType" value="${grant}">`)}
      <div class="actions">
        <button type="submit" class="button button--primary">Update</button>
        <a class="button button--quiet" href="${BASE}/apps/${name}/edit">Back to the form</a>
      </div>
    </form>`,
  );
}

export interface CreatedView {
  name: string;
  number: number;
  url: string;
  clientId: string;
  clientSecret: string | undefined;
  publicClient: boolean;
  warning?: string | undefined;
}

/** After Add: the confirmation, and the client secret, shown this once. */
export function createdPage(ctx: PageContext, created: CreatedView): string {
  return layout(
    { ...ctx, nav: 'apps' },
    `${created.name} submitted for approval`,
    html`<div class="banner banner--success" role="status"><p><strong>${created.name} was submitted for approval.</strong> Create request #${created.number} awaits a publisher.</p></div>
    <h1>${created.name} submitted for approval</h1>
    ${created.warning === undefined ? undefined : html`<div class="banner banner--warning"><p>${created.warning}</p></div>`}
    <dl class="facts">
      <div><dt>Client ID</dt><dd><code>${created.clientId}</code></dd></div>
      <div><dt>Request</dt><dd><a href="${safeUrl(created.url)}">#${created.number}</a></dd></div>
    </dl>
    ${created.publicClient
      ? html`<p id="public-client">A public client: it has no client secret. It signs people in with the authorization code grant and PKCE (S256), with the client ID alone.</p>`
      : undefined}
    ${created.clientSecret === undefined
      ? undefined
      : shownOnce('client-secret', 'Client secret', created.clientSecret, 'Copy it now and keep it in your secret store: it is shown this once and never again. Only its hash reaches the token server; the manifest holds it sealed. Lost it? Rotate the secret from the application’s Keys section.')}
    <p><a class="button" href="${BASE}/apps/${created.name}">Go to ${created.name}</a> <a class="button button--quiet" href="${BASE}/apps">Back to My Applications</a></p>`,
  );
}

/** After a rotation request: the new secret, once. */
export function rotatedPage(ctx: PageContext, name: string, number: number, secret: string, oldExpiresAt: string): string {
  return layout(
    { ...ctx, nav: 'apps' },
    `New client secret for ${name}`,
    html`<div class="banner banner--success" role="status"><p><strong>Rotation submitted for approval</strong> as edit request #${number}.</p></div>
    <h1>New client secret for ${name}</h1>
    ${shownOnce('client-secret', 'New client secret', secret, html`Copy it now: it is shown this once. It works once a publisher approves request #${number} and the controller applies it; the current secret keeps working until ${time(oldExpiresAt)}.`)}
    <p><a class="button" href="${BASE}/apps/${name}">Back to ${name}</a></p>`,
  );
}

export function formValues(body: Record<string, unknown>, name?: string): AppFormValues {
  const text = (key: string) => (typeof body[key] === 'string' ? (body[key] as string) : '');
  const list = (key: string) => {
    const value = body[key];
    return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : typeof value === 'string' ? [value] : [];
  };
  return {
    name: name ?? text('name'),
    displayName: text('displayName'),
    description: text('description'),
    redirectUris: text('redirectUris'),
    scopes: list('scope'),
    grantTypes: list('grantType'),
    clientType: text('clientType') === 'public' ? 'public' : 'confidential',
  };
}

