// The GitHub stand-in for tests: GitHub's REST endpoints that Mergekey uses, over a real bare repo.
export { startGitHubStandIn } from './server.ts';
export type { GitHubStandIn, InjectedRateLimit, RecordedRequest, StandInOptions, StandInRepository, StandInUser } from './server.ts';
export type { Permission } from './model.ts';
export { createTestRepository, type TestRepository } from './test-repo.ts';
export { loadGitHubOpenApi, type OpenApiChecker, type ResponseCheck } from './openapi.ts';
