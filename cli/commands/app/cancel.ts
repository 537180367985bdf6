// `mergekey app cancel NAME`: withdraws your open request about an application. Closing it
// yourself is what makes it "cancelled" rather than "rejected" (SPEC.md's lifecycle table).
import type { RequestSummary } from '../../../controller/requests/index.ts';
import { defineCommand } from '../../command.ts';
import { requireCancellable, withdrawRequest } from '../../../controller/requests/cancel.ts';
import { GITHUB_OPTIONS } from '../../github-options.ts';
import { withGitHubErrors } from '../../../controller/requests/errors.ts';
import { startSession, type SessionOptions } from '../../../controller/requests/session.ts';
import { listRequests } from '../../../controller/requests/state.ts';

export interface CancelOptions extends SessionOptions {
  name: string;
}

export interface CancelResult {
  app: string;
  number: number;
  kind: RequestSummary['kind'];
  url: string | undefined;
  /** The request branch, deleted from origin once the request is closed. */
  deletedBranch?: string;
}

export async function cancel(options: CancelOptions): Promise<CancelResult> {
  const session = await startSession(options);
  const backend = session.github.backend;
  const [me, open] = await withGitHubErrors(() => Promise.all([backend.whoAmI(), listRequests(backend, { app: options.name, state: 'open' })]));
  const decider = { tokenLogin: me.login };
  const request = requireCancellable(options.name, decider, open);
  const { deletedBranch } = await withdrawRequest(session, request, decider);
  return {
    app: options.name,
    number: request.number,
    kind: request.kind,
    url: request.htmlUrl,
    ...(deletedBranch === undefined ? {} : { deletedBranch }),
  };
}

export const command = defineCommand({
  summary: 'Withdraw your open request about an application.',
  description:
    'Close the open request about NAME without merging it. Only its author cancels a request: it ' +
    'then counts as cancelled (a request a publisher closes counts as rejected). A cancelled create ' +
    'request frees the name again. The request branch is deleted from origin.',
  arguments: [{ name: 'NAME', description: 'The application.', required: true }],
  options: { ...GITHUB_OPTIONS },
  examples: ['mergekey app cancel billing'],
  run: (input) => cancel({ name: input.name, githubRepo: input.githubRepo, githubApiUrl: input.githubApiUrl }),
  render: (result) =>
    `Cancelled ${result.kind} request #${result.number} for ${result.app}${result.url === undefined ? '' : ` (${result.url})`}.` +
    (result.deletedBranch === undefined ? '' : `\nDeleted branch ${result.deletedBranch} from origin.`) +
    '\n',
});
