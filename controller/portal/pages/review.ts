// The publishers' queue: every open request, oldest first, with the application's description,
// what the repository's check (`mergekey check`, run here) says about it, what approving it
// changes and the manifest diff; approve (with an optional comment), or reject with a reason.
import { REFUSAL_CODES } from '../../requests/index.ts';
import { html, inlineMarkdown, safeUrl, type SafeHtml } from '../html.ts';
import type { Snapshot } from '../history.ts';
import type { QueueEntry } from '../requests.ts';
import { snapshotProblems } from './apps.ts';
import { BASE, csrfField, layout, time, type PageContext } from './layout.ts';

export function reviewPage(ctx: PageContext, entries: readonly QueueEntry[], snapshot: Snapshot): string {
  return layout(
    { ...ctx, nav: 'review' },
    'Requests to review',
    html`<h1>Requests to review</h1>
    ${snapshotProblems(snapshot)}
    ${entries.length === 0 && snapshot.githubProblem === undefined && snapshot.noForge !== true ? html`<div class="empty"><p><strong>Nothing to review.</strong> No request is open.</p></div>` : undefined}
    <ol class="queue">${entries.map((entry) => html`<li>${card(ctx, entry)}</li>`)}</ol>`,
  );
}

function card(ctx: PageContext, entry: QueueEntry): SafeHtml {
  const { item, report } = entry;
  const id = `request-${item.number}`;
  const refused = report !== undefined && !report.allowed;
  const rejectLink = html`<a class="button button--danger" href="${BASE}/review/${item.number}/reject" aria-describedby="${id}">Reject…</a>`;
  return html`<article class="card request" aria-labelledby="${id}">
    <h2 id="${id}"><a href="${safeUrl(item.url)}">#${item.number}</a> ${item.title}</h2>
    <p class="hint">${item.kind} request${item.app === undefined ? '' : ' for '}${item.app === undefined ? undefined : html`<a href="${BASE}/apps/${item.app}">${item.app}</a>`}, asked by <strong>${entry.requester}</strong> ${time(item.openedAt)}</p>
    ${entry.description === undefined ? undefined : html`<p class="description"><span class="label">Description:</span> ${entry.description}</p>`}
    ${report === undefined
      ? html`<p class="check check--unknown">The check could not run${entry.checkProblem === undefined ? '' : `: ${entry.checkProblem}`}.</p>`
      : html`<p class="check ${report.allowed ? 'check--allowed' : 'check--refused'}"><strong>Check: ${report.allowed ? 'allowed' : 'refused'}</strong>${report.lowRisk ? ' — low risk: a description-only edit' : ''}</p>
        ${report.refusals.length === 0 && report.problems.length === 0
          ? undefined
          : html`<ul class="refusals">
              ${report.refusals.map((refusal) => html`<li>${refusal.message} <span class="hint">(${refusal.code}: ${REFUSAL_CODES[refusal.code]})</span></li>`)}
              ${report.problems.map((problem) => html`<li><code>${problem.path}:${problem.line}:${problem.column}</code> ${problem.message}</li>`)}
            </ul>`}
        ${report.plan === undefined
          ? undefined
          : html`<h3>What approving it changes</h3><ul class="plan">${report.plan.lines.length === 0 ? html`<li>No effective change.</li>` : report.plan.lines.map((line) => html`<li>${inlineMarkdown(line)}</li>`)}</ul>`}
        ${report.notes.map((note) => html`<p class="hint">${note}</p>`)}
        ${entry.diff === undefined || entry.diff === '' ? undefined : html`<details class="diff"${item.kind === 'create' ? undefined : html` open`}><summary>The manifest diff</summary><pre><code>${diffLines(entry.diff)}</code></pre></details>`}`}
    ${item.check.state === 'none' ? undefined : html`<p class="hint">The repository's workflow says: ${item.check.state} (${item.check.summary}).</p>`}
    ${entry.own
      ? html`<p class="hint">You asked for this request: another publisher decides it.</p>`
      : entry.requesterUnknown
        ? html`<p class="hint">The portal cannot tell who asked for this request: its marker is not one the portal signed (written before it signed them, or edited since). Decide it on GitHub or with mergekey review.</p>`
      : refused || report === undefined
        ? html`<div class="actions">
            <p class="hint">${refused ? 'The check refuses it, so it cannot be approved.' : 'Without the check it cannot be approved here; reload to run it again.'}</p>
            ${rejectLink}
          </div>`
        : html`<form method="post" action="${BASE}/review/${item.number}/approve" class="approve">
            ${csrfField(ctx.csrf)}
            <input type="hidden" name="head" value="${item.headSha}">
            <div class="field">
              <label for="comment-${item.number}">Comment <span class="optional">(optional)</span></label>
              <textarea id="comment-${item.number}" name="comment" rows="2" maxlength="2000" aria-describedby="comment-${item.number}-hint"></textarea>
              <p class="hint" id="comment-${item.number}-hint">For the developer: recorded with the approval and shown with the request.</p>
            </div>
            <div class="actions">
              <button type="submit" class="button button--primary" aria-describedby="${id}">Approve</button>
              ${rejectLink}
            </div>
          </form>`}
  </article>`;
}

/** A unified diff, each line in a span whose class says added, removed or header (for colour: the +/- stays in the text). */
function diffLines(diff: string): SafeHtml {
  const lines = diff.replace(/\n$/, '').split('\n');
  return html`${lines.map((line, i) => {
    const kind = line.startsWith('+++') || line.startsWith('---') || line.startsWith('diff ') || line.startsWith('index ') ? 'file' : line.startsWith('@@') ? 'hunk' : line.startsWith('+') ? 'added' : line.startsWith('-') ? 'removed' : 'context';
    return html`${i === 0 ? '' : '\n'}<span class="diff-${kind}">${line}</span>`;
  })}`;
}
