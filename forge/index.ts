// The local forge: GitHub's REST API as Mergekey uses it, for trying Mergekey and for tests, over a
// real bare repository.
export { startGitHubStandIn } from './server.ts';
export type { BranchProtection, GitHubStandIn, InjectedRateLimit, RecordedRequest, StandInOptions, StandInRepository, StandInUser } from './server.ts';
export type { Permission } from './model.ts';
export { createTestRepository, type TestRepository } from './test-repo.ts';
export { loadGitHubOpenApi, type OpenApiChecker, type ResponseCheck } from './openapi.ts';
