// The manifests module: safe YAML loading, schema validation with positions, and the rules that
// span objects. Everything else in Mergekey imports from here.
export type { Kind, Manifest, ManifestObject, ManifestOf, PlainManifestObject, Pointer, Position, Problem, RepoFile } from './model.ts';
export { KINDS } from './model.ts';
export { PROBLEM_CODES, type ProblemCode } from './codes.ts';
export { loadManifest, type LoadResult } from './load.ts';
export { checkRules, type RuleContext } from './rules.ts';
export { validateRepository, type RepositoryResult } from './validate.ts';
export { classifyPath, isManifestPath, manifestPath, KIND_FOLDERS, SETTINGS_PATH } from './paths.ts';
export { protectedHeader, SEALED_ALG, SEALED_ENC } from './sealed.ts';
export { quoteAmbiguousStrings } from './write.ts';
export { AUTH_METHODS, BUILT_IN_SCOPES, DEFAULT_AUTH_METHOD, DEFAULT_GRANT_TYPES, foldClientId, GRANT_TYPES, isBuiltInScope, isGrantType, PUBLIC_CLIENT_GRANT_TYPES, PUBLIC_CLIENT_METHOD, type AuthMethod, type BuiltInScope, type GrantType } from './vocabulary.ts';
export { redirectUriProblem } from './redirect-uris.ts';
