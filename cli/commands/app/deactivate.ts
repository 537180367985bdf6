// `mergekey app deactivate NAME`: asks the publishers to deactivate an active application.
import { defineCommand } from '../../command.ts';
import { GITHUB_OPTIONS } from '../../github-options.ts';
import type { OpenedRequest } from '../../../controller/requests/open.ts';
import { formatOpened } from './render.ts';
import { stateRequest, type StateRequestOptions } from '../../../controller/requests/state-request.ts';

export function deactivate(options: StateRequestOptions): Promise<OpenedRequest> {
  return stateRequest('deactivate', options);
}

export const command = defineCommand({
  summary: 'Ask to deactivate an active application (a pull request).',
  description:
    'Open a deactivation request for NAME: a pull request that sets its state to inactive. Once a ' +
    'publisher merges it, the token server stops issuing tokens to the application and every token ' +
    'it holds stops working. Applications are never deleted. Refused for an application that is not ' +
    'active or already has an open request. Run it in a clone of the manifests repository; your ' +
    'checkout is not touched.',
  arguments: [{ name: 'NAME', description: 'The application.', required: true }],
  options: { ...GITHUB_OPTIONS },
  examples: ['mergekey app deactivate billing'],
  run: (input) => deactivate({ name: input.name, githubRepo: input.githubRepo, githubApiUrl: input.githubApiUrl }),
  render: formatOpened,
});
