// The forge's web pages: one read-only page per pull request, at the `html_url` the API hands out
// (`/web/OWNER/REPO/pull/N`), so that a request's link in the portal or the CLI's output opens
// something readable when the quickstart runs the forge. It says plainly that it is the local forge,
// not GitHub. Unlike the API it asks for no token: a browser has none to send, and the forge listens
// on loopback only, for one machine's demo and tests; nothing on it is secret (secrets in manifests
// are sealed).
import type { FastifyInstance } from 'fastify';
import type { RouteContext } from '../http.ts';
import type { PullRecord, RepoRecord } from '../model.ts';

export const WEB_PREFIX = '/web/';

/** Text made safe for HTML content and attribute values. */
function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function stateOf(pull: PullRecord): string {
  if (pull.mergedAt !== null) return `merged by ${pull.mergedBy ?? 'someone'} at ${pull.mergedAt}`;
  if (pull.state === 'closed') return `closed without merging by ${pull.closedBy ?? 'someone'} at ${pull.closedAt ?? ''}`;
  return 'open';
}

async function diffOf(repo: RepoRecord, pull: PullRecord): Promise<string> {
  const run = await repo.git.run(['diff', '--no-color', `${pull.baseSha}...${pull.headSha}`]);
  return run.code === 0 ? run.stdout : `(no diff: ${run.stderr.trim()})`;
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)} · Mergekey local forge</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:0 auto;padding:1rem}pre{overflow:auto;background:#f4f4f4;padding:.5rem}.note{color:#555}</style>
</head><body>
<p class="note">Mergekey's local forge, for trying Mergekey and for tests: not GitHub. This page is read-only.</p>
${body}
</body></html>
`;
}

export function registerWeb(app: FastifyInstance, context: RouteContext): void {
  app.get<{ Params: { owner: string; repo: string; number: string } }>('/web/:owner/:repo/pull/:number', async (request, reply) => {
    const { owner, repo: name, number } = request.params;
    const repo = context.state.repo(owner, name);
    const pull = repo?.pulls.find((candidate) => String(candidate.number) === number);
    reply.header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store');
    if (repo === undefined || pull === undefined) {
      return reply.code(404).send(page('Not found', `<h1>Not found</h1><p>No pull request ${escape(owner)}/${escape(name)}#${escape(number)} on this forge.</p>`));
    }
    const comments = repo.comments.filter((comment) => comment.issueNumber === pull.number);
    const body = `<h1>${escape(pull.title)} <small>#${pull.number}</small></h1>
<p>${escape(repo.owner)}/${escape(repo.name)}: <strong>${escape(stateOf(pull))}</strong>. Opened by ${escape(pull.author)} at ${escape(pull.createdAt)},
from <code>${escape(pull.headRef)}</code> into <code>${escape(pull.baseRef)}</code>${pull.labels.length === 0 ? '' : `; labels: ${pull.labels.map(escape).join(', ')}`}.</p>
${pull.body === null || pull.body === '' ? '' : `<pre>${escape(pull.body)}</pre>`}
<h2>Reviews and comments</h2>
${[
  ...pull.reviews.map((review) => ({ at: review.submittedAt, html: `<p id="pullrequestreview-${review.id}"><strong>${escape(review.author)}</strong> ${escape(review.state.toLowerCase())} at ${escape(review.submittedAt)}</p>${review.body === '' ? '' : `<pre>${escape(review.body)}</pre>`}` })),
  ...comments.map((comment) => ({ at: comment.createdAt, html: `<p id="issuecomment-${comment.id}"><strong>${escape(comment.author)}</strong> commented at ${escape(comment.createdAt)}</p><pre>${escape(comment.body)}</pre>` })),
]
  .sort((a, b) => a.at.localeCompare(b.at))
  .map((entry) => entry.html)
  .join('\n') || '<p>None.</p>'}
<h2>Changes</h2>
<pre>${escape(await diffOf(repo, pull))}</pre>`;
    return reply.code(200).send(page(`${pull.title} #${pull.number}`, body));
  });
}
