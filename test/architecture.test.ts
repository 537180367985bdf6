// The README's Architecture section and the folders tell the same story: every folder the tree
// names exists, every folder of the product and the tooling is named there, and each has a
// README.md whose first paragraph says what it owns and what it may import.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The folders the Architecture tree names, as paths from the repository root (`controller/store`). */
function foldersInArchitecture(): string[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Architecture'));
  const tree = /```\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  const folders: string[] = [];
  const parents: string[] = [];
  for (const line of tree.split('\n')) {
    const match = /^( *)([a-z][a-z0-9-]*(?:\/[a-z0-9-]+)*)\/ /.exec(line);
    if (match === null) continue;
    const depth = match[1]!.length / 2;
    parents.length = depth;
    const path = [...parents, match[2]!].join('/');
    parents.push(path);
    folders.push(path);
  }
  return folders;
}

/** The folders that hold product or tooling code: the top level, and the parts of controller/ and cli/. */
function codeFolders(): string[] {
  const children = (dir: string) =>
    readdirSync(join(root, dir), { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.') && entry.name !== 'node_modules')
      .map((entry) => (dir === '' ? entry.name : `${dir}/${entry.name}`));
  const top = children('').filter((dir) => readdirSync(join(root, dir)).some((file) => /\.(ts|json)$/.test(file) || statSync(join(root, dir, file)).isDirectory()));
  return [...top, ...children('controller'), 'cli/commands', 'test/support'];
}

describe("the README's Architecture section", () => {
  const named = foldersInArchitecture();

  it('names folders that exist', () => {
    expect(named.length).toBeGreaterThan(10);
    expect(named.filter((folder) => !existsSync(join(root, folder)))).toEqual([]);
  });

  it('names every folder of the product and the tooling', () => {
    const covered = (folder: string) => named.some((name) => name === folder || folder.startsWith(`${name}/`) || name.startsWith(`${folder}/`));
    expect(codeFolders().filter((folder) => !covered(folder))).toEqual([]);
  });

  it('matches a header README in each of those folders', () => {
    const missing = codeFolders().filter((folder) => {
      const readme = join(root, folder, 'README.md');
      return !existsSync(readme) || readFileSync(readme, 'utf8').split('\n\n')[1]?.trim() === undefined;
    });
    expect(missing).toEqual([]);
  });
});
