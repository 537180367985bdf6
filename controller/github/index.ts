// Mergekey's GitHub client: configuration (token, API URL, repository from `origin`), the typed
// operations requests need. Reading requests back is the workflow's (requests/state.ts), which
// imports this, never the reverse. Octokit stays behind this boundary.
export * from './errors.ts';
export * from './config.ts';
export * from './local-forge.ts';
export * from './client.ts';
