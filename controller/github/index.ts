// Mergekey's GitHub client: configuration (token, API URL, repository from `origin`), the typed
// operations requests need, and reading requests back. Octokit stays behind this boundary.
export * from './errors.ts';
export * from './config.ts';
export * from './client.ts';
export * from './requests.ts';
