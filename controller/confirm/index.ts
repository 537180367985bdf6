// Confirmation: once the controller applies a merged request, the pull request is told so.
export * from './event.ts';
export * from './confirm.ts';
