// My Applications: every application the user may see, with its status and (once approved) its
// state, the counts the brief asks for as links that filter the list, and the same filter as a
// plain GET form (both work without JavaScript).
import { filterWords, matchesFilter, REQUEST_WORDS, STATUS_FILTERS, type AppStatusView, type StatusFilter } from '../../requests/index.ts';
import type { PortalUser } from '../accounts.ts';
import { html, type SafeHtml } from '../html.ts';
import type { HistoryEntry } from '../history.ts';
import { mayRegister, NO_FORGE, NO_FORGE_HINT, seesEveryApplication } from '../policy.ts';
import type { Overview } from '../service.ts';
import { BASE, banner, layout, stateBadge, statusBadge, type PageContext } from './layout.ts';

export function appsPage(ctx: PageContext & { user: PortalUser }, overview: Overview, filter: StatusFilter | undefined, canMakeRequests: boolean): string {
  const publisher = seesEveryApplication(ctx.user);
  const developer = mayRegister(ctx.user);
  const shown = filter === undefined ? overview.views : overview.views.filter((view) => matchesFilter(view.status, filter));
  const c = overview.counts;
  const title = publisher ? 'Applications' : 'My Applications';
  return layout(
    { ...ctx, nav: 'apps' },
    title,
    html`<div class="page-head">
      <h1>${title}</h1>
      ${developer && canMakeRequests ? html`<a class="button button--primary" href="${BASE}/apps/new">New Application</a>` : undefined}
    </div>
    ${problems(overview)}
    <section aria-labelledby="counts-title">
      <h2 id="counts-title" class="visually-hidden">Counts</h2>
      <ul class="counts">
        ${count('Approved', c.approved, 'approved', filter)}
        ${count('Awaiting approval', c['awaiting-approval'], 'awaiting-approval', filter)}
        ${count('Rejected', c.rejected, 'rejected', filter)}
        ${count('Cancelled', c.cancelled, 'cancelled', filter)}
        ${count('Inactive', c.inactive, 'inactive', filter)}
      </ul>
      <p class="hint">Requests decided so far: ${overview.requestTotals.approved} approved, ${overview.requestTotals.rejected} rejected, ${overview.requestTotals.cancelled} cancelled.</p>
    </section>
    <form class="filter" method="get" action="${BASE}/apps" role="search" aria-label="Filter applications">
      <label for="status">Status</label>
      <select id="status" name="status">
        <option value=""${filter === undefined ? html` selected` : undefined}>All statuses</option>
        ${STATUS_FILTERS.map((option) => html`<option value="${option}"${filter === option ? html` selected` : undefined}>${filterWords(option)}</option>`)}
      </select>
      <button type="submit" class="button">Filter</button>
    </form>
    ${shown.length === 0 ? empty(overview, filter, developer && canMakeRequests) : table(shown, filter, publisher)}`,
  );
}

/** A count card: a link that filters the list by its status (or state), marked current when it does. */
function count(label: string, value: number, filterBy: StatusFilter, filter: StatusFilter | undefined): SafeHtml {
  return html`<li class="count"><a href="${BASE}/apps?status=${filterBy}"${filter === filterBy ? html` aria-current="true"` : undefined}><span class="count-label">${label}</span> <span class="count-value">${value}</span></a></li>`;
}

/** What the page cannot know or do, said once: no forge at all, GitHub not answering, git not fetching. */
function problems(snapshot: Pick<Overview, 'stale' | 'githubProblem' | 'noForge' | 'main'>): SafeHtml {
  return html`${snapshot.noForge === true ? banner('info', NO_FORGE, NO_FORGE_HINT) : undefined}
  ${snapshot.githubProblem === undefined
    ? undefined
    : banner('warning', snapshot.githubProblem, 'The list shows what is on the main branch; requests awaiting approval, rejected and cancelled are missing until GitHub answers again.')}
  ${snapshot.stale === undefined
    ? undefined
    : banner('warning', `The manifests repository could not be fetched; this is main as of commit ${snapshot.main.commit.slice(0, 12)}.`, snapshot.stale)}`;
}

export { problems as snapshotProblems };

/**
 * The status in a sentence. The lifecycle's own reason names who closed a request on GitHub,
 * which for the portal's requests is the server's token; the history (when at hand) names the person.
 */
export function statusSentence(view: AppStatusView, history?: readonly HistoryEntry[]): string {
  const open = view.openRequest;
  const pending = open === undefined ? '' : ` ${REQUEST_WORDS[open.kind]} #${open.number} awaits approval.`;
  const deciding = view.requests.find((request) => request.kind === 'create');
  const by = (number: number | undefined) => {
    const who = history?.find((entry) => entry.number === number)?.decidedBy;
    return who === undefined ? '' : ` by ${who}`;
  };
  switch (view.status) {
    case 'active':
    case 'inactive':
      return `Approved, ${view.status}.${pending}`;
    case 'awaiting':
      return pending.trim();
    case 'rejected':
      return `Create request #${deciding?.number} was rejected${by(deciding?.number)}.`;
    case 'cancelled':
      return `Create request #${deciding?.number} was cancelled${by(deciding?.number)}.`;
  }
}

function empty(overview: Overview, filter: StatusFilter | undefined, canCreate: boolean): SafeHtml {
  if (filter !== undefined && overview.views.length > 0) {
    return html`<div class="empty"><p>No application is ${filterWords(filter)}.</p><p><a href="${BASE}/apps">Show all statuses</a></p></div>`;
  }
  return html`<div class="empty">
    <p><strong>No applications yet.</strong></p>
    <p>Register an application to get a client id and secret for the published APIs. A publisher approves it before it can get tokens.</p>
    ${canCreate ? html`<p><a class="button button--primary" href="${BASE}/apps/new">New Application</a></p>` : undefined}
  </div>`;
}

function table(views: readonly AppStatusView[], filter: StatusFilter | undefined, publisher: boolean): SafeHtml {
  return html`<div class="table-wrap">
    <table class="apps">
      <caption>${views.length} application${views.length === 1 ? '' : 's'}${filter === undefined ? '' : ` ${filterWords(filter)}`}</caption>
      <thead><tr><th scope="col">Name</th><th scope="col">Description</th><th scope="col">Status</th><th scope="col">State</th><th scope="col">Open request</th>${publisher ? html`<th scope="col">Owners</th>` : undefined}</tr></thead>
      <tbody>
        ${views.map(
          (view) => html`<tr>
            <th scope="row" data-label="Name"><a href="${BASE}/apps/${view.app}">${view.onMain?.spec.displayName ?? view.app}</a>${view.onMain?.spec.displayName === undefined ? undefined : html`<br><span class="hint">${view.app}</span>`}</th>
            <td data-label="Description">${view.onMain === undefined ? html`<span class="hint">${statusSentence(view)}</span>` : html`<a class="quiet-link" href="${BASE}/apps/${view.app}">${view.onMain.spec.description}</a>`}</td>
            <td data-label="Status">${statusBadge(view.status)}</td>
            <td data-label="State">${stateBadge(view.status) ?? html`<span class="hint">none yet</span>`}</td>
            <td data-label="Open request">${view.openRequest === undefined ? html`<span class="hint">none</span>` : html`${REQUEST_WORDS[view.openRequest.kind]} #${view.openRequest.number}`}</td>
            ${publisher ? html`<td data-label="Owners">${view.onMain?.spec.owners.join(', ') ?? ''}</td>` : undefined}
          </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}
