// The direction of dependencies, checked like the README's drift: cli → controller → store, and
// lmdb behind store/ alone; the request workflow uses the GitHub client, never the reverse; the
// store depends on nothing above it but the manifests' types. A new import that breaks the direction fails here with the file and
// the line, before it becomes structure someone else has to undo.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Every TypeScript and JavaScript file under `dir`, tests included. */
function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.(ts|js|mjs)$/.test(entry.name))
    .map((entry) => relative(root, join(entry.parentPath, entry.name)))
    .filter((path) => !path.split('/').includes('node_modules'));
}

/** `file:line: specifier` for each import (static, dynamic or re-export) whose specifier matches; `line` is the import's text. */
function importsMatching(files: string[], matches: (specifier: string, file: string, line: string) => boolean): string[] {
  const found: string[] = [];
  const pattern = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])([^'"]+)\1/g;
  for (const file of files) {
    const lines = readFileSync(join(root, file), 'utf8').split('\n');
    lines.forEach((line, index) => {
      for (const match of line.matchAll(pattern)) {
        if (matches(match[2]!, file, line)) found.push(`${file}:${index + 1}: ${match[2]}`);
      }
    });
  }
  return found;
}

/** Whether a relative specifier in `file` points into `folder` (a path from the root, e.g. `cli` or `controller/store`). */
function pointsInto(specifier: string, file: string, folder: string): boolean {
  if (!specifier.startsWith('.')) return false;
  const target = relative(root, join(root, file, '..', specifier));
  return target === folder || target.startsWith(`${folder}/`);
}

describe('dependency direction', () => {
  it('nothing under controller/ imports from cli/', () => {
    expect(importsMatching(sourceFiles('controller'), (spec, file) => pointsInto(spec, file, 'cli'))).toEqual([]);
  });

  it('only store/ imports lmdb', () => {
    const outside = ['controller', 'cli', 'forge', 'tools', 'bench', 'examples', 'schemas', 'test']
      .flatMap(sourceFiles)
      .filter((file) => !file.startsWith('controller/store/'));
    expect(importsMatching(outside, (spec) => spec === 'lmdb' || spec.startsWith('lmdb/'))).toEqual([]);
  });

  // The PostgreSQL clients likewise (issue 13): the product reaches the shared database through
  // store/ alone, and the test harness makes its databases with psql. The one exception is the
  // benchmark that measures the two clients against each other, which must drive them itself.
  it('only store/ imports a PostgreSQL client (and bench/pg-client.ts, which measures them)', () => {
    const outside = ['controller', 'cli', 'forge', 'tools', 'bench', 'examples', 'schemas', 'test']
      .flatMap(sourceFiles)
      .filter((file) => !file.startsWith('controller/store/') && file !== 'bench/pg-client.ts');
    const client = (spec: string) => ['postgres', 'pg', 'pg-native', 'pg-pool'].some((name) => spec === name || spec.startsWith(`${name}/`));
    expect(importsMatching(outside, client)).toEqual([]);
  });

  it('outside store/, only tests and benchmarks reach the raw store handles', () => {
    const product = ['controller', 'cli', 'forge', 'tools', 'examples'].flatMap(sourceFiles)
      .filter((file) => !file.startsWith('controller/store/') && !file.endsWith('.test.ts'));
    const handles = (spec: string, file: string) => spec.startsWith('.') && relative(root, join(root, file, '..', spec)) === 'controller/store/handles.ts';
    expect(importsMatching(product, handles)).toEqual([]);
  });

  it('the product does not import test support or the benchmarks', () => {
    const product = ['controller', 'cli'].flatMap(sourceFiles).filter((file) => !file.endsWith('.test.ts'));
    const found = importsMatching(product, (spec, file) => pointsInto(spec, file, 'test') || pointsInto(spec, file, 'bench'));
    expect(found).toEqual([]);
  });

  // The local forge is outside the product: it imports no Mergekey folder, and the product starts it
  // in one place only, the quickstart, through its server module (never its test support or the
  // OpenAPI checker, which need development dependencies).
  it('forge/ imports no Mergekey folder, and only the quickstart imports forge/server.ts', () => {
    const forge = sourceFiles('forge').filter((file) => !file.endsWith('.test.ts'));
    const mergekey = ['controller', 'cli', 'test', 'tools', 'bench', 'examples', 'schemas'];
    expect(importsMatching(forge, (spec, file) => mergekey.some((folder) => pointsInto(spec, file, folder)))).toEqual([]);
    const product = ['controller', 'cli'].flatMap(sourceFiles).filter((file) => !file.endsWith('.test.ts'));
    const intoForge = importsMatching(product, (spec, file) => pointsInto(spec, file, 'forge')).map((found) => found.replace(/:\d+:/, ':'));
    expect(intoForge).toEqual(['cli/commands/quickstart.ts: ../../forge/server.ts']);
  });

  // The workflow (requests/) calls the client; the client returns GitHub's facts in its own types
  // (and git/'s changed paths), so a change to the workflow never reaches it. Its tests may drive
  // the workflow through it: reading requests back is what the client is for.
  it('controller/github/ does not import controller/requests/', () => {
    const client = sourceFiles('controller/github').filter((file) => !file.endsWith('.test.ts'));
    expect(importsMatching(client, (spec, file) => pointsInto(spec, file, 'controller/requests'))).toEqual([]);
  });

  // What the store keeps is declared in store/ (records.ts, sync-records.ts) over the manifests'
  // types; the one function it takes from above is client-id folding (manifests/vocabulary.ts), so
  // its unique index folds as the rules do. Anything else would make it depend on its users.
  it('controller/store/ imports nothing from controller/ but the manifests types and vocabulary', () => {
    const outsideStore = (spec: string, file: string, line: string) => {
      if (!pointsInto(spec, file, 'controller') || pointsInto(spec, file, 'controller/store')) return false;
      if (!pointsInto(spec, file, 'controller/manifests')) return true;
      return !/^\s*(import|export) type\b/.test(line) && relative(root, join(root, file, '..', spec)) !== 'controller/manifests/vocabulary.ts';
    };
    expect(importsMatching(sourceFiles('controller/store'), outsideStore)).toEqual([]);
  });

  // The check itself: a line that does break the rule is found.
  it('finds an import that breaks the direction', () => {
    expect(pointsInto('../../cli/errors.ts', 'controller/portal/service.ts', 'cli')).toBe(true);
    expect(pointsInto('../manifests/index.ts', 'controller/portal/service.ts', 'cli')).toBe(false);
    expect(pointsInto('../requests/requests.ts', 'controller/github/client.ts', 'controller/requests')).toBe(true);
    expect(pointsInto('./sync-records.ts', 'controller/store/sync-state.ts', 'controller/store')).toBe(true);
  });
});
