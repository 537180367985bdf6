// `mergekey app reactivate NAME`: asks the publishers to reactivate an inactive application.
import { defineCommand } from '../../command.ts';
import { GITHUB_OPTIONS } from '../../github-options.ts';
import type { OpenedRequest } from '../../../controller/requests/open.ts';
import { formatOpened } from './render.ts';
import { stateRequest, type StateRequestOptions } from '../../../controller/requests/state-request.ts';

export function reactivate(options: StateRequestOptions): Promise<OpenedRequest> {
  return stateRequest('reactivate', options);
}

export const command = defineCommand({
  summary: 'Ask to reactivate an inactive application (a pull request).',
  description:
    'Open a reactivation request for NAME: a pull request that sets its state back to active. Once a ' +
    'publisher merges it, the token server issues tokens to the application again. If the publisher ' +
    'closes it, the application stays inactive. Refused for an application that is not inactive or already has an open request.',
  arguments: [{ name: 'NAME', description: 'The application.', required: true }],
  options: { ...GITHUB_OPTIONS },
  examples: ['mergekey app reactivate billing'],
  run: (input) => reactivate({ name: input.name, githubRepo: input.githubRepo, githubApiUrl: input.githubApiUrl }),
  render: formatOpened,
});
