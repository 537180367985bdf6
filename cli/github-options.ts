// The options every command that talks to GitHub accepts: which repository and which API, when
// the clone's `origin` and the environment do not say. The workflow takes them as plain values
// (controller/requests/session.ts).
import type { OptionSpec } from './command.ts';

export const GITHUB_OPTIONS = {
  'github-repo': {
    type: 'string',
    valueName: 'OWNER/REPO',
    description: "The GitHub repository, when the clone's origin does not name it (a local path, a mirror).",
  },
  'github-api-url': {
    type: 'string',
    valueName: 'URL',
    description: 'The GitHub REST API URL, for GitHub Enterprise (default: GITHUB_API_URL, else from the remote).',
  },
} as const satisfies Record<string, OptionSpec>;
