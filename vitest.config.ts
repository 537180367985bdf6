import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['controller/**/*.test.ts', 'cli/**/*.test.ts', 'forge/**/*.test.ts', 'schemas/**/*.test.ts', 'examples/**/*.test.ts', 'tools/**/*.test.ts', 'test/**/*.test.ts'],
    // Tests start real servers, git repositories and LMDB stores; two cores share them.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
