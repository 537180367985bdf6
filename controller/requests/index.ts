// The request lifecycle: pure rules shared by the CLI (`mergekey app …`, `review …`), the repo's
// check (`mergekey check`) and the portal. No git, no GitHub, no clock.
export * from './requests.ts';
export * from './refusals.ts';
export * from './status.ts';
export * from './allowed.ts';
export * from './classify.ts';
export * from './describe.ts';
export * from './actions.ts';
export * from './time.ts';
export * from './markers.ts';
