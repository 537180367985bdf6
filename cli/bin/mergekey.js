#!/usr/bin/env node
// The `mergekey` executable. The CLI is written in TypeScript and run through tsx, so a fresh
// `npm ci` is all it takes: no build step stands between a clone and a working command.
import { register } from 'tsx/esm/api';

// `mergekey validate | head` closes the pipe early; that is the reader's choice, not an error.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

register();
const { main } = await import('../main.ts');
process.exitCode = await main(process.argv.slice(2));
